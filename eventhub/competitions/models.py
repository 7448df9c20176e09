"""Competition models (创新大赛): tracks, rounds judged by the shared engine, entries, per-round
results with advancement, awards, and recommendations to national showcases.

A round's scoring is a ``JudgingRound`` of the judging engine (key ``competition-round:<id>``);
this package only decides who is eligible, who advances and who wins.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.roadshow.models import ProjectApplication, ProjectFields


class CompetitionStatus(StrEnum):
    DRAFT = "draft"  # 筹备中
    OPEN = "open"  # 报名中
    JUDGING = "judging"  # 评审中
    FINISHED = "finished"  # 已结束


COMPETITION_STATUS_LABELS = {
    CompetitionStatus.DRAFT: N_("筹备中"),
    CompetitionStatus.OPEN: N_("报名中"),
    CompetitionStatus.JUDGING: N_("评审中"),
    CompetitionStatus.FINISHED: N_("已结束"),
}


class Competition(db.Model):
    """A competition, e.g. a 创客中国 regional round or an enterprise's innovation contest.

    ``eligibility`` is ``{"org_types": [...], "founded_after": "YYYY-MM-DD" | null,
    "regions": [...]}``; an empty list or null means no restriction.
    """

    __tablename__ = "competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organiser_name: Mapped[str] = mapped_column(String(200), default="")  # 主办单位
    description: Mapped[str] = mapped_column(Text, default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)  # a linked theme day
    status: Mapped[str] = mapped_column(String(20), default=CompetitionStatus.DRAFT.value)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entry_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entry_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event | None] = relationship()
    tracks: Mapped[list[CompetitionTrack]] = relationship(back_populates="competition", cascade="all, delete-orphan", order_by="CompetitionTrack.position")
    rounds: Mapped[list[CompetitionRound]] = relationship(back_populates="competition", cascade="all, delete-orphan", order_by="CompetitionRound.position")

    @property
    def status_label(self) -> str:
        return COMPETITION_STATUS_LABELS[CompetitionStatus(self.status)]


class CompetitionTrack(db.Model):
    """赛道: entries compete and advance within their track."""

    __tablename__ = "competition_tracks"
    __table_args__ = (UniqueConstraint("competition_id", "name", name="competition_track_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)

    competition: Mapped[Competition] = relationship(back_populates="tracks")


class AdvanceMode(StrEnum):
    TOP_N = "top_n"  # 每个赛道前 N 名晋级
    THRESHOLD = "threshold"  # 达到分数线晋级


class RoundStatus(StrEnum):
    SETUP = "setup"  # 准备中
    SCORING = "scoring"  # 评分中
    DECIDED = "decided"  # 已确定晋级


class CompetitionRound(db.Model):
    """轮次 (初赛 / 复赛 / 决赛 or custom); the last round decides the awards instead of advancement."""

    __tablename__ = "competition_rounds"
    __table_args__ = (UniqueConstraint("competition_id", "position", name="competition_round_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    judging_round_id: Mapped[int | None] = mapped_column(ForeignKey("judging_rounds.id", ondelete="SET NULL"))
    advance_mode: Mapped[str] = mapped_column(String(20), default=AdvanceMode.TOP_N.value)
    advance_n: Mapped[int | None] = mapped_column(Integer)  # per track
    threshold: Mapped[float | None] = mapped_column(Float)  # on the normalised score
    status: Mapped[str] = mapped_column(String(20), default=RoundStatus.SETUP.value)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    competition: Mapped[Competition] = relationship(back_populates="rounds")


class EntryStatus(StrEnum):
    SUBMITTED = "submitted"  # 已报名
    INELIGIBLE = "ineligible"  # 不符合条件
    ACTIVE = "active"  # 参赛中
    ELIMINATED = "eliminated"  # 已淘汰
    WITHDRAWN = "withdrawn"  # 已退赛


class CompetitionEntry(ProjectFields, db.Model):
    """参赛项目: from scratch or carried over from a road-show application (``application_id``)."""

    __tablename__ = "competition_entries"
    __table_args__ = (UniqueConstraint("competition_id", "contact_mobile", "project_name", name="competition_entry_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("competition_tracks.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("project_applications.id", ondelete="SET NULL"))
    founded_on: Mapped[date | None] = mapped_column(Date)  # 成立日期 (eligibility)
    region: Mapped[str] = mapped_column(String(50), default="")  # 所在地区 (province)
    status: Mapped[str] = mapped_column(String(20), default=EntryStatus.SUBMITTED.value, index=True)
    ineligible_reason: Mapped[str] = mapped_column(Text, default="")
    reached_round_id: Mapped[int | None] = mapped_column(ForeignKey("competition_rounds.id", ondelete="SET NULL"))  # latest round it is in
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    track: Mapped[CompetitionTrack] = relationship()
    application: Mapped[ProjectApplication | None] = relationship()


class RoundResult(db.Model):
    """An entry's outcome in one round: its score, rank within the track, and whether it advanced."""

    __tablename__ = "competition_round_results"
    __table_args__ = (UniqueConstraint("round_id", "entry_id", name="competition_round_result_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("competition_rounds.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"), index=True)
    score: Mapped[float | None] = mapped_column(Float)  # normalised, from the judging engine
    rank: Mapped[int | None] = mapped_column(Integer)  # within the track; equal scores share a rank
    advanced: Mapped[bool] = mapped_column(Boolean, default=False)
    tie_note: Mapped[str] = mapped_column(String(300), default="")  # how a tie at the cut was settled

    entry: Mapped[CompetitionEntry] = relationship()


class Award(db.Model):
    """奖项: a named award (一等奖, 优胜奖 …) given to an entry, optionally per track."""

    __tablename__ = "competition_awards"
    __table_args__ = (UniqueConstraint("competition_id", "entry_id", name="competition_award_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer, default=0)

    entry: Mapped[CompetitionEntry] = relationship()


class Showcase(StrEnum):
    ACTIVITY_WEEK = "activity_week"  # 全国双创活动周
    YIXING = "yixing"  # 央企熠星大赛
    MAKER_CHINA = "maker_china"  # 创客中国


SHOWCASE_LABELS = {
    Showcase.ACTIVITY_WEEK: N_("全国双创活动周"),
    Showcase.YIXING: N_("央企熠星大赛"),
    Showcase.MAKER_CHINA: N_("创客中国"),
}


class Recommendation(db.Model):
    """推荐: the organiser recommends a theme-day project, entry or deal to a national showcase."""

    __tablename__ = "recommendations"
    __table_args__ = (UniqueConstraint("ref_type", "ref_id", "showcase", name="recommendation_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref_type: Mapped[str] = mapped_column(String(30))  # "application" / "entry" / "deal"
    ref_id: Mapped[int] = mapped_column(Integer)
    showcase: Mapped[str] = mapped_column(String(30))  # Showcase
    reason: Mapped[str] = mapped_column(Text, default="")
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
