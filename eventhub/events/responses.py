"""Answers to technology needs (揭榜): an organisation answers a published need, the host decides.

The respondent has no account. On submission they get a private link ``/responses/<token>``:
the token is 32 random bytes (``secrets.token_urlsafe``), only its SHA-256 is stored, and the
page is found by that hash, so neither the database nor a guess reveals another answer.

Rules kept here (views only parse and render):

* an answer is accepted only for a need of the *approved* publication whose deadline has not
  passed (Beijing time, checked on the server) — a draft need cannot be answered;
* one answer per organisation (统一社会信用代码) per need — the unique constraint backs the check
  against two simultaneous submissions;
* the attachment is stored only if the row is written: on any database failure the file is removed;
* the host shortlists or declines (declining requires a note, shown to the respondent); every
  change is audited and mailed once, keyed by its audit entry.
"""

from __future__ import annotations

import hmac
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from eventhub.core import audit
from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import format_local, utcnow
from eventhub.core.tokens import hash_token, new_token
from eventhub.core.uploads import DOCUMENT_KINDS, StoredFile, UploadError, check_upload, path_of, read_limited, save_bytes
from eventhub.core.urls import external_url
from eventhub.core.validators import check_email, check_mobile, check_uscc, mask_mobile
from eventhub.core.wordcount import count_zishu
from eventhub.events.content import PublicNeed, from_snapshot, publication
from eventhub.events.models import Event, ResponseStatus, TechNeed, TechNeedResponse
from eventhub.events.public import need_is_open, response_deadline
from eventhub.extensions import db

# ---- limits (the form, the service and the tests read these) ----------------------------
ORG_NAME_MIN, ORG_NAME_MAX = 2, 100  # characters
CONTACT_NAME_MIN, CONTACT_NAME_MAX = 2, 50
PROPOSAL_MIN_ZISHU, PROPOSAL_MAX_ZISHU = 50, 1500  # 字数 (eventhub.core.wordcount)
PROPOSAL_MAX_CHARS = 15000  # a cap on raw characters too (1500 English words of 9 letters stay below)
NOTE_MAX = 500  # the host's note, characters
ATTACHMENT_KINDS = DOCUMENT_KINDS  # PDF, DOCX, XLSX, PNG, JPEG — judged by content, ≤ UPLOAD_MAX_BYTES
RATE_LIMIT = "5 per minute; 30 per hour"  # answer POSTs per client IP (config NEED_RESPONSE_RATE_LIMIT)
TOKEN_BYTES = 32  # entropy of the private link
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32) is 43 characters

DECISIONS = {"shortlist": ResponseStatus.SHORTLISTED, "decline": ResponseStatus.DECLINED}
ACTION_LABELS = {
    "need_response.submit": "提交响应",
    "need_response.shortlist": "标记为入围",
    "need_response.decline": "标记为未入选",
}


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class ResponseError(ValueError):
    """An answer or a decision was refused; ``errors`` maps form fields to Chinese messages."""

    def __init__(self, errors: Mapping[str, str] | str, *, duplicate: bool = False, closed: bool = False) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        self.duplicate = duplicate
        self.closed = closed
        super().__init__("；".join(self.errors.values()))


@dataclass(frozen=True)
class ResponseInput:
    """What the respondent typed (raw strings; :func:`clean_input` normalises and checks)."""

    org_name: str
    uscc: str
    contact_name: str
    contact_mobile: str
    contact_email: str
    proposal: str
    consent: bool


# ---- tokens ---------------------------------------------------------------------------


