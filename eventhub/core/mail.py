"""Mail outbox: every message is a row first, then sent over SMTP when a server is configured.

Keeping the row means nothing is lost when the SMTP server is down, and the ``key`` column
makes sending idempotent (a message with a key already in the outbox is not queued again).
"""

from __future__ import annotations

import smtplib
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from enum import StrEnum

from flask import current_app
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class MailStatus(StrEnum):
    PENDING = "pending"  # 待发送（含等待重试）
    SENDING = "sending"  # 发送中（被某个投递进程领取）
    SENT = "sent"  # 已发送
    FAILED = "failed"  # 永久失败（重试用尽或服务器拒收）
    LOGGED = "logged"  # 未配置邮件服务器：仅记录


MAIL_STATUS_LABELS = {
    MailStatus.PENDING: "待发送",
    MailStatus.SENDING: "发送中",
    MailStatus.SENT: "已发送",
    MailStatus.FAILED: "发送失败",
    MailStatus.LOGGED: "仅记录（未配置邮件服务器）",
}


class MailMessage(db.Model):
    """发件箱中的一封邮件 (transactional outbox row: written with the change that causes it)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # plain-text body
    html_body: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(100))  # mail/<template>.txt|.html it came from
    locale: Mapped[str] = mapped_column(String(10), default="zh_Hans_CN")
    status: Mapped[str] = mapped_column(String(20), default=MailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when a worker took it (stale claims are retaken)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attachments: Mapped[list[MailAttachment]] = relationship(back_populates="message", cascade="all, delete-orphan", order_by="MailAttachment.id")

    @property
    def status_label(self) -> str:
        return MAIL_STATUS_LABELS.get(MailStatus(self.status), self.status)


class MailAttachment(db.Model):
    """A file sent with a message (an .ics, a ticket); kept with the row so a resend is identical."""

    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("mail_outbox.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[MailMessage] = relationship(back_populates="attachments")


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def queue_mail(recipient: str, subject: str, body: str, key: str | None = None) -> MailMessage | None:
    """Add a message to the outbox (caller commits); ``None`` if ``key`` was already queued."""
    if key is not None and db.session.scalar(select(MailMessage.id).where(MailMessage.key == key)):
        return None
    message = MailMessage(key=key or f"adhoc:{uuid.uuid4().hex}", recipient=recipient, subject=subject, body=body)
    db.session.add(message)
    return message


def deliver(message: MailMessage) -> bool:
    """Send one queued message over SMTP now; record the outcome on the row (caller commits)."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        message.status = MailStatus.LOGGED.value
        message.last_error = "未配置邮件服务器"
        return False
    email = EmailMessage()
    email["From"] = cfg["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="eventhub.local")
    email.set_content(message.body)
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=cfg["MAIL_TIMEOUT"]) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        message.status = MailStatus.FAILED.value
        message.last_error = str(exc)[:1000]
        return False
    message.status = MailStatus.SENT.value
    message.sent_at = utcnow()
    message.last_error = None
    return True
