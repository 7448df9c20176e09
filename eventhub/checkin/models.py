"""Check-in models: staff assignments, check-in lists, every scan, and the one check-in per ticket and list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class CheckinList(db.Model):
    """签到清单: the whole event (``session_id`` NULL) or one session."""

    __tablename__ = "checkin_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))


class CheckinStaff(db.Model):
    """A check-in user assigned to an event, optionally to one list and a gate name (入口)."""

    __tablename__ = "checkin_staff"
    __table_args__ = (UniqueConstraint("event_id", "user_id", name="checkin_staff_event_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_lists.id", ondelete="SET NULL"))
    gate: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckinScan(db.Model):
    """Every scan a device sent, with its result; ``scan_id`` (from the device) makes a resend idempotent."""

    __tablename__ = "checkin_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_lists.id", ondelete="SET NULL"))
    payload: Mapped[str] = mapped_column(Text)  # what was scanned or typed
    ticket_code: Mapped[str | None] = mapped_column(String(16), index=True)
    result: Mapped[str] = mapped_column(String(30))  # ok / already / a reason code
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    gate: Mapped[str] = mapped_column(String(50), default="")
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())  # device time (offline scans)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    offline: Mapped[bool] = mapped_column(default=False)


class Checkin(db.Model):
    """The check-in of one ticket on one list: the unique constraint lets exactly one scan win."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("ticket_id", "list_id", name="checkin_ticket_list"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("checkin_lists.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    scan_id: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    gate: Mapped[str] = mapped_column(String(50), default="")
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the earliest scan's time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff = relationship("User")


class ApiToken(db.Model):
    """A bearer token for the JSON API (scanners); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
