"""Theme-day events (融通创新主题日), created when the organiser publishes the selection."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"  # 已排期
    WITHDRAWN = "withdrawn"  # 已撤销 (published as STATUS:CANCELLED)


EVENT_STATUS_LABELS = {
    EventStatus.SCHEDULED: "已排期",
    EventStatus.WITHDRAWN: "已撤销",
}


def new_uid() -> str:
    """A stable iCalendar UID: set once, never changed, so calendar clients update in place."""
    return f"{uuid.uuid4().hex}@eventhub"


class Event(db.Model):
    """One theme day of one host base. Dates are Beijing calendar dates; ``end_date`` is inclusive."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("campaign_id", "host_base_id", name="campaign_host"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True)
    host_base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("preliminary_plans.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))  # “{简称}融通创新主题日”
    start_date: Mapped[date] = mapped_column(Date, index=True)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.SCHEDULED.value, index=True)
    detail_plan_due: Mapped[datetime] = mapped_column(UTCDateTime())  # start 00:00 Beijing minus the lead time
    uid: Mapped[str] = mapped_column(String(100), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE: +1 on every change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    host_base: Mapped[DemonstrationBase] = relationship()

    @property
    def status_label(self) -> str:
        return EVENT_STATUS_LABELS.get(EventStatus(self.status), self.status)

    @property
    def duration_days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    def __repr__(self) -> str:
        return f"<Event {self.title} {self.start_date}>"
