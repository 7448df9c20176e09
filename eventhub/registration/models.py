"""Registration models: host questions, registrations with a waiting list, quotas, keys and tickets.

Capacity is enforced with quota rows (pretix's idea): a place is taken by one conditional
``UPDATE registration_quotas SET used = used + 1 WHERE id = ? AND used < capacity``; the
database serialises it on SQLite and PostgreSQL alike, so no look-up-then-insert race can oversell.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db


class OrgType(StrEnum):
    SME = "sme"  # 中小企业
    STARTUP = "startup"  # 初创企业
    LARGE = "large"  # 大型企业
    UNIVERSITY = "university"  # 高校
    INSTITUTE = "institute"  # 科研院所
    INVESTOR = "investor"  # 投资机构
    GOVERNMENT = "government"  # 政府部门
    OTHER = "other"  # 其他


ORG_TYPE_LABELS = {
    OrgType.SME: N_("中小企业"),
    OrgType.STARTUP: N_("初创企业"),
    OrgType.LARGE: N_("大型企业"),
    OrgType.UNIVERSITY: N_("高校"),
    OrgType.INSTITUTE: N_("科研院所"),
    OrgType.INVESTOR: N_("投资机构"),
    OrgType.GOVERNMENT: N_("政府部门"),
    OrgType.OTHER: N_("其他"),
}

ENTERPRISE_ORG_TYPES = frozenset({OrgType.SME, OrgType.STARTUP, OrgType.LARGE})  # need a 统一社会信用代码


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # 待审核 (moderated mode)
    CONFIRMED = "confirmed"  # 已确认 (holds a place and a ticket)
    WAITLISTED = "waitlisted"  # 候补
    DECLINED = "declined"  # 未通过
    CANCELLED = "cancelled"  # 已取消


REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.PENDING: N_("待审核"),
    RegistrationStatus.CONFIRMED: N_("已确认"),
    RegistrationStatus.WAITLISTED: N_("候补"),
    RegistrationStatus.DECLINED: N_("未通过"),
    RegistrationStatus.CANCELLED: N_("已取消"),
}

ACTIVE_STATUSES = (RegistrationStatus.PENDING.value, RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value)


class QuestionKind(StrEnum):
    TEXT = "text"
    SINGLE = "single"
    MULTIPLE = "multiple"
    NUMBER = "number"
    YESNO = "yesno"


class RegistrationQuestion(db.Model):
    """A question the host adds to its event's registration form (承办方自定义问题)."""

    __tablename__ = "registration_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # QuestionKind
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)  # single / multiple
    help_text: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # removed questions stay for old answers


class RegistrationQuota(db.Model):
    """Places of an event (``session_id`` NULL) or of one session; ``used`` counts confirmed places."""

    __tablename__ = "registration_quotas"
    __table_args__ = (UniqueConstraint("event_id", "session_id", name="quota_event_session"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)


class Registration(db.Model):
    """一份报名. The registrant has no account: a private link (random token, hash stored) opens it.

    The same mobile or e-mail cannot hold two active registrations for one event: partial unique
    indexes (status not cancelled/declined) refuse the second even under concurrency.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        Index(
            "uq_registrations_event_mobile_active",
            "event_id",
            "mobile",
            unique=True,
            sqlite_where=text("status IN ('pending', 'confirmed', 'waitlisted')"),
            postgresql_where=text("status IN ('pending', 'confirmed', 'waitlisted')"),
        ),
        Index(
            "uq_registrations_event_email_active",
            "event_id",
            "email",
            unique=True,
            sqlite_where=text("status IN ('pending', 'confirmed', 'waitlisted')"),
            postgresql_where=text("status IN ('pending', 'confirmed', 'waitlisted')"),
        ),
        Index("ix_registrations_waitlist", "event_id", "status", "waitlisted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200))
    org_type: Mapped[str] = mapped_column(String(20), index=True)  # OrgType
    uscc: Mapped[str | None] = mapped_column(String(18))  # 统一社会信用代码 (enterprises)
    position: Mapped[str] = mapped_column(String(100), default="")  # 职务
    mobile: Mapped[str] = mapped_column(String(20))  # normalised 11 digits
    email: Mapped[str] = mapped_column(String(254))  # normalised lower case
    session_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # sessions chosen (EventSession ids)
    interests: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"needs": [ids], "resources": [ids]}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {question_id: value}
    status: Mapped[str] = mapped_column(String(20), index=True)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # order of the waiting list
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    needs_reapproval: Mapped[bool] = mapped_column(Boolean, default=False)  # edited after approval (moderated)
    host_note: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_Hans_CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    ticket: Mapped[Ticket | None] = relationship(back_populates="registration", uselist=False)

    @property
    def status_label(self) -> str:
        return REGISTRATION_STATUS_LABELS[RegistrationStatus(self.status)]

    @property
    def org_type_label(self) -> str:
        return ORG_TYPE_LABELS[OrgType(self.org_type)]


class EventKey(db.Model):
    """An Ed25519 signing key of one event (票据签名密钥). The private half never leaves the server.

    ``private_key`` holds the raw 32 bytes encrypted with a key derived from the app's secret
    (Fernet), so a database dump alone cannot sign tickets. A retired key signs nothing new but its
    tickets stay valid; a revoked key invalidates its tickets (the organiser decides when).
    """

    __tablename__ = "event_keys"
    __table_args__ = (UniqueConstraint("event_id", "kid", name="event_kid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kid: Mapped[str] = mapped_column(String(8))  # short key id carried in every QR payload
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # raw 32 bytes
    private_key: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet-encrypted raw 32 bytes
    status: Mapped[str] = mapped_column(String(20), default="active")  # active / retired / revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Ticket(db.Model):
    """电子票 of a confirmed registration; ``code`` is the short ticket id inside the signed QR payload."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kid: Mapped[str] = mapped_column(String(8))  # the key that signed it
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    registration: Mapped[Registration] = relationship(back_populates="ticket")


class TicketRevocation(db.Model):
    """The revocation list: scanners fetch rows with ``id`` greater than their cursor (``since``)."""

    __tablename__ = "ticket_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)  # the cursor
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    ticket_code: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # cancelled / declined / key_revoked
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
