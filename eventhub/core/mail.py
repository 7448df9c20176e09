"""Mail outbox: every message is a row first, then sent over SMTP by a delivery worker.

Writing the row in the same transaction as the change that causes it (an invitation, a
selection result) means a message exists exactly when the change was committed; keeping the row
means nothing is lost when the SMTP server is down; the unique ``key`` makes queueing
idempotent (a message whose key is already in the outbox is not queued again), so a retried
request or a scheduler caught up after downtime never mails twice.

``send_mail`` renders ``templates/mail/<template>.subject.txt|.txt|.html`` in the recipient's
language; ``deliver_pending`` (a scheduler job, also run by the organiser's "send now" button)
claims due rows one by one, sends them and records the outcome with back-off on failure.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum
from typing import Any

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from jinja2 import Template, TemplateNotFound
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core import audit
from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class MailStatus(StrEnum):
    PENDING = "pending"  # 待发送（含等待重试）
    SENDING = "sending"  # 发送中（被某个投递进程领取）
    SENT = "sent"  # 已发送
    FAILED = "failed"  # 永久失败（重试用尽或服务器拒收）
    LOGGED = "logged"  # 未配置邮件服务器：仅记录


MAIL_STATUS_LABELS = {
    MailStatus.PENDING: N_("待发送"),
    MailStatus.SENDING: N_("发送中"),
    MailStatus.SENT: N_("已发送"),
    MailStatus.FAILED: N_("发送失败"),
    MailStatus.LOGGED: N_("仅记录（未配置邮件服务器）"),
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


# ---- settings and helpers --------------------------------------------------------------------

DEFAULT_LOCALE = "zh_Hans_CN"
RETRY_MINUTES = (1, 5, 15, 60, 240)  # wait after the 1st, 2nd, … temporary failure (then the last value)
CLAIM_TIMEOUT = timedelta(minutes=10)  # a row "sending" for longer belongs to a crashed worker
KEY_HEADER = "X-EventHub-Key"
KEY_MAX = 200  # MailMessage.key length


class MailError(ValueError):
    """An outbox rule was broken (e.g. resending a message that is being sent); shown to the user."""


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _known_locale(locale: str | None) -> str:
    """``locale`` mapped onto a configured language ("en_US" → "en"), else the default (Chinese)."""
    languages = current_app.config.get("LANGUAGES") or {}
    default = current_app.config.get("BABEL_DEFAULT_LOCALE") or DEFAULT_LOCALE
    if not locale:
        return default
    if locale in languages:
        return locale
    short = re.split(r"[_-]", locale)[0].lower()
    return next((code for code in languages if code.split("_")[0].lower() == short), default)


def mail_locale(recipient: str, locale: str | None = None) -> str:
    """The language to write to ``recipient`` in: the argument, else their account's, else Chinese."""
    if not locale:
        from eventhub.auth.models import User  # auth imports this module: import late

        locale = db.session.scalar(select(User.locale).where(func.lower(User.email) == recipient.strip().lower()).limit(1))
    return _known_locale(locale)


# ---- rendering and queueing ------------------------------------------------------------------


@dataclass
class RenderedMail:
    subject: str
    body: str
    html_body: str | None


