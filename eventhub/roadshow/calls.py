"""项目征集: an event's call for road-show projects, the applications and the host's screening.

Rules kept here (views only parse and render):

* one call per event; it is open from ``opens_at`` until ``closes_at`` inclusive, to the second
  (Beijing time is only how the host types and reads it; both are stored as UTC and checked on
  the server with ``core.timeutil.is_on_time``);
* an application is checked field by field (:mod:`eventhub.roadshow.project_fields`, shared with
  competition entries) plus what depends on the call: the technology needs it answers (the
  *approved* plan's needs), the times the presenter cannot make (within the event's days) and the
  pitch deck (a PDF by content, at most ``UPLOAD_MAX_BYTES``);
* one application per contact mobile and project name per call — the unique constraint backs
  the check against two simultaneous submissions; the refusal points to the private link;
* the applicant has no account: the private link ``/projects/<token>`` carries 32 random bytes,
  only their SHA-256 is stored (as ``events.responses`` does);
* the applicant edits until the call closes; an application the host sent back for changes may
  be edited even after the close, and editing it returns it to “submitted”;
* the host shortlists, declines (reason required) or asks for changes (note required); each
  change is audited and mailed exactly once (keyed by its audit entry);
* the optional pre-screen is a round of the shared judging engine (key ``roadshow-prescreen:<call>``)
  whose items point at the applications (``ref_type`` ``roadshow_application``).
"""

from __future__ import annotations

import hmac
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from eventhub.core import audit
from eventhub.core.permissions import can_view_event_private
from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import SHANGHAI, as_utc, format_local, is_on_time, local_to_utc, utcnow
from eventhub.core.tokens import hash_token, new_token
from eventhub.core.uploads import PDF_ONLY, StoredFile, UploadError, check_upload, path_of, read_limited, save_bytes
from eventhub.core.urls import external_url
from eventhub.core.wordcount import count_zishu
from eventhub.events.content import Publication, publication
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.roadshow.models import APPLICATION_STATUS_LABELS, PROJECT_STAGE_LABELS, ApplicationStatus, ProjectApplication, ProjectCall
from eventhub.roadshow.project_fields import clean_project_fields, clean_unavailable, unavailable_rows

# ---- limits and names (forms, views and tests read these) -------------------------------------
INTRO_MAX = 3000  # characters
FIELD_MAX = 100
FIELDS_MAX = 30
SUMMARY_LIMIT_MAX = 5000  # the highest 字数 maximum a host may set
NOTE_MAX = 1000  # the host's reason / requested changes
NEEDS_MAX = 10  # technology needs one application may answer
DECK_KINDS = PDF_ONLY
RATE_LIMIT = "5 per minute; 30 per hour"  # application POSTs per client IP (config ROADSHOW_CALL_RATE_LIMIT)
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32) is 43 characters
REF_TYPE = "roadshow_application"  # the judging engine's reference to an application
PRESCREEN_KEY = "roadshow-prescreen:{call_id}"
EDITABLE = (ApplicationStatus.SUBMITTED.value, ApplicationStatus.CHANGES_REQUESTED.value)
WITHDRAWABLE = (ApplicationStatus.SUBMITTED.value, ApplicationStatus.CHANGES_REQUESTED.value, ApplicationStatus.SHORTLISTED.value)

# 预审 default rubric: (name, weight, guidance) as the engine takes it; the organiser may edit it before scoring starts.
PRESCREEN_CRITERIA: list[tuple[str, float, str]] = [
    ("技术创新性", 1.0, "技术是否新颖、有自主知识产权或明显的技术壁垒；与现有方案相比的改进是否清楚、可验证。"),
    ("市场前景", 1.0, "目标市场是否明确、规模可观；商业模式是否清楚；已有客户、订单或收入得高分。"),
    ("团队能力", 1.0, "核心团队的专业背景、分工与执行力；是否具备把项目做成的关键能力。"),
    ("与产业链契合度", 1.0, "项目与承办基地产业链、供应链及所发布技术需求的契合程度，是否有望在活动中促成合作。"),
]

