"""Registration (报名): places, the waiting list, moderated approval and the private link.

Rules kept here (views and the API only parse and render):

* Everything is read from the *approved* publication (``content.publication``): capacity, the
  registration window, the approval mode, the sessions (only open ones may be chosen), the needs
  and resources one may show interest in.
* A place is a quota row's ``used`` counter. It is taken with ONE conditional statement,
  ``UPDATE registration_quotas SET used = used + 1 WHERE id = :id AND used < capacity``, whose row
  count says whether the place was had; the database serialises those statements (row lock on
  PostgreSQL, the write lock on SQLite), so capacity is never exceeded whatever the concurrency.
  The event quota is taken first, then each chosen session's quota in id order (one order
  everywhere, so two transactions never wait on each other in a circle).
* Automatic mode: a place → confirmed with a ticket; no event place → wait-listed (``waitlisted_at``
  fixes the order). A chosen session that is full is refused with its name (decision: the
  registrant can then pick other sessions; wait-listing for a single session would need a
  waiting list per session).
* Moderated mode: the registration waits (pending) without a place; the host's approval takes one.
  When none is left the registration stays pending and the host is told so.
* Cancelling frees the places, revokes the ticket and promotes the waiting list in order
  (``waitlisted_at``, ``id``) while places are free; a wait-listed registrant whose chosen session
  is still full is passed over (keeps their rank) and the next one gets the place.
* One mobile number or e-mail address holds at most one active registration per event: checked
  first for a friendly message, enforced by partial unique indexes (IntegrityError is caught).
* The private link carries a 43-character token; only its SHA-256 is stored. The token is an
  HMAC of the registration (id, event, e-mail) under a key derived from ``SECRET_KEY``
  (:func:`link_token`), so later mails (promotion, approval, a re-issued ticket) can carry the link
  again while a database dump alone still reveals no link. Registrations made before this rule
  keep their random token; their later mails simply carry no link (:func:`token_for` checks).
* SQLite: each call's transaction starts with ``BEGIN IMMEDIATE`` (see :func:`begin_write`), so
  concurrent registrations queue on the busy timeout instead of failing with "database is locked"
  and every check in the transaction sees the state it then writes on. The ticket a registration
  will most likely get is signed and its QR PNG drawn *before* that (:func:`_prepare_ticket`), so the
  write lock (on PostgreSQL the event quota's row lock) is not held while the mail's image is drawn.

Each public function here is one transaction: it commits on success and rolls back on error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken
from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from eventhub.core import audit
from eventhub.core.locking import begin_write
from eventhub.core.timeutil import as_utc, format_local, is_on_time, utcnow
from eventhub.core.tokens import hash_token, new_token
from eventhub.core.urls import external_url
from eventhub.core.validators import check_email, check_mobile, check_uscc, mask_mobile
from eventhub.events import public as pages
from eventhub.events.content import Publication, publication
from eventhub.events.models import ApprovalMode, Event
from eventhub.extensions import db
from eventhub.registration import questions as q
from eventhub.registration.models import (
    ACTIVE_STATUSES,
    ENTERPRISE_ORG_TYPES,
    OrgType,
    Registration,
    RegistrationQuota,
    RegistrationStatus,
)
from eventhub.registration.tickets import PreparedTicket

NAME_MIN, NAME_MAX = 2, 50
ORG_MIN, ORG_MAX = 2, 200
POSITION_MAX = 100
NOTE_MAX = 500
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32) is 43 characters
PRIVATE_ENDPOINT = "registration.private_page"  # the private page (written with the pages)
PRIVATE_PATH = "/registrations/{token}"  # used while that endpoint does not exist yet
EDITABLE_FIELDS = ("name", "organisation", "org_type", "uscc", "position", "need_ids", "resource_ids", "answers")

CONFIRMED = RegistrationStatus.CONFIRMED.value
PENDING = RegistrationStatus.PENDING.value
WAITLISTED = RegistrationStatus.WAITLISTED.value
CANCELLED = RegistrationStatus.CANCELLED.value
DECLINED = RegistrationStatus.DECLINED.value


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class RegistrationError(ValueError):
    """A registration or a host action was refused; ``errors`` maps form fields to Chinese messages.

    ``closed`` marks a refusal for the registration window (or no publication), ``duplicate`` a
    refusal because the mobile / e-mail already holds an active registration (``existing``).
    """

    def __init__(self, errors: Mapping[str, str] | str, *, closed: bool = False, duplicate: bool = False, existing: Registration | None = None) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        self.closed = closed
        self.duplicate = duplicate
        self.existing = existing
        super().__init__("；".join(self.errors.values()))


# ---- tokens ---------------------------------------------------------------------------


LINK_INFO = "eventhub/registration-link/v1"  # HMAC label: this derived key makes private links only


def link_token(registration: Registration) -> str:
    """The private-link token of a registration: HMAC-SHA256 of (id, event, e-mail) under ``SECRET_KEY``.

    Same 43-character URL-safe shape as ``token_urlsafe(32)``. The e-mail is part of it because
    it never changes on a registration, so the link cannot be steered onto another row.
    """
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    subkey = hmac.new(secret_bytes, LINK_INFO.encode("ascii"), hashlib.sha256).digest()
    message = f"{registration.id}:{registration.event_id}:{registration.email}".encode()
    return base64.urlsafe_b64encode(hmac.new(subkey, message, hashlib.sha256).digest()).rstrip(b"=").decode("ascii")


def token_for(registration: Registration) -> str | None:
    """The private-link token, when the stored hash is that of :func:`link_token` (else None)."""
    token = link_token(registration)
    return token if hmac.compare_digest(hash_token(token), registration.token_hash or "") else None


def find_by_token(token: str) -> Registration | None:
    """The registration whose private link carries ``token`` (``None`` for anything else).

    Looked up by SHA-256 (which an attacker cannot steer) and compared again in constant time.
    """
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    row = db.session.scalar(select(Registration).where(Registration.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


def private_url(token: str) -> str:
    """The absolute private link; before the page exists, the path it will have."""
    try:
        return external_url(PRIVATE_ENDPOINT, token=token)
    except BuildError:
        return external_url("core.index").rstrip("/") + PRIVATE_PATH.format(token=token)


# ---- SQLite: take the write lock up front --------------------------------------------------


def _is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


# ---- quotas ---------------------------------------------------------------------------


@dataclass
class Quotas:
    """The quota rows of one event: ``event`` (None = no limit) and one per limited session."""

    event: RegistrationQuota | None
    sessions: dict[int, RegistrationQuota] = field(default_factory=dict)

    def for_registration(self, session_ids: Iterable[int]) -> list[RegistrationQuota]:
        """The rows a registration for ``session_ids`` takes a place in, in the one locking order."""
        rows = [self.event] if self.event is not None else []
        rows += [self.sessions[sid] for sid in sorted(set(session_ids)) if sid in self.sessions]
        return rows


def _confirmed_count(event_id: int, session_id: int | None = None) -> int:
    query = select(Registration.session_ids).where(Registration.event_id == event_id, Registration.status == CONFIRMED)
    if session_id is None:
        return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return sum(1 for ids in db.session.scalars(query) if session_id in (ids or []))


def _load_quotas(event_id: int) -> list[RegistrationQuota]:
    return list(db.session.scalars(select(RegistrationQuota).where(RegistrationQuota.event_id == event_id).order_by(RegistrationQuota.id)))


def _wanted(pub: Publication) -> dict[int | None, int]:
    wanted: dict[int | None, int] = {}
    if pub.registration_capacity is not None:
        wanted[None] = int(pub.registration_capacity)
    for session in pub.sessions:
        if session.capacity is not None:
            wanted[session.id] = int(session.capacity)
    return wanted


def sync_quotas(event: Event, pub: Publication | None = None) -> Quotas:
    """Create or update the quota rows from the approved plan; the caller commits.

    The event quota follows ``registration_capacity`` and each session with a capacity gets
    its own. ``used`` is raised to the confirmed count if ever below it, never lowered (a
    concurrent registration may have taken a place this transaction cannot see yet). A capacity
    removed from the plan leaves the row at an unreachable size. Creation locks the event row
    (PostgreSQL ``FOR NO KEY UPDATE``; SQLite holds the write lock) so two first registrations
    cannot both create the event quota — a unique constraint does not catch two NULL session ids.
    """
    pub = pub if pub is not None else publication(event)
    wanted = _wanted(pub) if pub is not None else {}
    rows = {row.session_id: row for row in _load_quotas(event.id)}
    if any(key not in rows for key in wanted):
        db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update(key_share=True))
        rows = {row.session_id: row for row in _load_quotas(event.id)}
        for key, capacity in wanted.items():
            if key not in rows:
                row = RegistrationQuota(event_id=event.id, session_id=key, capacity=capacity, used=_confirmed_count(event.id, key))
                db.session.add(row)
                rows[key] = row
        db.session.flush()
    unlimited = 2**31 - 1
    for key, row in rows.items():
        capacity = wanted.get(key, unlimited)
        if row.capacity != capacity:
            db.session.execute(update(RegistrationQuota).where(RegistrationQuota.id == row.id).values(capacity=capacity))
    for key, row in rows.items():
        confirmed = _confirmed_count(event.id, key)
        db.session.execute(update(RegistrationQuota).where(RegistrationQuota.id == row.id, RegistrationQuota.used < confirmed).values(used=confirmed))
    for row in rows.values():
        db.session.refresh(row)
    return Quotas(event=rows.get(None) if None in wanted else None, sessions={k: v for k, v in rows.items() if k is not None and k in wanted})


def _quotas(event: Event, pub: Publication) -> Quotas:
    """The quota rows, created or resized only when the plan says something else (cheap when in sync)."""
    rows = {row.session_id: row for row in _load_quotas(event.id)}
    wanted = _wanted(pub)
    if any(key not in rows or rows[key].capacity != capacity for key, capacity in wanted.items()):
        return sync_quotas(event, pub)
    return Quotas(event=rows.get(None) if None in wanted else None, sessions={k: v for k, v in rows.items() if k is not None and k in wanted})


def _take(quota: RegistrationQuota) -> bool:
    """Take one place with the conditional UPDATE; True when the row had room."""
    stmt = text("UPDATE registration_quotas SET used = used + 1 WHERE id = :id AND used < capacity")
    return db.session.execute(stmt, {"id": quota.id}).rowcount == 1


def _give_back(quota: RegistrationQuota) -> None:
    db.session.execute(text("UPDATE registration_quotas SET used = used - 1 WHERE id = :id AND used > 0"), {"id": quota.id})


def _take_all(rows: Sequence[RegistrationQuota]) -> RegistrationQuota | None:
    """Take a place in every row or in none; return the first full row (None = all taken)."""
    taken: list[RegistrationQuota] = []
    for row in rows:
        if not _take(row):
            for done in reversed(taken):
                _give_back(done)
            return row
        taken.append(row)
    return None


def _session_title(pub: Publication, session_id: int | None) -> str:
    session = pub.session(session_id) if session_id is not None else None
    return session.title if session is not None else ""


# ---- the registration window -------------------------------------------------------------


def check_window(pub: Publication, now: datetime | None = None) -> None:
    """Refuse before ``registration_opens_at`` and after ``registration_closes_at`` (to the second).

    Opening: from the opening second on. Closing: the closing second itself still counts (as
    every deadline in the app, :func:`eventhub.core.timeutil.is_on_time`). Times are shown in Beijing time.
    """
    now = as_utc(now or utcnow())
    opens, closes = pub.registration_opens_at, pub.registration_closes_at
    if opens is not None and now.replace(microsecond=0) < as_utc(opens):
        raise RegistrationError(_("报名尚未开始：将于 %(when)s（北京时间）开放报名。", when=format_local(opens, "%Y-%m-%d %H:%M:%S")), closed=True)
    if closes is not None and not is_on_time(closes, now):
        raise RegistrationError(_("报名已于 %(when)s（北京时间）截止。", when=format_local(closes, "%Y-%m-%d %H:%M:%S")), closed=True)


def open_publication(event: Event) -> Publication:
    pub = publication(event)
    if pub is None:
        raise RegistrationError(_("该活动尚未发布，暂不接受报名。"), closed=True)
    return pub


# ---- checking what was typed --------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str) -> str:
    return " ".join(str(data.get(key) or "").split())


def _ids(value: Any) -> list[int]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple, set)) else [value]
    out: list[int] = []
    for item in items:
        try:
            number = int(item)
        except (TypeError, ValueError):
            out.append(-1)  # reported as an unknown choice
            continue
        if number not in out:
            out.append(number)
    return out


def _length(label: str, value: str, low: int, high: int) -> str | None:
    if not value:
        return _("请填写%(label)s。", label=label)
    if len(value) < low:
        return _("%(label)s至少 %(n)d 个字符。", label=label, n=low)
    if len(value) > high:
        return _("%(label)s最多 %(n)d 个字符（当前 %(m)d 个）。", label=label, n=high, m=len(value))
    return None


def _clean_profile(data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Name, organisation, organisation type, 统一社会信用代码, position."""
    out: dict[str, Any] = {}
    out["name"] = _text(data, "name")
    if error := _length(_("姓名"), out["name"], NAME_MIN, NAME_MAX):
        errors["name"] = error
    out["organisation"] = _text(data, "organisation")
    if error := _length(_("单位名称"), out["organisation"], ORG_MIN, ORG_MAX):
        errors["organisation"] = error
    org_type = str(data.get("org_type") or "").strip()
    out["org_type"] = org_type
    if org_type not in {t.value for t in OrgType}:
        errors["org_type"] = _("请选择单位类型。")
    raw_uscc = str(data.get("uscc") or "").strip()
    out["uscc"] = None
    if org_type in {t.value for t in ENTERPRISE_ORG_TYPES}:
        if not raw_uscc:
            errors["uscc"] = _("企业请填写统一社会信用代码。")
        else:
            try:
                out["uscc"] = check_uscc(raw_uscc)
            except ValueError as exc:
                errors["uscc"] = str(exc)
    elif raw_uscc:  # optional for others, but checked when given
        try:
            out["uscc"] = check_uscc(raw_uscc)
        except ValueError as exc:
            errors["uscc"] = str(exc)
    out["position"] = _text(data, "position")
    if error := _length(_("职务"), out["position"], 1, POSITION_MAX):
        errors["position"] = error
    return out


