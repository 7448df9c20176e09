"""Road-show models (创新团队对接路演): the call for projects, applications, sessions and panels,
schedule versions with placements, and matchmaking leads.

Projects are described once (:class:`ProjectFields`) and reused by competition entries, so a
project can be carried over from a theme day's road show into a competition without retyping.
Scoring is not modelled here: live scoring and the pre-screen go through the shared judging
engine (``eventhub.judging``), with items pointing back at applications (``ref_type``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.core.uploads import StoredFile
from eventhub.events.models import Event, EventSession, new_uid
from eventhub.extensions import db


class ProjectStage(StrEnum):
    IDEA = "idea"  # 创意阶段
    PROTOTYPE = "prototype"  # 样机 / 原型
    REVENUE = "revenue"  # 已有收入
    SCALE_UP = "scale_up"  # 规模化


PROJECT_STAGE_LABELS = {
    ProjectStage.IDEA: N_("创意阶段"),
    ProjectStage.PROTOTYPE: N_("原型 / 样机"),
    ProjectStage.REVENUE: N_("已有收入"),
    ProjectStage.SCALE_UP: N_("规模化扩张"),
}


class ProjectFields:
    """The fields that describe a project, shared by road-show applications and competition entries.

    ``presenters`` is a list of ``{"name", "mobile", "email", "position"}``; the normalised
    mobile is the person key the scheduler uses so one person presenting two projects is never
    in two rooms at once. ``unavailable`` holds ``[start, end]`` ISO 8601 pairs in UTC.
    """

    org_name: Mapped[str] = mapped_column(String(200))
    org_type: Mapped[str] = mapped_column(String(20))  # registration.models.OrgType
    uscc: Mapped[str] = mapped_column(String(18), default="")  # 统一社会信用代码 (enterprises)
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_mobile: Mapped[str] = mapped_column(String(20))
    contact_email: Mapped[str] = mapped_column(String(254))
    presenters: Mapped[list[Any]] = mapped_column(JSON, default=list)
    project_name: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(100), default="")  # 技术领域 / 赛道
    stage: Mapped[str] = mapped_column(String(20))  # ProjectStage
    seeking: Mapped[str] = mapped_column(Text, default="")  # 融资或合作需求
    summary: Mapped[str] = mapped_column(Text, default="")  # 项目简介 (字数-limited)
    unavailable: Mapped[list[Any]] = mapped_column(JSON, default=list)

    @declared_attr
    def deck_file_id(cls) -> Mapped[int | None]:  # noqa: N805  (路演材料 PDF)
        return mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))

    @declared_attr
    def deck_file(cls) -> Mapped[StoredFile | None]:  # noqa: N805
        return relationship(StoredFile, foreign_keys=lambda: [cls.deck_file_id])  # type: ignore[attr-defined]

    @property
    def stage_label(self) -> str:
        return PROJECT_STAGE_LABELS.get(ProjectStage(self.stage), self.stage) if self.stage else ""


class ProjectCall(db.Model):
    """项目征集: one call for projects per event with road-show sessions."""

    __tablename__ = "project_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    intro: Mapped[str] = mapped_column(Text, default="")  # what the host looks for
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the fields applicants choose from
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary_min: Mapped[int] = mapped_column(Integer, default=100)  # 字
    summary_max: Mapped[int] = mapped_column(Integer, default=800)  # 字
    prescreen_round_id: Mapped[int | None] = mapped_column(ForeignKey("judging_rounds.id", ondelete="SET NULL"))
    live_round_id: Mapped[int | None] = mapped_column(ForeignKey("judging_rounds.id", ondelete="SET NULL"))  # the event's live rubric
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # public winners only after this
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    applications: Mapped[list[ProjectApplication]] = relationship(back_populates="call", order_by="ProjectApplication.id")


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"  # 已提交
    CHANGES_REQUESTED = "changes_requested"  # 需修改
    SHORTLISTED = "shortlisted"  # 入围
    DECLINED = "declined"  # 未入围
    WITHDRAWN = "withdrawn"  # 已撤回


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: N_("已提交"),
    ApplicationStatus.CHANGES_REQUESTED: N_("需修改"),
    ApplicationStatus.SHORTLISTED: N_("入围"),
    ApplicationStatus.DECLINED: N_("未入围"),
    ApplicationStatus.WITHDRAWN: N_("已撤回"),
}


class ProjectApplication(ProjectFields, db.Model):
    """项目申报: an SME's application to pitch at an event's road show; private link by token."""

    __tablename__ = "project_applications"
    __table_args__ = (UniqueConstraint("call_id", "contact_mobile", "project_name", name="project_application_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("project_calls.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    need_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # technology needs it answers
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.SUBMITTED.value, index=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")  # reason / requested changes
    award: Mapped[str] = mapped_column(String(100), default="")  # e.g. 一等奖, shown when results are published
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the private link's token
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    call: Mapped[ProjectCall] = relationship(back_populates="applications")
    event: Mapped[Event] = relationship()

    @property
    def status_label(self) -> str:
        return APPLICATION_STATUS_LABELS[ApplicationStatus(self.status)]


class RoadshowSession(db.Model):
    """路演场次: a room (or online channel) on one day, cut into slots; times are Beijing wall-clock."""

    __tablename__ = "roadshow_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    event_session_id: Mapped[int | None] = mapped_column(ForeignKey("event_sessions.id", ondelete="SET NULL"))  # the agenda entry
    title: Mapped[str] = mapped_column(String(200))
    room: Mapped[str] = mapped_column(String(200), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    track: Mapped[str] = mapped_column(String(100), default="")  # field; empty = any
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    breaks: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [["10:30", "10:45"], …]
    chair_name: Mapped[str] = mapped_column(String(50), default="")  # 主持人 (run sheet)
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[Event] = relationship()
    event_session: Mapped[EventSession | None] = relationship()
    panel: Mapped[list[PanelMember]] = relationship(back_populates="session", cascade="all, delete-orphan", order_by="PanelMember.id")


class PanelRole(StrEnum):
    JUDGE = "judge"  # 评委
    INVESTOR = "investor"  # 投资人


PANEL_ROLE_LABELS = {PanelRole.JUDGE: N_("评委"), PanelRole.INVESTOR: N_("投资人")}


class PanelMember(db.Model):
    """A judge or investor on a road-show session's panel (a user account, so they can log in and score)."""

    __tablename__ = "roadshow_panel_members"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="roadshow_panel_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("roadshow_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=PanelRole.JUDGE.value)

    session: Mapped[RoadshowSession] = relationship(back_populates="panel")
    user: Mapped[Any] = relationship("User")


class ScheduleStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    PUBLISHED = "published"  # 已发布
    SUPERSEDED = "superseded"  # 已被新版本取代


class ScheduleVersion(db.Model):
    """A version of an event's road-show schedule; at most one draft and one current published version."""

    __tablename__ = "roadshow_schedule_versions"
    __table_args__ = (UniqueConstraint("event_id", "number", name="roadshow_schedule_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ScheduleStatus.DRAFT.value)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # last automatic run: unplaced + reasons, mismatches
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    placements: Mapped[list[Placement]] = relationship(back_populates="version", cascade="all, delete-orphan", order_by="Placement.starts_at")


class Placement(db.Model):
    """One project in one slot of one version. ``uid`` stays with the project across versions
    (iCalendar UID) and ``sequence`` rises when its slot changes, so calendars update in place."""

    __tablename__ = "roadshow_placements"
    __table_args__ = (
        UniqueConstraint("version_id", "application_id", name="roadshow_placement_project"),
        UniqueConstraint("version_id", "session_id", "starts_at", name="roadshow_placement_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("roadshow_schedule_versions.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("project_applications.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("roadshow_sessions.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # placed by hand: the solver keeps it
    uid: Mapped[str] = mapped_column(String(100), default=new_uid)
    sequence: Mapped[int] = mapped_column(Integer, default=0)

    version: Mapped[ScheduleVersion] = relationship(back_populates="placements")
    application: Mapped[ProjectApplication] = relationship()
    session: Mapped[RoadshowSession] = relationship()


class MatchmakingLead(db.Model):
    """对接意向: an investor or enterprise marked a project “interested — contact me”.

    Either a logged-in user (a panel investor) or a registrant of the event (by their private
    link) — once per project and person, enforced by two unique constraints. Leads feed
    the deals of the assessment.
    """

    __tablename__ = "matchmaking_leads"
    __table_args__ = (  # NULLs are distinct in a unique constraint: each applies only to its kind of person
        UniqueConstraint("application_id", "user_id", name="matchmaking_lead_user"),
        UniqueConstraint("application_id", "registration_id", name="matchmaking_lead_registration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("project_applications.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="SET NULL"))
    interested_name: Mapped[str] = mapped_column(String(100))  # who, as shown to the project
    interested_org: Mapped[str] = mapped_column(String(200), default="")
    interested_email: Mapped[str] = mapped_column(String(254), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[ProjectApplication] = relationship()