def find_by_token(token: str) -> TechNeedResponse | None:
    """The answer whose private link carries ``token`` (``None`` for anything else).

    The lookup is by SHA-256, whose value an attacker cannot steer, and the stored hash is
    compared again in constant time, so timing reveals nothing about other answers' links.
    """
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    row = db.session.scalar(select(TechNeedResponse).where(TechNeedResponse.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


def status_url(token: str) -> str:
    return external_url("events.response_status", token=token)


# ---- what may be answered ----------------------------------------------------------------


def open_need(event: Event, need_id: int, at: datetime | None = None) -> PublicNeed:
    """The published need ``need_id`` of ``event`` if answers are accepted now, else :class:`ResponseError`.

    A need that is not in the approved publication raises ``LookupError`` (the view answers 404).
    """
    pub = publication(event)
    need = pub.need(need_id) if pub is not None else None
    if need is None or db.session.get(TechNeed, need_id) is None:
        raise LookupError(need_id)
    if not need_is_open(event, need, at):
        raise ResponseError(
            _("该需求的揭榜已于 %(when)s（北京时间）截止，不再接受响应。", when=format_local(response_deadline(event, need))),
            closed=True,
        )
    return need


def published_need(response: TechNeedResponse) -> PublicNeed | None:
    """The need as the public last saw it approved (never the host's working copy).

    The current publication when it still lists the need; else the newest approved version
    that did (the need was removed later, or the event was withdrawn).
    """
    event = response.event
    pub = publication(event)
    if pub is not None and pub.need(response.need_id) is not None:
        return pub.need(response.need_id)
    plan = getattr(event, "detail_plan", None)
    for version in reversed(plan.versions if plan is not None else []):
        if version.decision != "approved":
            continue
        need = from_snapshot(version.number, version.snapshot).need(response.need_id)
        if need is not None:
            return need
    return None


# ---- submitting ------------------------------------------------------------------------


def _length_error(label: str, value: str, low: int, high: int) -> str | None:
    if not value:
        return _("请填写%(label)s。", label=label)
    if len(value) < low:
        return _("%(label)s至少 %(n)d 个字符。", label=label, n=low)
    if len(value) > high:
        return _("%(label)s最多 %(n)d 个字符（当前 %(m)d 个）。", label=label, n=high, m=len(value))
    return None


def proposal_error(text: str) -> str | None:
    """The 字数 rule of the proposal (the same message on the form and in the service)."""
    n = count_zishu(text)
    if n == 0:
        return _("请填写方案概述。")
    if n < PROPOSAL_MIN_ZISHU:
        return _("方案概述至少 %(min)d 字，当前 %(n)d 字。", min=PROPOSAL_MIN_ZISHU, n=n)
    if n > PROPOSAL_MAX_ZISHU:
        return _("方案概述最多 %(max)d 字，当前 %(n)d 字。", max=PROPOSAL_MAX_ZISHU, n=n)
    if len(text) > PROPOSAL_MAX_CHARS:
        return _("方案概述过长：最多 %(max)d 个字符（含空格），当前 %(n)d 个。", max=PROPOSAL_MAX_CHARS, n=len(text))
    return None


def clean_input(data: ResponseInput) -> ResponseInput:
    """Normalise and check every field; raise :class:`ResponseError` with all field errors at once."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    org = " ".join((data.org_name or "").split())
    if error := _length_error(_("单位名称"), org, ORG_NAME_MIN, ORG_NAME_MAX):
        errors["org_name"] = error
    cleaned["org_name"] = org
    for name, check, label in (
        ("uscc", check_uscc, _("统一社会信用代码")),
        ("contact_mobile", check_mobile, _("手机号码")),
        ("contact_email", check_email, _("电子邮箱")),
    ):
        raw = (getattr(data, name) or "").strip()
        if not raw:
            errors[name] = _("请填写%(label)s。", label=label)
            cleaned[name] = raw
            continue
        try:
            cleaned[name] = check(raw)
        except ValueError as exc:
            errors[name] = str(exc)
            cleaned[name] = raw
    contact = " ".join((data.contact_name or "").split())
    if error := _length_error(_("联系人姓名"), contact, CONTACT_NAME_MIN, CONTACT_NAME_MAX):
        errors["contact_name"] = error
    cleaned["contact_name"] = contact
    proposal = (data.proposal or "").strip()
    if error := proposal_error(proposal):
        errors["proposal"] = error
    cleaned["proposal"] = proposal
    if not data.consent:
        errors["consent"] = _("请阅读并勾选同意后再提交。")
    cleaned["consent"] = bool(data.consent)
    if errors:
        raise ResponseError(errors)
    return ResponseInput(**cleaned)


def _mask_email(address: str) -> str:
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _duplicate_error(existing: TechNeedResponse | None) -> ResponseError:
    where = _mask_email(existing.contact_email) if existing is not None else ""
    message = _("该单位（同一统一社会信用代码）已响应过此需求，每家单位只能提交一次。")
    if where:
        message += _("查看进度请使用提交时发送到 %(email)s 的专属链接。", email=where)
    return ResponseError({"uscc": message}, duplicate=True)


def find_duplicate(need_id: int, uscc: str) -> TechNeedResponse | None:
    return db.session.scalar(select(TechNeedResponse).where(TechNeedResponse.need_id == need_id, TechNeedResponse.uscc == uscc))


def submit_response(event: Event, need_id: int, data: ResponseInput, attachment: Any = None, *, locale: str = "zh_Hans_CN") -> tuple[TechNeedResponse, str]:
    """Write one answer with its attachment and the receipt mail, in one transaction; return (row, token).

    Commits. Raises :class:`ResponseError` (field errors, closed need, duplicate organisation)
    or ``LookupError`` (the need is not published). Nothing is stored when it raises: the
    attachment's file is removed again if the database refuses the row.
    """
    open_need(event, need_id)
    errors: dict[str, str] = {}
    try:
        clean = clean_input(data)
    except ResponseError as exc:
        errors.update(exc.errors)
    upload: tuple[bytes, str] | None = None
    if attachment is not None and getattr(attachment, "filename", ""):
        content = read_limited(attachment.stream)
        try:
            check_upload(content, attachment.filename, ATTACHMENT_KINDS)
            upload = (content, attachment.filename)
        except UploadError as exc:
            errors["attachment"] = str(exc)
    if errors:
        raise ResponseError(errors)
    existing = find_duplicate(need_id, clean.uscc)
    if existing is not None:
        raise _duplicate_error(existing)

    stored = save_bytes(*upload, kinds=ATTACHMENT_KINDS) if upload is not None else None
    token = new_token()
    response = TechNeedResponse(
        need_id=need_id,
        event_id=event.id,
        org_name=clean.org_name,
        uscc=clean.uscc,
        contact_name=clean.contact_name,
        contact_mobile=clean.contact_mobile,
        contact_email=clean.contact_email,
        proposal=clean.proposal,
        attachment=stored,
        status=ResponseStatus.SUBMITTED.value,
        token_hash=hash_token(token),
        locale=locale,
    )
    try:
        db.session.add(response)
        db.session.flush()
        audit.record("need_response.submit", response, after={"need_id": need_id, "org_name": clean.org_name, "uscc": clean.uscc}, actor=None)
        _mail_received(response, token)
        db.session.commit()
    except IntegrityError as exc:  # the same organisation submitted twice at the same moment
        db.session.rollback()
        _remove_file(stored)
        raise _duplicate_error(find_duplicate(need_id, clean.uscc)) from exc
    except BaseException:
        db.session.rollback()
        _remove_file(stored)
        raise
    return response, token


def _remove_file(stored: StoredFile | None) -> None:
    if stored is not None:
        path_of(stored).unlink(missing_ok=True)


def _mail_received(response: TechNeedResponse, token: str) -> None:
    from eventhub.core.mail import send_mail

    send_mail(
        response.contact_email,
        "need_response_received",
        key=f"need-response:{response.id}:received",
        locale=response.locale,
        response=response,
        need=published_need(response),
        event=response.event,
        status_url=status_url(token),
        page_url=external_url("events.public_page", event_id=response.event_id),
        submitted_at=format_local(response.created_at or utcnow()),
    )


# ---- the host's side -----------------------------------------------------------------------


@dataclass(frozen=True)
class NeedSummary:
    need: TechNeed
    published: bool
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def need_summaries(event: Event) -> list[NeedSummary]:
    """Every need of the event (working copy and answered ones) with answer counts by status."""
    pub = publication(event)
    published_ids = {n.id for n in pub.needs} if pub is not None else set()
    needs = list(db.session.scalars(select(TechNeed).where(TechNeed.event_id == event.id).order_by(TechNeed.position, TechNeed.id)))
    rows = db.session.execute(
        select(TechNeedResponse.need_id, TechNeedResponse.status, func.count())
        .where(TechNeedResponse.event_id == event.id)
        .group_by(TechNeedResponse.need_id, TechNeedResponse.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for need_id, status, n in rows:
        counts.setdefault(need_id, {})[status] = n
    return [NeedSummary(n, n.id in published_ids, {s.value: counts.get(n.id, {}).get(s.value, 0) for s in ResponseStatus}) for n in needs]


def responses_query(need: TechNeed, *, q: str = "", status: str = "") -> Any:
    """The answers to ``need``, newest first, filtered by text (organisation, code, contact) and status."""
    query = select(TechNeedResponse).where(TechNeedResponse.need_id == need.id)
    if status in {s.value for s in ResponseStatus}:
        query = query.where(TechNeedResponse.status == status)
    q = q.strip()
    if q:
        query = query.where(
            or_(
                TechNeedResponse.org_name.icontains(q, autoescape=True),
                TechNeedResponse.uscc.icontains(q, autoescape=True),
                TechNeedResponse.contact_name.icontains(q, autoescape=True),
            )
        )
    return query.order_by(TechNeedResponse.created_at.desc(), TechNeedResponse.id.desc())


def decide(response: TechNeedResponse, decision: str, note: str, actor: Any) -> bool:
    """Shortlist or decline an answer with a note; audited and mailed once. Returns False when nothing changed.

    Declining requires a note (the respondent is told why). Caller commits.
    """
    if decision not in DECISIONS:
        raise ResponseError({"decision": _("请选择“入围”或“未入选”。")})
    status = DECISIONS[decision]
    note = (note or "").strip()
    if status is ResponseStatus.DECLINED and not note:
        raise ResponseError({"note": _("选择“未入选”时请填写说明，响应单位会看到这段说明。")})
    if len(note) > NOTE_MAX:
        raise ResponseError({"note": _("说明最多 %(n)d 个字符（当前 %(m)d 个）。", n=NOTE_MAX, m=len(note))})
    if response.status == status.value and response.host_note == note:
        return False
    before = audit.snapshot(response, ["status", "host_note"])
    response.status = status.value
    response.host_note = note
    response.decided_at = utcnow()
    response.decided_by_id = getattr(actor, "id", None)
    entry = audit.record(f"need_response.{decision}", response, before=before, after=audit.snapshot(response, ["status", "host_note"]), actor=actor)
    db.session.flush()
    from eventhub.core.mail import send_mail

    send_mail(
        response.contact_email,
        "need_response_status",
        key=f"need-response:{response.id}:status:{entry.id}",
        locale=response.locale,
        response=response,
        need=published_need(response),
        event=response.event,
        status_label=response.status_label,
        note=note,
        page_url=external_url("events.public_page", event_id=response.event_id),
    )
    return True


# ---- export ---------------------------------------------------------------------------------

EXPORT_HEADER = [
    "编号",
    "提交时间（北京时间）",
    "单位名称",
    "统一社会信用代码",
    "联系人",
    "手机",
    "电子邮箱",
    "方案字数",
    "方案概述",
    "附件",
    "状态",
    "承办方说明",
    "处理时间（北京时间）",
]


def export_xlsx(need: TechNeed, responses: list[TechNeedResponse]) -> bytes:
    """The answers to one need in one sheet (full contacts: the export is for the host only)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "揭榜响应"
    sheet.append(EXPORT_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in responses:
        values = [
            r.id,
            format_local(r.created_at),
            r.org_name,
            r.uscc,
            r.contact_name,
            r.contact_mobile,
            r.contact_email,
            count_zishu(r.proposal),
            r.proposal,
            r.attachment.original_name if r.attachment else "",
            r.status_label,
            r.host_note,
            format_local(r.decided_at),
        ]
        sheet.append([_safe_cell(v) for v in values])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["I"].width = 60
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def masked(response: TechNeedResponse) -> str:
    return mask_mobile(response.contact_mobile)