@contextmanager
def _mail_context(locale: str) -> Iterator[None]:
    """Render in ``locale``; outside a request (scheduler, CLI) inside a throw-away one for url_for."""
    from eventhub.core.urls import DEFAULT_BASE_URL

    with ExitStack() as stack:
        if not has_request_context():
            base = (current_app.config.get("PUBLIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
            stack.enter_context(current_app.test_request_context("/", base_url=base))
        stack.enter_context(force_locale(locale))
        yield


def _optional_template(name: str) -> Template | None:
    try:
        return current_app.jinja_env.get_template(name)
    except TemplateNotFound as exc:
        if exc.name != name:  # the template exists but includes a missing one: a real error
            raise
        return None


def render_mail(template: str, locale: str, **context: Any) -> RenderedMail:
    """Subject (one line), text body and optional HTML body of ``mail/<template>`` in ``locale``.

    Templates get ``site_url`` (the public home page) and ``mail_locale`` besides ``context``.
    """
    from eventhub.core.urls import external_url

    context.setdefault("site_url", external_url("core.index"))
    context.setdefault("mail_locale", locale)
    with _mail_context(locale):
        subject = " ".join(render_template(f"mail/{template}.subject.txt", **context).split())
        body = render_template(f"mail/{template}.txt", **context).strip() + "\n"
        html = _optional_template(f"mail/{template}.html")
        html_body = render_template(html, **context) if html is not None else None
    return RenderedMail(subject=subject[:300], body=body, html_body=html_body)


def _check_key(key: str) -> str:
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"mail key must be 1–{KEY_MAX} characters: {key!r}")
    return key


def is_queued(key: str) -> bool:
    return db.session.scalar(select(MailMessage.id).where(MailMessage.key == key)) is not None


def _insert(values: dict[str, Any], attachments: Sequence[tuple[str, str, bytes]]) -> MailMessage | None:
    """Insert one outbox row unless its key exists; ``None`` when it does.

    ``INSERT … ON CONFLICT (key) DO NOTHING`` instead of try/except around a flush: on
    PostgreSQL a second transaction inserting the same key waits for the first and then
    inserts nothing (no error, the caller's transaction stays usable); on SQLite a SAVEPOINT
    opened before the transaction's first write is released as a COMMIT by the pysqlite driver,
    which would commit the mail even when the caller rolls back — the statement avoids that.
    """
    table = MailMessage.__table__
    dialect = db.session.get_bind(mapper=MailMessage.__mapper__).dialect.name
    now = utcnow()
    values = {"status": MailStatus.PENDING.value, "attempts": 0, "created_at": now, "updated_at": now, **values}
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c.key]).returning(table.c.id)
        new_id = db.session.execute(stmt).scalar()
        if new_id is None:
            return None
        message = db.session.get(MailMessage, new_id)
        assert message is not None
    else:  # other databases: a savepoint around the insert
        message = MailMessage(**values)
        try:
            with db.session.begin_nested():
                db.session.add(message)
        except IntegrityError:
            return None
    for filename, content_type, data in attachments:
        message.attachments.append(MailAttachment(filename=filename, content_type=content_type, data=bytes(data)))
    return message


def send_mail(
    recipient: str,
    template: str,
    *,
    key: str,
    locale: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    **context: Any,
) -> MailMessage | None:
    """Render ``mail/<template>`` for ``recipient`` and add it to the outbox (the caller commits).

    The language is ``locale``, else the recipient's account language, else Chinese. Returns
    ``None`` when ``key`` is already in the outbox — also when another transaction queues the
    same key at the same moment — so callers can retry freely. Attachments are
    ``(filename, content_type, bytes)``; an .ics is ``text/calendar; method=PUBLISH; charset=utf-8``.
    """
    _check_key(key)
    recipient = recipient.strip()
    if is_queued(key):  # cheap early exit; the insert below still guards against races
        return None
    lang = mail_locale(recipient, locale)
    rendered = render_mail(template, lang, recipient=recipient, **context)
    values = {
        "key": key,
        "recipient": recipient,
        "subject": rendered.subject,
        "body": rendered.body,
        "html_body": rendered.html_body,
        "template": template,
        "locale": lang,
    }
    return _insert(values, attachments)