def _clean_interests(data: Mapping[str, Any], pub: Publication, errors: dict[str, str]) -> dict[str, list[int]]:
    need_ids, resource_ids = _ids(data.get("need_ids")), _ids(data.get("resource_ids"))
    known_needs, known_resources = {n.id for n in pub.needs}, {r.id for r in pub.resources}
    if any(i not in known_needs for i in need_ids):
        errors["need_ids"] = _("所选技术需求不在本活动已发布的需求中，请重新选择。")
    if any(i not in known_resources for i in resource_ids):
        errors["resource_ids"] = _("所选共享资源不在本活动已发布的资源中，请重新选择。")
    return {"needs": [i for i in need_ids if i in known_needs], "resources": [i for i in resource_ids if i in known_resources]}


def _clean_sessions(data: Mapping[str, Any], pub: Publication, errors: dict[str, str]) -> list[int]:
    session_ids = _ids(data.get("session_ids"))
    for sid in session_ids:
        session = pub.session(sid)
        if session is None:
            errors["session_ids"] = _("所选场次不在本活动的议程中，请重新选择。")
            break
        if not session.is_open:
            errors["session_ids"] = _("“%(title)s”仅限受邀嘉宾参加，不能在此报名。", title=session.title)
            break
    return sorted(session_ids)