SCREENING = {
    "shortlist": ApplicationStatus.SHORTLISTED,
    "decline": ApplicationStatus.DECLINED,
    "request_changes": ApplicationStatus.CHANGES_REQUESTED,
}
SCREENING_MAIL = {
    "shortlist": "roadshow_shortlisted",
    "decline": "roadshow_declined",
    "request_changes": "roadshow_changes_requested",
}
ACTION_LABELS = {
    "roadshow_call.save": "保存项目征集设置",
    "roadshow_call.prescreen": "送专家预审",
    "roadshow_call.export": "导出申报项目",
    "roadshow_application.submit": "提交申报",
    "roadshow_application.update": "修改申报",
    "roadshow_application.withdraw": "撤回申报",
    "roadshow_application.shortlist": "入围",
    "roadshow_application.decline": "未入围",
    "roadshow_application.request_changes": "要求修改",
}
# What an applicant's edit may change (the audit compares these).
AUDITED_FIELDS = [
    "org_name",
    "org_type",
    "uscc",
    "contact_name",
    "contact_mobile",
    "contact_email",
    "presenters",
    "project_name",
    "field",
    "stage",
    "seeking",
    "summary",
    "need_ids",
    "unavailable",
    "deck_file_id",
    "status",
]


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class CallError(ValueError):
    """A setting, an application or a screening step was refused; ``errors`` maps form fields to Chinese messages.

    ``closed``: the call is not accepting applications now; ``duplicate``: the same contact mobile
    already applied with this project name (``existing``).
    """

    def __init__(self, errors: Mapping[str, str] | str, *, closed: bool = False, duplicate: bool = False, existing: ProjectApplication | None = None) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        self.closed = closed
        self.duplicate = duplicate
        self.existing = existing
        super().__init__("；".join(self.errors.values()))


# ---- the call ----------------------------------------------------------------------------------


def get_call(event: Event) -> ProjectCall | None:
    return db.session.scalar(select(ProjectCall).where(ProjectCall.event_id == event.id))


def event_days(event: Event) -> list[date]:
    """The event's Beijing calendar days (``end_date`` inclusive)."""
    return [event.start_date + timedelta(days=i) for i in range((event.end_date - event.start_date).days + 1)]


def need_fields(pub: Publication | None) -> list[str]:
    """The distinct fields of the approved plan's technology needs, in their order."""
    seen: list[str] = []
    for need in pub.needs if pub is not None else []:
        if need.field and need.field not in seen:
            seen.append(need.field)
    return seen


def call_state(call: ProjectCall | None, at: datetime | None = None) -> str:
    """``"none"`` (no call), ``"not_open"``, ``"open"`` or ``"closed"`` at ``at`` (default now)."""
    if call is None:
        return "none"
    at = as_utc(at or utcnow())
    if at < as_utc(call.opens_at):
        return "not_open"
    return "open" if is_on_time(call.closes_at, at) else "closed"


def is_open(call: ProjectCall | None, at: datetime | None = None) -> bool:
    return call_state(call, at) == "open"


def _parse_local(value: Any) -> datetime | None:
    """A Beijing wall-clock time typed as ``YYYY-MM-DDTHH:MM[:SS]`` (or a datetime) as aware UTC."""
    if isinstance(value, datetime):
        return local_to_utc(value)
    text = str(value or "").strip().replace(" ", "T")
    if not text:
        return None
    try:
        return local_to_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def _clean_fields_list(raw: Any) -> list[str]:
    items = raw if isinstance(raw, (list, tuple)) else str(raw or "").replace("，", ",").replace("、", ",").replace("\n", ",").split(",")
    out: list[str] = []
    for item in items:
        name = " ".join(str(item or "").split())
        if name and name not in out:
            out.append(name)
    return out