def queue_mail(
    recipient: str,
    subject: str,
    body: str,
    key: str | None = None,
    html_body: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> MailMessage | None:
    """Add an already written message to the outbox (caller commits); ``None`` if ``key`` was queued."""
    values = {
        "key": _check_key(key) if key is not None else f"adhoc:{uuid.uuid4().hex}",
        "recipient": recipient.strip(),
        "subject": " ".join(subject.split())[:300],
        "body": body,
        "html_body": html_body,
        "locale": _known_locale(None),
    }
    return _insert(values, attachments)


# ---- building the e-mail ---------------------------------------------------------------------


def _sender() -> str:
    return current_app.config.get("MAIL_DEFAULT_SENDER") or "EventHub <noreply@eventhub.local>"


def message_id(message: MailMessage) -> str:
    """A stable Message-ID per row: a retry of the same row carries the same ID (receivers dedupe)."""
    domain = parseaddr(_sender())[1].rpartition("@")[2] or "eventhub.local"
    digest = hashlib.sha256(message.key.encode()).hexdigest()[:16]
    return f"<eventhub.{message.id}.{digest}@{domain}>"


def _split_content_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    holder = EmailMessage()
    holder["Content-Type"] = content_type or "application/octet-stream"
    params = {k: v for k, v in holder["Content-Type"].params.items()}
    return holder.get_content_maintype(), holder.get_content_subtype(), params


def build_email(message: MailMessage, now: datetime | None = None) -> EmailMessage:
    """The MIME message of a row: text (and HTML alternative), attachments byte for byte."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = _sender()
    email["To"] = message.recipient
    email["Date"] = format_datetime(now or utcnow())
    email["Message-ID"] = message_id(message)
    email[KEY_HEADER] = message.key
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to notifications
    email.set_content(message.body, cte="base64")
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html", cte="base64")
    for attachment in message.attachments:
        maintype, subtype, params = _split_content_type(attachment.content_type)
        email.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params)
    return email


# ---- delivery --------------------------------------------------------------------------------


class _UnreachableError(Exception):
    """The server could not be reached earlier in this run; not tried again until the next run."""


class _Smtp:
    """One SMTP connection per run, opened when first needed, reopened once if the server hung up."""

    def __init__(self) -> None:
        self.cfg = current_app.config
        self.conn: smtplib.SMTP | None = None
        self.unreachable: str | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        server, timeout = cfg["MAIL_SERVER"], float(cfg.get("MAIL_TIMEOUT") or 10)
        local_hostname = cfg.get("MAIL_LOCAL_HOSTNAME")
        if cfg.get("MAIL_USE_SSL"):
            conn: smtplib.SMTP = smtplib.SMTP_SSL(server, int(cfg.get("MAIL_PORT") or 465), local_hostname=local_hostname, timeout=timeout)
        else:
            conn = smtplib.SMTP(server, int(cfg.get("MAIL_PORT") or 25), local_hostname=local_hostname, timeout=timeout)
        try:
            conn.ehlo_or_helo_if_needed()
            if cfg.get("MAIL_USE_TLS"):
                conn.starttls()
                conn.ehlo()
            if cfg.get("MAIL_USERNAME"):
                conn.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, email: EmailMessage, recipient: str) -> None:
        if self.unreachable is not None:
            raise _UnreachableError(self.unreachable)
        for _try in range(2):
            fresh = self.conn is None
            if self.conn is None:
                try:
                    self.conn = self._connect()
                except (OSError, smtplib.SMTPException) as exc:
                    self.unreachable = _error_text(exc)
                    raise
            try:
                self.conn.send_message(email, from_addr=parseaddr(_sender())[1], to_addrs=[recipient])
                return
            except smtplib.SMTPServerDisconnected:
                self.close()
                if fresh:
                    raise
            except OSError:
                self.close()
                raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                self.conn.close()
            self.conn = None


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {_decode(msg)}" for addr, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_decode(exc.smtp_error)}"
    if isinstance(exc, _UnreachableError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def is_permanent(exc: BaseException) -> bool:
    """5xx from the server about this message's sender, recipient or content: retrying cannot help.

    Everything else — refused or timed-out connections, 4xx, greeting / log-in / TLS trouble — is
    temporary: a server that is down or misconfigured today may work after the next retry.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code >= 500
    return False


def _due(now: datetime) -> Any:
    pending = and_(
        MailMessage.status == MailStatus.PENDING.value,
        or_(MailMessage.next_attempt_at.is_(None), MailMessage.next_attempt_at <= now),
    )
    stale = and_(
        MailMessage.status == MailStatus.SENDING.value,
        or_(MailMessage.claimed_at.is_(None), MailMessage.claimed_at < now - CLAIM_TIMEOUT),
    )
    return or_(pending, stale)


def due_ids(now: datetime, limit: int) -> list[int]:
    return list(db.session.scalars(select(MailMessage.id).where(_due(now)).order_by(MailMessage.id).limit(limit)))


def _claim(message_id: int, now: datetime) -> bool:
    """Take one row for this worker: a conditional UPDATE that exactly one worker can win."""
    table = MailMessage.__table__
    stmt = update(table).where(table.c.id == message_id, _due(now)).values(status=MailStatus.SENDING.value, claimed_at=now, updated_at=utcnow())
    won = db.session.execute(stmt).rowcount == 1
    db.session.commit()  # the claim is visible to every other worker before SMTP is touched
    return won


def retry_delay(attempts: int) -> timedelta:
    minutes = current_app.config.get("MAIL_RETRY_MINUTES") or RETRY_MINUTES
    return timedelta(minutes=minutes[min(max(attempts, 1), len(minutes)) - 1])


def _temporary_failure(message: MailMessage, now: datetime, error: str) -> str:
    message.last_error = error[:2000]
    message.claimed_at = None
    if message.attempts >= int(current_app.config.get("MAIL_MAX_ATTEMPTS") or 6):
        message.status = MailStatus.FAILED.value
        message.next_attempt_at = None
        return "failed"
    message.status = MailStatus.PENDING.value
    message.next_attempt_at = now + retry_delay(message.attempts)
    return "retry"


def _deliver_one(message: MailMessage, smtp: _Smtp, now: datetime) -> str:
    """Send one claimed row and record the outcome on it (the caller commits)."""
    if not mail_configured():
        current_app.logger.info(
            "mail not sent (no MAIL_SERVER configured), kept in the outbox as logged: to=%s key=%s subject=%s\n%s",
            message.recipient,
            message.key,
            message.subject,
            message.body,
        )
        message.status = MailStatus.LOGGED.value
        message.claimed_at = None
        message.next_attempt_at = None
        message.last_error = None
        return "logged"
    message.attempts += 1
    try:
        smtp.send(build_email(message, now), message.recipient)
    except (OSError, smtplib.SMTPException, _UnreachableError) as exc:
        if is_permanent(exc):
            message.status = MailStatus.FAILED.value
            message.last_error = _error_text(exc)[:2000]
            message.claimed_at = None
            message.next_attempt_at = None
            return "failed"
        return _temporary_failure(message, now, _error_text(exc))
    message.status = MailStatus.SENT.value
    message.sent_at = now
    message.claimed_at = None
    message.next_attempt_at = None
    message.last_error = None
    return "sent"


@dataclass
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    logged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def total(self) -> int:
        return self.sent + self.retry + self.failed + self.logged

    def summary(self) -> str:
        return f"sent {self.sent}, retry {self.retry}, failed {self.failed}, logged {self.logged}"


def run_delivery(limit: int = 100, now: datetime | None = None) -> DeliveryReport:
    """Claim and send up to ``limit`` due rows; commits after each claim and each outcome.

    Safe to run in several processes at once: each row is claimed by one conditional UPDATE
    (``status='pending'`` and due → ``'sending'``), so exactly one worker sends it. Rows left in
    ``sending`` for longer than :data:`CLAIM_TIMEOUT` (a worker crashed mid-send) are claimed
    again. One message failing never stops the others; nothing is ever deleted.
    """
    now = now or utcnow()
    report = DeliveryReport()
    ids = due_ids(now, limit)
    db.session.commit()
    smtp = _Smtp()
    try:
        for message_id in ids:
            if not _claim(message_id, now):
                continue  # another worker took it
            message = db.session.get(MailMessage, message_id, populate_existing=True)
            if message is None:
                continue
            try:
                outcome = _deliver_one(message, smtp, now)
            except Exception as exc:  # noqa: BLE001 - a broken row must not stop the run
                current_app.logger.exception("mail %s could not be delivered", message_id)
                outcome = _temporary_failure(message, now, _error_text(exc))
            report.add(outcome)
            try:
                db.session.commit()
            except SQLAlchemyError:  # the row stays "sending" and is claimed again after CLAIM_TIMEOUT
                db.session.rollback()
                current_app.logger.exception("mail %s: outcome %s could not be saved", message_id, outcome)
    finally:
        smtp.close()
    if report.total:
        current_app.logger.info("mail delivery: %s", report.summary())
    return report


def deliver_pending(limit: int = 100, now: datetime | None = None) -> str:
    """The scheduler job (``eventhub.core.mail:deliver_pending``): deliver due mail, return a summary line."""
    return run_delivery(limit=limit, now=now).summary()


# ---- the organisers' outbox ------------------------------------------------------------------


def _search(query: Any, q: str) -> Any:
    q = q.strip()
    if not q:
        return query
    return query.where(
        or_(
            MailMessage.recipient.icontains(q, autoescape=True),
            MailMessage.subject.icontains(q, autoescape=True),
            MailMessage.key.icontains(q, autoescape=True),
        )
    )


def search_outbox(*, q: str = "", status: str = "", page: int = 1, per_page: int = 20) -> Any:
    """A page of outbox rows, newest first, matching ``q`` in recipient, subject or key."""
    query = _search(select(MailMessage), q)
    if status:
        query = query.where(MailMessage.status == status)
    query = query.order_by(MailMessage.created_at.desc(), MailMessage.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def status_counts(q: str = "") -> dict[str, int]:
    """How many rows (matching ``q``) are in each status, every status listed."""
    query = _search(select(MailMessage.status, func.count(MailMessage.id)), q).group_by(MailMessage.status)
    counts = {status.value: 0 for status in MailStatus}
    counts.update({status: n for status, n in db.session.execute(query)})
    return counts


def _state(message: MailMessage) -> dict[str, Any]:
    return {"key": message.key, "status": message.status, "attempts": message.attempts, "last_error": message.last_error}


def _resend_key(key: str, taken: int) -> str:
    base = re.sub(r"(:resend:\d+)+$", "", key)
    suffix = f":resend:{taken}"
    if len(base) + len(suffix) > KEY_MAX:
        base = base[: KEY_MAX - len(suffix) - 17] + "~" + hashlib.sha256(base.encode()).hexdigest()[:16]
    return base + suffix


def resend(message: MailMessage, actor: Any = None) -> MailMessage:
    """Send a message again (audited; the caller commits).

    A failed, logged or pending row goes back to pending with its attempts reset (due at once).
    A sent row stays as it is — it is the record that it was sent — and a copy is queued with the
    key ``<key>:resend:<n>``.
    """
    from flask_babel import gettext

    before = _state(message)
    if message.status == MailStatus.SENDING.value:
        raise MailError(gettext("这封邮件正在发送中，请稍后刷新再试。"))
    if message.status == MailStatus.SENT.value:
        copy = None
        for n in range(1, 1000):
            key = _resend_key(message.key, n)
            if is_queued(key):
                continue
            copy = _insert(
                {
                    "key": key,
                    "recipient": message.recipient,
                    "subject": message.subject,
                    "body": message.body,
                    "html_body": message.html_body,
                    "template": message.template,
                    "locale": message.locale,
                },
                [(a.filename, a.content_type, a.data) for a in message.attachments],
            )
            if copy is not None:
                break
        if copy is None:
            raise MailError(gettext("无法生成重发副本，请稍后再试。"))
        db.session.flush()
        audit.record("mail.resend", message, before=before, after={"copy_id": copy.id, "copy_key": copy.key}, actor=actor)
        return copy
    table = MailMessage.__table__
    stmt = (
        update(table)
        .where(table.c.id == message.id, table.c.status == message.status)
        .values(status=MailStatus.PENDING.value, attempts=0, next_attempt_at=None, claimed_at=None, last_error=None, updated_at=utcnow())
    )
    if db.session.execute(stmt).rowcount != 1:
        raise MailError(gettext("这封邮件的状态刚刚发生了变化，请刷新后再试。"))
    db.session.refresh(message)
    audit.record("mail.resend", message, before=before, after=_state(message), actor=actor)
    return message
