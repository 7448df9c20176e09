"""Selection models: decisions with rationale, proposed dates, calendar days, per-campaign settings."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.bases.models import DemonstrationBase
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db
from eventhub.plans.models import PreliminaryPlan


class SelectionSettings(db.Model):
    """Per-campaign selection settings (the campaign model belongs to another package)."""

    __tablename__ = "selection_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True)
    gap_days: Mapped[int] = mapped_column(Integer, default=21)  # minimum days between consecutive theme-day starts
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SelectionDecision(db.Model):
    """The organiser's decision on one plan: selected or not, why, and (if selected) its dates."""

    __tablename__ = "selection_decisions"
    __table_args__ = (UniqueConstraint("campaign_id", "plan_id", name="campaign_plan"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("preliminary_plans.id", ondelete="CASCADE"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="RESTRICT"), index=True)
    selected: Mapped[bool] = mapped_column(default=False)
    rationale: Mapped[str] = mapped_column(Text)  # 遴选理由 / 未入选理由 (required)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Proposed dates (suggested or typed by hand) until they are published as an Event.
    start_date: Mapped[date | None] = mapped_column(Date)
    duration_days: Mapped[int | None] = mapped_column(Integer)

    plan: Mapped[PreliminaryPlan] = relationship()
    base: Mapped[DemonstrationBase] = relationship()


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # 法定节假日
    WORKDAY = "workday"  # 调休上班 (overrides a holiday: the day is not blocked)
    BLACKOUT = "blackout"  # 组织方排除的日期


DAY_KIND_LABELS = {
    DayKind.HOLIDAY: "法定节假日",
    DayKind.WORKDAY: "调休上班日",
    DayKind.BLACKOUT: "不安排活动的日期",
}


class CalendarDay(db.Model):
    """A holiday / working day / blackout date entered by the organiser for a year.

    Library holidays (``chinese-calendar``) are read live, not stored; rows here have
    ``source = "organiser"`` (the column leaves room for an imported announcement).
    """

    __tablename__ = "selection_calendar_days"
    __table_args__ = (UniqueConstraint("day", name="calendar_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20), default=DayKind.BLACKOUT.value)
    source: Mapped[str] = mapped_column(String(30), default="organiser")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def kind_label(self) -> str:
        return DAY_KIND_LABELS.get(DayKind(self.kind), self.kind)