def save_call(event: Event, data: Mapping[str, Any], actor: Any) -> ProjectCall:
    """Open or reconfigure the event's call (caller commits).

    ``data``: ``opens_at`` / ``closes_at`` (Beijing wall clock, string or naive datetime),
    ``intro``, ``fields`` (a list: chosen need fields plus free entries), ``summary_min`` /
    ``summary_max`` (字). The call must close before the event starts (the schedule is made from
    the applications). Raises :class:`CallError` with every field error at once.
    """
    errors: dict[str, str] = {}
    opens_at, closes_at = _parse_local(data.get("opens_at")), _parse_local(data.get("closes_at"))
    if opens_at is None:
        errors["opens_at"] = _("请填写开始征集时间（北京时间）。")
    if closes_at is None:
        errors["closes_at"] = _("请填写截止时间（北京时间）。")
    if opens_at and closes_at and closes_at <= opens_at:
        errors["closes_at"] = _("截止时间应晚于开始时间。")
    event_start = datetime.combine(event.start_date, datetime.min.time(), tzinfo=SHANGHAI)
    if closes_at and closes_at >= event_start:
        errors["closes_at"] = _("截止时间应早于活动开始（%(day)s 00:00，北京时间），以便安排路演日程。", day=event.start_date.isoformat())
    intro = str(data.get("intro") or "").strip().replace("\r\n", "\n")
    if len(intro) > INTRO_MAX:
        errors["intro"] = _("征集说明最多 %(n)d 个字符（当前 %(m)d 个）。", n=INTRO_MAX, m=len(intro))
    fields = _clean_fields_list(data.get("fields"))
    if not fields:
        errors["fields"] = _("请至少选择或填写一个技术领域。")
    elif len(fields) > FIELDS_MAX:
        errors["fields"] = _("技术领域最多 %(n)d 个。", n=FIELDS_MAX)
    elif any(len(f) > FIELD_MAX for f in fields):
        errors["fields"] = _("每个技术领域最多 %(n)d 个字符。", n=FIELD_MAX)
    limits: dict[str, int] = {}
    for key, label in (("summary_min", _("简介最少字数")), ("summary_max", _("简介最多字数"))):
        try:
            limits[key] = int(str(data.get(key) or "").strip())
        except ValueError:
            errors[key] = _("请填写%(label)s（整数）。", label=label)
            continue
        if not 1 <= limits[key] <= SUMMARY_LIMIT_MAX:
            errors[key] = _("%(label)s应在 1–%(max)d 之间。", label=label, max=SUMMARY_LIMIT_MAX)
    if "summary_min" in limits and "summary_max" in limits and limits["summary_min"] > limits["summary_max"] and "summary_max" not in errors:
        errors["summary_max"] = _("最多字数不能小于最少字数。")
    if errors:
        raise CallError(errors)
    call = get_call(event)
    fields_list = ["intro", "fields", "opens_at", "closes_at", "summary_min", "summary_max"]
    before = audit.snapshot(call, fields_list) if call is not None else None
    if call is None:
        call = ProjectCall(event_id=event.id)
        db.session.add(call)
    call.intro, call.fields, call.opens_at, call.closes_at = intro, fields, opens_at, closes_at
    call.summary_min, call.summary_max = limits["summary_min"], limits["summary_max"]
    db.session.flush()
    audit.record("roadshow_call.save", call, before=before, after=audit.snapshot(call, fields_list), actor=actor)
    return call


# ---- tokens -------------------------------------------------------------------------------------