def clean_input(event: Event, pub: Publication, data: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise and check every field at once; raise :class:`RegistrationError` with all field errors."""
    errors: dict[str, str] = {}
    out = _clean_profile(data, errors)
    for key, check, label in (("mobile", check_mobile, _("手机号码")), ("email", check_email, _("电子邮箱"))):
        raw = str(data.get(key) or "").strip()
        out[key] = raw
        if not raw:
            errors[key] = _("请填写%(label)s。", label=label)
            continue
        try:
            out[key] = check(raw)
        except ValueError as exc:
            errors[key] = str(exc)
    out["session_ids"] = _clean_sessions(data, pub, errors)
    out["interests"] = _clean_interests(data, pub, errors)
    answers, answer_errors = q.validate_answers(q.active_questions(event), data.get("answers") or {})
    errors.update(answer_errors)
    out["answers"] = answers
    if errors:
        raise RegistrationError(errors)
    return out


# ---- duplicates ------------------------------------------------------------------------------


def _mask_email(address: str) -> str:
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def find_duplicate(event_id: int, mobile: str, email: str) -> Registration | None:
    """The active registration of the event holding this mobile number or e-mail address."""
    query = select(Registration).where(
        Registration.event_id == event_id,
        Registration.status.in_(ACTIVE_STATUSES),
        (Registration.mobile == mobile) | (Registration.email == email),
    )
    return db.session.scalars(query.order_by(Registration.id).limit(1)).first()


def _duplicate_error(existing: Registration | None, mobile: str, email: str) -> RegistrationError:
    if existing is None:  # the other registration was rolled back in between: just ask again
        return RegistrationError(_("该手机号码或电子邮箱刚刚提交过报名，请稍后刷新页面查看。"), duplicate=True)
    where = "mobile" if existing.mobile == mobile else "email"
    pointer = _(
        "已有一份报名（%(mobile)s，%(email)s，状态：%(status)s）。查看或修改请使用报名时发送到 %(email)s 的专属链接。",
        mobile=mask_mobile(existing.mobile),
        email=_mask_email(existing.email),
        status=_(existing.status_label),
    )
    message = _("该手机号码已报名本活动。") if where == "mobile" else _("该电子邮箱已报名本活动。")
    return RegistrationError({where: message + pointer}, duplicate=True, existing=existing)


# ---- registering ----------------------------------------------------------------------------


def _full_session_error(pub: Publication, quota: RegistrationQuota) -> RegistrationError:
    return RegistrationError({"session_ids": _("“%(title)s”名额已满，请选择其他场次。", title=_session_title(pub, quota.session_id))})


def register(event: Event, data: Mapping[str, Any], *, now: datetime | None = None, locale: str = "zh_Hans_CN") -> tuple[Registration, str]:
    """Register one person; return (registration, private token). Commits; one transaction.

    Raises :class:`RegistrationError` (field errors, outside the window, full session,
    duplicate). Nothing is stored when it raises.
    """
    try:
        pub = open_publication(event)
        check_window(pub, now)
        clean = clean_input(event, pub, data)
        prepared = _prepare_ticket(event, pub)  # before the write lock: the QR PNG is the costly part of a registration
        begin_write()
        quotas = _quotas(event, pub)
        for sid in clean["session_ids"]:  # a friendly early answer; the UPDATE below decides
            row = quotas.sessions.get(sid)
            if row is not None and row.used >= row.capacity:
                raise _full_session_error(pub, row)
        existing = find_duplicate(event.id, clean["mobile"], clean["email"])
        if existing is not None:
            raise _duplicate_error(existing, clean["mobile"], clean["email"])
        moderated = pub.approval_mode == ApprovalMode.MODERATED.value
        registration = Registration(
            event_id=event.id,
            name=clean["name"],
            organisation=clean["organisation"],
            org_type=clean["org_type"],
            uscc=clean["uscc"],
            position=clean["position"],
            mobile=clean["mobile"],
            email=clean["email"],
            session_ids=clean["session_ids"],
            interests=clean["interests"],
            answers=clean["answers"],
            status=PENDING,
            token_hash=hash_token(new_token()),  # replaced below, once the id is known
            locale=locale or "zh_Hans_CN",
        )
        db.session.add(registration)
        db.session.flush()  # the partial unique indexes speak here
        token = link_token(registration)
        registration.token_hash = hash_token(token)
        if not moderated:
            rows = quotas.for_registration(registration.session_ids)
            full = _take_all(rows)
            if full is not None and full.session_id is not None:
                raise _full_session_error(pub, full)
            if full is None:
                _confirm(registration, prepared)
            else:
                registration.status = WAITLISTED
                registration.waitlisted_at = utcnow()
        db.session.flush()
        audit.record(
            "registration.create",
            registration,
            after=audit.snapshot(registration, ["status", "name", "organisation", "org_type", "session_ids"]),
            actor=None,
        )
        template = {CONFIRMED: "registration_confirmed", WAITLISTED: "registration_waitlisted", PENDING: "registration_received"}[registration.status]
        _mail(registration, template, f"registration:{registration.id}:{registration.status}", private_link=private_url(token), prepared=prepared)
        db.session.commit()
    except IntegrityError as exc:  # the same mobile / e-mail registered at the same moment
        db.session.rollback()
        mobile = check_mobile(str(data.get("mobile"))) if data.get("mobile") else ""
        email = check_email(str(data.get("email"))) if data.get("email") else ""
        raise _duplicate_error(find_duplicate(event.id, mobile, email), mobile, email) from exc
    except BaseException:
        db.session.rollback()
        raise
    return registration, token


def _prepare_ticket(event: Event, pub: Publication) -> PreparedTicket | None:
    """A ticket signed and drawn ahead (:class:`tickets.PreparedTicket`) when this registration will
    most likely be confirmed: automatic approval and, by a read outside the transaction, a free
    event place (or no limit). A guess only — the conditional UPDATE inside decides; a prepared
    ticket that is not used costs CPU but holds no lock."""
    from eventhub.registration.tickets import prepare_ticket

    if pub.approval_mode == ApprovalMode.MODERATED.value:
        return None
    if pub.registration_capacity is not None:
        place = db.session.execute(
            select(RegistrationQuota.used, RegistrationQuota.capacity).where(RegistrationQuota.event_id == event.id, RegistrationQuota.session_id.is_(None))
        ).first()
        if place is not None and place.used >= place.capacity:
            return None  # wait-listed: no ticket
    try:
        return prepare_ticket(event)
    except (InvalidToken, ValueError):  # an undecryptable key (SECRET_KEY changed): decided inside, as before
        return None


def _confirm(registration: Registration, prepared: PreparedTicket | None = None) -> None:
    """Mark confirmed (the places are already taken) and issue the ticket (with the prepared code when usable)."""
    from eventhub.registration.tickets import issue_ticket

    registration.status = CONFIRMED
    registration.confirmed_at = utcnow()
    registration.needs_reapproval = False
    db.session.flush()
    issue_ticket(registration, prepared)


def _release(registration: Registration, reason: str) -> None:
    """Give back a confirmed registration's places and revoke its ticket."""
    from eventhub.registration.tickets import revoke_ticket

    quotas = Quotas(event=None)
    for row in _load_quotas(registration.event_id):
        if row.session_id is None:
            quotas.event = row
        else:
            quotas.sessions[row.session_id] = row
    for row in quotas.for_registration(registration.session_ids or []):
        _give_back(row)
    ticket = registration.ticket
    if ticket is not None and ticket.revoked_at is None:
        revoke_ticket(ticket, reason)


def _lock(registration: Registration) -> Registration:
    """Re-read the registration inside this transaction (row-locked on PostgreSQL)."""
    row = db.session.scalars(select(Registration).where(Registration.id == registration.id).with_for_update().execution_options(populate_existing=True)).one()
    return row


# ---- the waiting list ----------------------------------------------------------------------


def waiting_list(event: Event) -> list[Registration]:
    """Wait-listed registrations in the order they will be promoted."""
    query = select(Registration).where(Registration.event_id == event.id, Registration.status == WAITLISTED)
    return list(db.session.scalars(query.order_by(Registration.waitlisted_at, Registration.id)))


def _promote(event: Event, actor: Any) -> list[Registration]:
    """Promote wait-listed registrations in order while places are free (inside the caller's transaction)."""
    pub = publication(event)
    if pub is None:
        return []
    quotas = _quotas(event, pub)
    promoted: list[Registration] = []
    passed: list[int] = []
    while True:
        query = select(Registration).where(Registration.event_id == event.id, Registration.status == WAITLISTED)
        if passed:
            query = query.where(Registration.id.not_in(passed))
        query = query.order_by(Registration.waitlisted_at, Registration.id).limit(1).with_for_update()
        candidate = db.session.scalars(query.execution_options(populate_existing=True)).first()
        if candidate is None:
            break
        full = _take_all(quotas.for_registration(candidate.session_ids or []))
        if full is not None:
            if full.session_id is None:  # no place in the event: nobody further down gets one either
                break
            passed.append(candidate.id)  # their session is full: keep their rank, try the next one
            continue
        before = audit.snapshot(candidate, ["status"])
        _confirm(candidate)
        audit.record("registration.promote", candidate, before=before, after=audit.snapshot(candidate, ["status"]), actor=actor)
        _mail(candidate, "registration_promoted", f"registration:{candidate.id}:promoted")
        promoted.append(candidate)
    return promoted


def promote_waitlist(event: Event, actor: Any = None, *, commit: bool = True) -> list[Registration]:
    """Fill free places from the waiting list (e.g. after the capacity was raised).

    Commits, unless ``commit`` is False: then it runs inside the caller's transaction (the
    approval of a changed plan, :func:`capacity_changed`), which commits or rolls back the lot.
    """
    if not commit:
        return _promote(event, actor)
    try:
        begin_write()
        promoted = _promote(event, actor)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return promoted


def capacity_changed(event: Event, actor: Any = None) -> list[Registration]:
    """A newly approved plan may change the capacities: resize the quotas, then fill freed places.

    Called by the detailed-plan approval inside its transaction (the caller commits). Raising a
    capacity (event or session) promotes the waiting list in order. Lowering it below the number
    already confirmed takes nobody's place away: ``used`` stays at the confirmed count, above the
    new capacity, so every new registration is wait-listed (or, in moderated mode, stays pending)
    and places freed by cancellations go back to nobody until ``used`` is under the capacity again.
    A session removed from the plan stops limiting anyone (its quota is no longer consulted).
    """
    if publication(event) is None:
        return []
    begin_write()
    sync_quotas(event)
    return promote_waitlist(event, actor, commit=False)


# ---- cancelling --------------------------------------------------------------------------


def cancel(registration: Registration, actor: Any = None) -> list[Registration]:
    """Cancel a registration (by the registrant when ``actor`` is None, else by the host).

    Frees its places, revokes its ticket, mails the person, then promotes the waiting list.
    Returns the promoted registrations. Commits; refuses a registration that is no longer active.
    """
    try:
        begin_write()
        registration = _lock(registration)
        if registration.status not in ACTIVE_STATUSES:
            raise RegistrationError(_("该报名已是“%(status)s”状态，无法取消。", status=_(registration.status_label)))
        before = audit.snapshot(registration, ["status"])
        held = registration.status == CONFIRMED
        if held:
            _release(registration, "cancelled")
        registration.status = CANCELLED
        registration.cancelled_at = utcnow()
        registration.needs_reapproval = False
        db.session.flush()
        audit.record(
            "registration.cancel", registration, before=before, after={"status": CANCELLED, "by": "host" if actor is not None else "registrant"}, actor=actor
        )
        _mail(registration, "registration_cancelled", f"registration:{registration.id}:cancelled", by_host=actor is not None)
        promoted = _promote(registration.event, actor) if held else []
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return promoted


# ---- the host: approve / decline (moderated mode) ------------------------------------------


@dataclass
class ApprovalResult:
    approved: list[Registration] = field(default_factory=list)
    still_pending: list[Registration] = field(default_factory=list)  # no place left
    skipped: list[Registration] = field(default_factory=list)  # not pending nor awaiting re-approval
    messages: list[str] = field(default_factory=list)


def approve(registrations: Iterable[Registration], actor: Any) -> ApprovalResult:
    """Approve pending registrations (taking places) and confirm edits awaiting re-approval. Commits.

    A registration that finds no place stays pending and the result says so (the host may
    raise the capacity or decline).
    """
    result = ApprovalResult()
    try:
        begin_write()
        quotas_by_event: dict[int, tuple[Publication, Quotas]] = {}
        # every row first, then the quotas: the order cancel() uses too, so the two never deadlock
        for registration in [_lock(item) for item in sorted(registrations, key=lambda r: r.id)]:
            if registration.status == CONFIRMED and registration.needs_reapproval:
                registration.needs_reapproval = False
                entry = audit.record("registration.reapprove", registration, before={"needs_reapproval": True}, after={"needs_reapproval": False}, actor=actor)
                db.session.flush()
                _mail(registration, "registration_confirmed", f"registration:{registration.id}:reapproved:{entry.id}", reapproved=True)
                result.approved.append(registration)
                continue
            if registration.status != PENDING:
                result.skipped.append(registration)
                continue
            if registration.event_id not in quotas_by_event:
                pub = open_publication(registration.event)
                quotas_by_event[registration.event_id] = (pub, _quotas(registration.event, pub))
            pub, quotas = quotas_by_event[registration.event_id]
            full = _take_all(quotas.for_registration(registration.session_ids or []))
            if full is not None:
                where = _session_title(pub, full.session_id) if full.session_id is not None else _("活动")
                result.still_pending.append(registration)
                result.messages.append(_("%(name)s：%(where)s名额已满，仍为待审核。", name=registration.name, where=where))
                continue
            _confirm(registration)
            audit.record("registration.approve", registration, before={"status": PENDING}, after={"status": CONFIRMED}, actor=actor)
            _mail(registration, "registration_confirmed", f"registration:{registration.id}:confirmed")
            result.approved.append(registration)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def decline(registrations: Iterable[Registration], note: str, actor: Any) -> list[Registration]:
    """Decline pending registrations, or confirmed ones whose edit awaits re-approval. Commits.

    The note (required, shown to the registrant) says why. A declined confirmed registration
    frees its places and loses its ticket; the waiting list is then promoted.
    """
    note = (note or "").strip()
    if not note:
        raise RegistrationError({"note": _("请填写未通过的原因，报名人会看到这段说明。")})
    if len(note) > NOTE_MAX:
        raise RegistrationError({"note": _("说明最多 %(n)d 个字符（当前 %(m)d 个）。", n=NOTE_MAX, m=len(note))})
    declined: list[Registration] = []
    try:
        begin_write()
        freed: dict[int, Event] = {}
        for registration in [_lock(item) for item in sorted(registrations, key=lambda r: r.id)]:
            if not (registration.status == PENDING or (registration.status == CONFIRMED and registration.needs_reapproval)):
                continue
            before = audit.snapshot(registration, ["status", "host_note"])
            if registration.status == CONFIRMED:
                _release(registration, "declined")
                freed[registration.event_id] = registration.event
            registration.status = DECLINED
            registration.host_note = note
            registration.needs_reapproval = False
            db.session.flush()
            audit.record("registration.decline", registration, before=before, after=audit.snapshot(registration, ["status", "host_note"]), actor=actor)
            _mail(registration, "registration_declined", f"registration:{registration.id}:declined", note=note)
            declined.append(registration)
        for event in freed.values():
            _promote(event, actor)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return declined


# ---- the registrant edits ------------------------------------------------------------------------


def update_answers(registration: Registration, data: Mapping[str, Any]) -> Registration:
    """Change the profile, interests and answers (not mobile, e-mail or sessions). Commits.

    Keys missing from ``data`` keep their value. In moderated mode an edit of an approved
    registration sets ``needs_reapproval``: it goes back to the host, who approves or declines it
    (the ticket stays valid meanwhile).
    """
    try:
        begin_write()
        registration = _lock(registration)
        if registration.status not in ACTIVE_STATUSES:
            raise RegistrationError(_("该报名已是“%(status)s”状态，不能再修改。", status=_(registration.status_label)))
        pub = open_publication(registration.event)
        current = {
            "name": registration.name,
            "organisation": registration.organisation,
            "org_type": registration.org_type,
            "uscc": registration.uscc or "",
            "position": registration.position,
            "need_ids": (registration.interests or {}).get("needs", []),
            "resource_ids": (registration.interests or {}).get("resources", []),
            "answers": registration.answers or {},
        }
        merged = {**current, **{k: v for k, v in data.items() if k in EDITABLE_FIELDS}}
        errors: dict[str, str] = {}
        profile = _clean_profile(merged, errors)
        interests = _clean_interests(merged, pub, errors)
        answers, answer_errors = q.validate_answers(q.active_questions(registration.event), merged["answers"])
        errors.update(answer_errors)
        if errors:
            raise RegistrationError(errors)
        fields = ["name", "organisation", "org_type", "uscc", "position", "interests", "answers"]
        before = audit.snapshot(registration, fields)
        after = {**profile, "interests": interests, "answers": answers}
        if all(before[k] == after[k] for k in fields):
            db.session.rollback()
            return registration
        for key in fields:
            setattr(registration, key, after[key])
        moderated = pub.approval_mode == ApprovalMode.MODERATED.value
        if moderated and registration.status == CONFIRMED:
            registration.needs_reapproval = True
        db.session.flush()
        audit.record("registration.update", registration, before=before, after={**after, "needs_reapproval": registration.needs_reapproval}, actor=None)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return registration


# ---- mail ---------------------------------------------------------------------------------------

TICKET_MAILS = frozenset({"registration_confirmed", "registration_promoted", "registration_ticket_reissued"})


def ticket_attachment(registration: Registration, prepared: PreparedTicket | None = None) -> tuple[str, str, bytes] | None:
    """The valid ticket's QR as a PNG attachment ``ticket-<code>.png`` (None without a valid ticket).

    ``prepared``: the PNG drawn before the transaction (:func:`tickets.prepare_ticket`), used when it
    is this ticket's — the ticket was just issued with its code under the active key.
    """
    from eventhub.registration.tickets import TicketError, prepared_png, qr_png, ticket_payload

    ticket = registration.ticket
    if registration.status != CONFIRMED or ticket is None or ticket.revoked_at is not None:
        return None
    png = prepared_png(ticket, prepared)
    if png is not None:
        return (f"ticket-{ticket.code}.png", "image/png", png)
    try:
        payload = ticket_payload(ticket)
    except TicketError:
        return None
    return (f"ticket-{ticket.code}.png", "image/png", qr_png(payload))


def _link(endpoint: str, token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return external_url(endpoint, token=token)
    except BuildError:
        return None


def _mail(registration: Registration, template: str, key: str, *, prepared: PreparedTicket | None = None, **context: Any) -> None:
    """Queue one keyed registration mail; a confirmation carries the ticket QR (PNG) and the links.

    The private link is rebuilt from :func:`token_for` when the caller has no token at hand
    (promotion, approval, re-issue), so every mail about a ticket points to the private page.
    """
    from eventhub.core.mail import send_mail

    event = registration.event
    pub = publication(event)
    sessions = [s for s in (pub.sessions if pub is not None else []) if s.id in (registration.session_ids or [])]
    token = token_for(registration)
    private_link = context.pop("private_link", None) or (private_url(token) if token else None)
    attachment = ticket_attachment(registration, prepared) if template in TICKET_MAILS else None
    send_mail(
        registration.email,
        template,
        key=key,
        locale=registration.locale,
        attachments=[attachment] if attachment else (),
        registration=registration,
        event=event,
        sessions=sessions,
        status_label=registration.status_label,
        page_url=external_url("events.public_page", event_id=event.id),
        private_link=private_link,
        ticket=registration.ticket if attachment else None,
        ticket_filename=attachment[0] if attachment else None,
        ticket_page=_link("registration.ticket_page", token) if attachment else None,
        **context,
    )


def mail_new_ticket(registration: Registration) -> None:
    """Tell the holder that their ticket was re-issued (key revoked), with the new QR. Caller commits."""
    ticket = registration.ticket
    if ticket is None or ticket.revoked_at is not None:
        return
    _mail(registration, "registration_ticket_reissued", f"registration:{registration.id}:ticket:{ticket.code}")


# ---- the registrant's calendar --------------------------------------------------------------------


def registration_ics(registration: Registration) -> bytes:
    """The theme day and the sessions this person chose, as one ``.ics``.

    Built with the public page's builders (:mod:`eventhub.events.public`) from the approved
    publication only, so the UIDs, SEQUENCEs and the Asia/Shanghai VTIMEZONE are the ones of the
    event and session ``.ics`` files: a calendar that imported either updates the same entries. A
    chosen session the plan no longer has is sent as STATUS:CANCELLED, so calendars drop it.
    """
    event = registration.event
    pub = publication(event)
    now = utcnow()
    cal = pages.new_calendar(event.title)
    cal.add_component(pages.theme_day_vevent(event, now))
    chosen = set(registration.session_ids or [])
    years = [event.start_date.year]
    if pub is not None:
        for session in pub.sessions:
            if session.id in chosen:
                cal.add_component(pages.session_vevent(event, session, cancelled=False, now=now, pub=pub))
                years.append(session.day.year)
        for session in pub.cancelled_sessions:
            if session.id in chosen:
                cal.add_component(pages.session_vevent(event, session, cancelled=True, now=now, pub=pub))
    return pages.finish_calendar(cal, years)
