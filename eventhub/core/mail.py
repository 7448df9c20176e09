"""Mail outbox: every message is a row first, then sent over SMTP when a server is configured.

Keeping the row means nothing is lost when the SMTP server is down, and the ``key`` column
makes sending idempotent (a message with a key already in the outbox is not queued again).
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class MailMessage(db.Model):
    """发件箱中的一封邮件."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued / sent / failed / skipped
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def queue_mail(recipient: str, subject: str, body: str, key: str | None = None) -> MailMessage | None:
    """Add a message to the outbox (caller commits); ``None`` if ``key`` was already queued."""
    if key is not None and db.session.scalar(select(MailMessage.id).where(MailMessage.key == key)):
        return None
    message = MailMessage(key=key, recipient=recipient, subject=subject, body=body)
    db.session.add(message)
    return message


def deliver(message: MailMessage) -> bool:
    """Send one queued message over SMTP now; record the outcome on the row (caller commits)."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        message.status = "skipped"
        message.error = "未配置邮件服务器"
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
        message.status = "failed"
        message.error = str(exc)[:1000]
        return False
    message.status = "sent"
    message.sent_at = utcnow()
    message.error = None
    return True