def find_by_token(token: str) -> ProjectApplication | None:
    """The application whose private link carries ``token`` (``None`` for anything else, in constant time)."""
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    row = db.session.scalar(select(ProjectApplication).where(ProjectApplication.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


def private_url(token: str) -> str:
    return external_url("roadshow.private_page", token=token)


def call_url(event_id: int) -> str:
    return external_url("roadshow.call_page", event_id=event_id)


# ---- applying -----------------------------------------------------------------------------------


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, (list, tuple, set)) else ([] if value in (None, "") else [value])
    out: list[int] = []
    for item in items:
        try:
            number = int(item)
        except (TypeError, ValueError):
            number = -1  # reported as an unknown choice
        if number not in out:
            out.append(number)
    return out


def _read_deck(files: Mapping[str, Any] | None, errors: dict[str, str], *, required: bool) -> tuple[bytes, str] | None:
    deck = (files or {}).get("deck")
    if deck is None or not getattr(deck, "filename", ""):
        if required:
            errors["deck"] = _("请上传路演材料（PDF，不超过 20 MB）。")
        return None
    content = read_limited(deck.stream)
    try:
        check_upload(content, deck.filename, DECK_KINDS)
    except UploadError as exc:
        errors["deck"] = str(exc)
        return None
    return content, deck.filename


def clean_application(
    call: ProjectCall, data: Mapping[str, Any], files: Mapping[str, Any] | None, *, deck_required: bool
) -> tuple[dict[str, Any], tuple[bytes, str] | None]:
    """Every field of an application checked at once; raise :class:`CallError` with all field errors."""
    values, errors = clean_project_fields(data, fields=list(call.fields or []), summary_min=call.summary_min, summary_max=call.summary_max)
    pub = publication(call.event)
    known = {n.id for n in pub.needs} if pub is not None else set()
    need_ids = _ids(data.get("need_ids"))
    if any(i not in known for i in need_ids):
        errors["need_ids"] = _("所选技术需求不在本活动已发布的需求中，请重新选择。")
    elif len(need_ids) > NEEDS_MAX:
        errors["need_ids"] = _("最多选择 %(n)d 项技术需求。", n=NEEDS_MAX)
    values["need_ids"] = sorted(i for i in need_ids if i in known)
    unavailable, unavailable_errors = clean_unavailable(list(data.get("unavailable") or []), event_days(call.event))
    errors.update(unavailable_errors)
    values["unavailable"] = unavailable
    deck = _read_deck(files, errors, required=deck_required)
    if errors:
        raise CallError(errors)
    return values, deck


def find_duplicate(call: ProjectCall, contact_mobile: str, project_name: str, *, exclude_id: int | None = None) -> ProjectApplication | None:
    query = select(ProjectApplication).where(
        ProjectApplication.call_id == call.id, ProjectApplication.contact_mobile == contact_mobile, ProjectApplication.project_name == project_name
    )
    if exclude_id is not None:
        query = query.where(ProjectApplication.id != exclude_id)
    return db.session.scalar(query)


def _mask_email(address: str) -> str:
    local, _sep, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _duplicate_error(existing: ProjectApplication | None) -> CallError:
    message = _("该联系人手机号码已申报过同名项目，同一项目只能申报一次。")
    if existing is not None:
        message += _("查看或修改请使用提交时发送到 %(email)s 的专属链接。", email=_mask_email(existing.contact_email))
    return CallError({"project_name": message}, duplicate=True, existing=existing)


def _remove_file(stored: StoredFile | None) -> None:
    if stored is not None:
        path_of(stored).unlink(missing_ok=True)


def _closed_error(call: ProjectCall, at: datetime) -> CallError:
    if call_state(call, at) == "not_open":
        return CallError(_("项目征集将于 %(when)s（北京时间）开始，暂不接受申报。", when=format_local(call.opens_at, "%Y-%m-%d %H:%M:%S")), closed=True)
    return CallError(_("项目征集已于 %(when)s（北京时间）截止，不再接受申报。", when=format_local(call.closes_at, "%Y-%m-%d %H:%M:%S")), closed=True)


def submit_application(
    call: ProjectCall, data: Mapping[str, Any], files: Mapping[str, Any] | None, now: datetime | None = None, *, locale: str | None = None
) -> tuple[ProjectApplication, str]:
    """Write one application with its deck and the receipt mail in one transaction; return (row, token).

    Commits. ``data`` is the :mod:`project_fields` input shape plus ``need_ids`` and
    ``unavailable`` (rows ``{"date", "start", "end"}``); ``files["deck"]`` is the PDF upload.
    Raises :class:`CallError` (field errors, closed call, duplicate); nothing is stored then.
    """
    now = now or utcnow()
    if not is_open(call, now) or publication(call.event) is None:
        raise _closed_error(call, now)
    values, deck = clean_application(call, data, files, deck_required=True)
    existing = find_duplicate(call, values["contact_mobile"], values["project_name"])
    if existing is not None:
        raise _duplicate_error(existing)
    stored: StoredFile | None = None
    token = new_token()
    try:
        stored = save_bytes(*deck, kinds=DECK_KINDS) if deck is not None else None
        application = ProjectApplication(
            call_id=call.id, event_id=call.event_id, status=ApplicationStatus.SUBMITTED.value, token_hash=hash_token(token), locale=locale, **values
        )
        application.deck_file = stored
        db.session.add(application)
        db.session.flush()
        audit.record(
            "roadshow_application.submit",
            application,
            after={"call_id": call.id, "org_name": values["org_name"], "project_name": values["project_name"], "contact_mobile": values["contact_mobile"]},
            actor=None,
        )
        _mail(application, "roadshow_received", f"roadshow-application:{application.id}:received", status_url=private_url(token))
        db.session.commit()
    except IntegrityError as exc:  # the same mobile and project at the same moment
        db.session.rollback()
        _remove_file(stored)
        raise _duplicate_error(find_duplicate(call, values["contact_mobile"], values["project_name"])) from exc
    except BaseException:
        db.session.rollback()
        _remove_file(stored)
        raise
    return application, token


def can_edit(application: ProjectApplication, at: datetime | None = None) -> bool:
    """Editable while the call is open (not after a decision), and whenever the host asked for changes."""
    if application.status == ApplicationStatus.CHANGES_REQUESTED.value:
        return True
    return application.status in EDITABLE and is_open(application.call, at)


def can_withdraw(application: ProjectApplication) -> bool:
    return application.status in WITHDRAWABLE


def form_values(application: ProjectApplication) -> dict[str, Any]:
    """The stored application in the input shape (to pre-fill the edit form)."""
    values = {key: getattr(application, key) for key in ("org_name", "org_type", "uscc", "contact_name", "contact_mobile", "contact_email")}
    values.update({key: getattr(application, key) for key in ("project_name", "field", "stage", "seeking", "summary")})
    values["presenters"] = [dict(p) for p in application.presenters or []]
    values["need_ids"] = list(application.need_ids or [])
    values["unavailable"] = unavailable_rows(application.unavailable)
    return values


def update_application(application: ProjectApplication, data: Mapping[str, Any], files: Mapping[str, Any] | None, now: datetime | None = None) -> bool:
    """The applicant's edit (a new deck is optional: the old one is kept). Commits; returns False when nothing changed.

    An application the host sent back for changes returns to “submitted”.
    """
    now = now or utcnow()
    call = application.call
    if not can_edit(application, now):
        if application.status not in EDITABLE:
            raise CallError(_("该申报当前状态为“%(status)s”，不能再修改。", status=_(application.status_label)))
        raise _closed_error(call, now)
    values, deck = clean_application(call, data, files, deck_required=False)
    existing = find_duplicate(call, values["contact_mobile"], values["project_name"], exclude_id=application.id)
    if existing is not None:
        raise _duplicate_error(existing)
    before = audit.snapshot(application, AUDITED_FIELDS)
    stored: StoredFile | None = None
    old_deck = application.deck_file
    try:
        for key, value in values.items():
            setattr(application, key, value)
        if deck is not None:
            stored = save_bytes(*deck, kinds=DECK_KINDS)
            application.deck_file = stored
        if application.status == ApplicationStatus.CHANGES_REQUESTED.value:
            application.status = ApplicationStatus.SUBMITTED.value
        db.session.flush()
        after = audit.snapshot(application, AUDITED_FIELDS)
        if before == after:
            db.session.rollback()
            return False
        changed = [k for k in AUDITED_FIELDS if before.get(k) != after.get(k)]
        audit.record(
            "roadshow_application.update",
            application,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            actor=None,
        )
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        _remove_file(stored)
        raise _duplicate_error(find_duplicate(call, values["contact_mobile"], values["project_name"], exclude_id=application.id)) from exc
    except BaseException:
        db.session.rollback()
        _remove_file(stored)
        raise
    if stored is not None and old_deck is not None:
        _remove_file(old_deck)  # the old deck's row stays (SET NULL semantics); its bytes are no longer needed
    return True


def withdraw(application: ProjectApplication, now: datetime | None = None) -> bool:
    """The applicant withdraws (also after shortlisting); audited and confirmed by mail once. Commits."""
    if application.status == ApplicationStatus.WITHDRAWN.value:
        return False
    if not can_withdraw(application):
        raise CallError(_("该申报当前状态为“%(status)s”，不能撤回。", status=_(application.status_label)))
    before = audit.snapshot(application, ["status"])
    application.status = ApplicationStatus.WITHDRAWN.value
    db.session.flush()
    audit.record("roadshow_application.withdraw", application, before=before, after={"status": application.status}, actor=None)
    _mail(application, "roadshow_withdrawn", f"roadshow-application:{application.id}:withdrawn")
    db.session.commit()
    return True


# ---- the host's screening ----------------------------------------------------------------------


def screen(application: ProjectApplication, action: str, note: str, actor: Any) -> bool:
    """Shortlist, decline (reason required) or ask for changes (note required). Caller commits.

    Audited and mailed once per change (the mail key names the audit entry); returns False and
    sends nothing when the status and note are unchanged.
    """
    if action not in SCREENING:
        raise CallError({"action": _("请选择“入围”“未入围”或“要求修改”。")})
    status = SCREENING[action]
    note = (note or "").strip().replace("\r\n", "\n")
    if application.status == ApplicationStatus.WITHDRAWN.value:
        raise CallError(_("申报方已撤回该项目，不能再处理。"))
    if status is ApplicationStatus.DECLINED and not note:
        raise CallError({"note": _("选择“未入围”时请填写原因，申报方会看到这段说明。")})
    if status is ApplicationStatus.CHANGES_REQUESTED and not note:
        raise CallError({"note": _("要求修改时请写明需要修改的内容，申报方会看到这段说明。")})
    if len(note) > NOTE_MAX:
        raise CallError({"note": _("说明最多 %(n)d 个字符（当前 %(m)d 个）。", n=NOTE_MAX, m=len(note))})
    if application.status == status.value and (application.decision_note or "") == note:
        return False
    before = audit.snapshot(application, ["status", "decision_note"])
    application.status = status.value
    application.decision_note = note
    db.session.flush()
    entry = audit.record(
        f"roadshow_application.{action}", application, before=before, after=audit.snapshot(application, ["status", "decision_note"]), actor=actor
    )
    db.session.flush()
    _mail(application, SCREENING_MAIL[action], f"roadshow-application:{application.id}:status:{entry.id}", note=note)
    return True


def bulk_shortlist(call: ProjectCall, application_ids: Iterable[int], actor: Any) -> int:
    """Shortlist the chosen applications of this call that are submitted / sent back; returns how many changed. Caller commits."""
    ids = {int(i) for i in application_ids}
    if not ids:
        return 0
    rows = db.session.scalars(
        select(ProjectApplication).where(ProjectApplication.call_id == call.id, ProjectApplication.id.in_(ids)).order_by(ProjectApplication.id)
    )
    changed = 0
    for application in rows:
        if application.status in (ApplicationStatus.SUBMITTED.value, ApplicationStatus.CHANGES_REQUESTED.value, ApplicationStatus.DECLINED.value):
            changed += screen(application, "shortlist", "", actor)
    return changed


def _mail(application: ProjectApplication, template: str, key: str, **extra: Any) -> None:
    from eventhub.core.mail import send_mail

    send_mail(
        application.contact_email,
        template,
        key=key,
        locale=application.locale,
        application=application,
        event=application.event,
        status_label=APPLICATION_STATUS_LABELS[ApplicationStatus(application.status)],
        call_page_url=call_url(application.event_id),
        **extra,
    )


# ---- pre-screen through the judging engine -----------------------------------------------------


def prescreen_round(call: ProjectCall) -> Any:
    from eventhub.judging import services as judging

    return judging.get_round(call.prescreen_round_id) if call.prescreen_round_id else None


def send_to_prescreen(call: ProjectCall, applications: Sequence[ProjectApplication], actor: Any) -> Any:
    """Create (once) the call's pre-screen round and add ``applications`` to its items. Caller commits.

    Items already in the round stay unless their application was withdrawn or declined meanwhile;
    the round's rubric starts from :data:`PRESCREEN_CRITERIA` and is the organiser's to edit and
    staff (judges are assigned on the judging engine's pages).
    """
    from eventhub.judging import services as judging

    chosen = [a for a in applications if a.call_id == call.id and a.status not in (ApplicationStatus.WITHDRAWN.value, ApplicationStatus.DECLINED.value)]
    if not chosen:
        raise CallError(_("请至少选择一个可预审的申报项目（已撤回或未入围的项目不送预审）。"))
    rnd = judging.get_or_create_round(
        key=PRESCREEN_KEY.format(call_id=call.id), title=_("%(event)s · 路演项目预审", event=call.event.title), default_criteria=PRESCREEN_CRITERIA
    )
    wanted: dict[int, ProjectApplication] = {}
    current = [i.ref_id for i in rnd.items if i.ref_type == REF_TYPE and i.active]
    if current:
        for application in db.session.scalars(select(ProjectApplication).where(ProjectApplication.id.in_(current))):
            if application.status not in (ApplicationStatus.WITHDRAWN.value, ApplicationStatus.DECLINED.value):
                wanted[application.id] = application
    for application in chosen:
        wanted[application.id] = application
    specs = [
        judging.ItemSpec(
            ref_type=REF_TYPE,
            ref_id=a.id,
            title=f"{a.project_name}（{a.org_name}）",
            url=external_url("roadshow.prescreen_application", application_id=a.id),
        )
        for a in sorted(wanted.values(), key=lambda a: a.id)
    ]
    judging.sync_items(rnd, specs)
    call.prescreen_round_id = rnd.id
    db.session.flush()
    audit.record("roadshow_call.prescreen", call, after={"round_id": rnd.id, "added": sorted(a.id for a in chosen), "items": sorted(wanted)}, actor=actor)
    return rnd


@dataclass(frozen=True)
class PrescreenRow:
    rank: int | None
    normalised: float | None
    raw_mean: float | None
    submitted: int
    assigned: int
    tie: bool


def prescreen_ranking(call: ProjectCall) -> dict[int, PrescreenRow]:
    """application id → its pre-screen result (ranked by the engine's normalised score)."""
    from eventhub.judging import services as judging

    rnd = prescreen_round(call)
    if rnd is None:
        return {}
    out: dict[int, PrescreenRow] = {}
    for result in judging.aggregate(rnd):
        if result.item.ref_type != REF_TYPE:
            continue
        out[result.item.ref_id] = PrescreenRow(
            result.rank_normalised, result.normalised, result.raw_mean, result.submitted, result.assigned, result.tie_normalised
        )
    return out


def prescreen_order(call: ProjectCall) -> list[tuple[ProjectApplication, PrescreenRow]]:
    """The pre-screen's items in ranking order, with their applications (unranked last)."""
    ranking = prescreen_ranking(call)
    if not ranking:
        return []
    rows = {a.id: a for a in db.session.scalars(select(ProjectApplication).where(ProjectApplication.id.in_(list(ranking))))}
    ordered = sorted(ranking.items(), key=lambda kv: (kv[1].rank is None, kv[1].rank or 0, kv[0]))
    return [(rows[i], r) for i, r in ordered if i in rows]


def can_download_deck(user: Any, application: ProjectApplication) -> bool:
    """The host and organisers (and assessors, read only) of the event, and pre-screen judges assigned to it."""
    from eventhub.judging import services as judging

    if not getattr(user, "is_authenticated", False):
        return False
    return can_view_event_private(user, application.event) or judging.is_assigned(user, REF_TYPE, application.id)


# ---- the host's list and export ------------------------------------------------------------------


def applications_query(call: ProjectCall, *, q: str = "", status: str = "", field: str = "", stage: str = "") -> Any:
    """The call's applications, newest first, filtered by text (organisation, project, contact, code) and status / field / stage."""
    query = select(ProjectApplication).where(ProjectApplication.call_id == call.id)
    if status in {s.value for s in ApplicationStatus}:
        query = query.where(ProjectApplication.status == status)
    if field:
        query = query.where(ProjectApplication.field == field)
    if stage:
        query = query.where(ProjectApplication.stage == stage)
    q = (q or "").strip()
    if q:
        query = query.where(
            or_(
                ProjectApplication.org_name.icontains(q, autoescape=True),
                ProjectApplication.project_name.icontains(q, autoescape=True),
                ProjectApplication.contact_name.icontains(q, autoescape=True),
                ProjectApplication.contact_mobile.icontains(q, autoescape=True),
                ProjectApplication.uscc.icontains(q, autoescape=True),
            )
        )
    return query.order_by(ProjectApplication.created_at.desc(), ProjectApplication.id.desc())


def status_counts(call: ProjectCall) -> dict[str, int]:
    rows = db.session.execute(select(ProjectApplication.status, func.count()).where(ProjectApplication.call_id == call.id).group_by(ProjectApplication.status))
    counts = {s.value: 0 for s in ApplicationStatus}
    for status, n in rows:
        counts[status] = n
    return counts


def get_application(call: ProjectCall, application_id: int) -> ProjectApplication | None:
    row = db.session.get(ProjectApplication, application_id)
    return row if row is not None and row.call_id == call.id else None


EXPORT_HEADER = [
    "编号",
    "提交时间（北京时间）",
    "状态",
    "单位名称",
    "单位类型",
    "统一社会信用代码",
    "联系人",
    "手机",
    "电子邮箱",
    "路演人",
    "项目名称",
    "技术领域",
    "响应的技术需求",
    "项目阶段",
    "融资或合作需求",
    "简介字数",
    "项目简介",
    "不便时段（北京时间）",
    "路演材料",
    "承办方说明",
    "预审排名",
    "预审标准化得分",
]


def export_xlsx(call: ProjectCall, applications: Sequence[ProjectApplication], actor: Any) -> bytes:
    """The applications in one sheet (full contacts: for the host only); the export is audited. Caller commits."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from eventhub.registration.models import ORG_TYPE_LABELS, OrgType

    pub = publication(call.event)
    need_titles = {n.id: n.title for n in pub.needs} if pub is not None else {}
    ranking = prescreen_ranking(call)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "路演项目申报"
    sheet.append(EXPORT_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for a in applications:
        presenters = "；".join(f"{p.get('name', '')} {p.get('mobile', '')} {p.get('email', '')}".strip() for p in a.presenters or [])
        unavailable = "；".join(f"{r['date']} {r['start']}–{r['end']}" for r in unavailable_rows(a.unavailable))
        try:
            org_type = str(ORG_TYPE_LABELS[OrgType(a.org_type)])
        except ValueError:
            org_type = a.org_type
        rank = ranking.get(a.id)
        values = [
            a.id,
            format_local(a.created_at),
            str(APPLICATION_STATUS_LABELS[ApplicationStatus(a.status)]),
            a.org_name,
            org_type,
            a.uscc,
            a.contact_name,
            a.contact_mobile,
            a.contact_email,
            presenters,
            a.project_name,
            a.field,
            "；".join(need_titles.get(i, f"#{i}") for i in a.need_ids or []),
            str(PROJECT_STAGE_LABELS.get(a.stage, a.stage)),  # type: ignore[call-overload]
            a.seeking,
            count_zishu(a.summary),
            a.summary,
            unavailable,
            a.deck_file.original_name if a.deck_file else "",
            a.decision_note,
            rank.rank if rank and rank.rank else "",
            round(rank.normalised, 2) if rank and rank.normalised is not None else "",
        ]
        sheet.append([_safe_cell(v) for v in values])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["Q"].width = 60
    sheet.freeze_panes = "E2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record("roadshow_call.export", call, after={"rows": len(applications)}, actor=actor)
    return buffer.getvalue()
