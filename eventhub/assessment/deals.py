"""Deals (合作项目) of a theme day: recorded by the host, counted only when the counterparty confirms.

The host (or an organiser) records each cooperation project with its parties, kind, stage, amount,
date, description and evidence (PDF / PNG / JPEG judged by content). The counterparty gets a
private link by mail — 32 random bytes, only the SHA-256 stored — on which it CONFIRMS or
DISPUTES (with a reason). Only confirmed deals feed the "confirmed" figures of the assessment
(:func:`deal_figures`); a dispute is mailed to the organisers and listed for them and the assessor.

Decisions where the issue was silent (kept here so views, forms and tests agree):

* **Date**: not in the future (Beijing calendar) and not earlier than the event's first day minus
  :data:`DATE_LEAD_DAYS` (30) days — signings prepared for the event still count, older deals are
  not the event's result.
* **Amount** (万元, two decimals): optional and ≥ 0, but required for a *signed* investment or a
  *signed* procurement deal — those always have a figure, and a missing one would skew the score.
* **Edits**: any deal that is not withdrawn can be edited. Changing an *essential* — parties
  (lead party, counterparty name / type / code), kind, stage or amount — sends it back to
  "unconfirmed" and asks the counterparty again with a new link (the old link stops working);
  so does changing the e-mail address of a deal not yet confirmed. Other edits (contact person,
  date, description, evidence) keep the status: the counterparty confirmed the deal, not the photo.
* **Answers are locked**: once the counterparty confirmed or disputed, its link shows the answer
  and cannot change it; only the host's re-ask (an essential edit or "resend") opens it again.
* **Duplicates**: same event + same kind + same counterparty (the credit code when both deals
  have one, else the normalised name) → ``duplicate_of_id`` points at the earliest such deal; a
  warning, never a refusal (two procurement contracts with one supplier can be real). Confirmed
  likely duplicates are still counted, and :func:`deal_figures` reports how many there are.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import Select, func, or_, select, update

from eventhub.assessment.models import DEAL_KIND_LABELS, DEAL_STAGE_LABELS, DEAL_STATUS_LABELS, Deal, DealEvidence, DealKind, DealStage, DealStatus
from eventhub.core import audit
from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import format_local, to_shanghai, utcnow
from eventhub.core.uploads import StoredFile, UploadError, check_upload, read_limited, save_bytes
from eventhub.core.urls import external_url
from eventhub.core.validators import check_email, check_uscc
from eventhub.core.wordcount import count_zishu
from eventhub.events.models import Event, TechNeedResponse
from eventhub.events.responses import hash_token, new_token
from eventhub.extensions import db
from eventhub.registration.models import ENTERPRISE_ORG_TYPES, ORG_TYPE_LABELS, OrgType
from eventhub.roadshow.models import MatchmakingLead, ProjectApplication

# ---- limits (the form, the service and the tests read these) ----------------------------------
NAME_MIN, NAME_MAX = 2, 200  # lead party and counterparty names, characters
CONTACT_MAX = 50
DESCRIPTION_MAX_ZISHU = 500  # 字数 (eventhub.core.wordcount)
DESCRIPTION_MAX_CHARS = 5000
NOTE_MAX = 500  # the counterparty's remark / dispute reason, characters
AMOUNT_MAX_WAN = 10_000_000  # 1 000 亿元: anything larger is a typing error
DATE_LEAD_DAYS = 30  # a deal may be dated up to 30 days before the event's first day
EVIDENCE_MAX = 10
EVIDENCE_KINDS = ("pdf", "png", "jpeg")
AMOUNT_REQUIRED_WHEN_SIGNED = (DealKind.INVESTMENT.value, DealKind.PROCUREMENT.value)
ESSENTIALS = ("lead_party", "counterparty_name", "counterparty_type", "counterparty_uscc", "kind", "stage", "amount_wan")
FIELDS = (*ESSENTIALS, "counterparty_contact", "counterparty_email", "deal_date", "description")
SOURCE_TYPES = ("need_response", "lead")
PER_PAGE = 50
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)

ACTION_LABELS = {
    "deal.create": "登记合作项目",
    "deal.update": "修改合作项目",
    "deal.reask": "重新请对方确认",
    "deal.withdraw": "撤回合作项目",
    "deal.confirm": "对方确认",
    "deal.dispute": "对方提出异议",
    "deal.export": "导出合作项目",
}


def labels() -> dict[str, dict[str, str]]:
    """The label dicts the deal templates read (values are untranslated: templates wrap them in ``_()``)."""
    return {
        "status_labels": {s.value: DEAL_STATUS_LABELS[s] for s in DealStatus},
        "kind_labels": {k.value: DEAL_KIND_LABELS[k] for k in DealKind},
        "stage_labels": {s.value: DEAL_STAGE_LABELS[s] for s in DealStage},
        "org_labels": {t.value: ORG_TYPE_LABELS[t] for t in OrgType},
    }


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class DealError(ValueError):
    """A deal or an answer was refused; ``errors`` maps form fields to Chinese messages."""

    def __init__(self, errors: Mapping[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("；".join(self.errors.values()))


def today_local(at: datetime | None = None) -> date:
    """Today's Beijing calendar date."""
    return to_shanghai(at or utcnow()).date()


# ---- checking what the host typed -----------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def earliest_date(event: Event) -> date:
    return event.start_date - timedelta(days=DATE_LEAD_DAYS)


def clean_input(event: Event, data: Mapping[str, Any], *, today: date | None = None) -> dict[str, Any]:
    """Normalise and check the deal's fields; return the values for the row or raise :class:`DealError`.

    Every field gets its own Chinese message, so the form shows each next to its input.
    """
    today = today or today_local()
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    for key, label in (("lead_party", _("牵头方")), ("counterparty_name", _("合作方名称"))):
        value = _text(data, key)
        if not value:
            errors[key] = _("请填写%(label)s。", label=label)
        elif not NAME_MIN <= len(value) <= NAME_MAX:
            errors[key] = _("%(label)s应为 %(min)d–%(max)d 个字符。", label=label, min=NAME_MIN, max=NAME_MAX)
        out[key] = value

    org_type = _text(data, "counterparty_type")
    if org_type not in {t.value for t in OrgType}:
        errors["counterparty_type"] = _("请选择合作方类型。")
    out["counterparty_type"] = org_type

    uscc = _text(data, "counterparty_uscc")
    out["counterparty_uscc"] = ""
    if uscc:
        try:
            out["counterparty_uscc"] = check_uscc(uscc)
        except ValueError as exc:
            errors["counterparty_uscc"] = _("%(reason)s。", reason=str(exc))
    elif org_type in {t.value for t in ENTERPRISE_ORG_TYPES}:
        errors["counterparty_uscc"] = _("企业类合作方（中小企业、初创企业、大型企业）须填写统一社会信用代码。")

    contact = _text(data, "counterparty_contact")
    if len(contact) > CONTACT_MAX:
        errors["counterparty_contact"] = _("联系人不能超过 %(n)d 个字符。", n=CONTACT_MAX)
    out["counterparty_contact"] = contact

    email = _text(data, "counterparty_email")
    out["counterparty_email"] = email
    if not email:
        errors["counterparty_email"] = _("请填写合作方的电子邮箱：确认链接将发送到这里。")
    else:
        try:
            out["counterparty_email"] = check_email(email)
        except ValueError:
            errors["counterparty_email"] = _("电子邮箱格式不正确。")

    kind = _text(data, "kind")
    if kind not in {k.value for k in DealKind}:
        errors["kind"] = _("请选择合作类型。")
    out["kind"] = kind
    stage = _text(data, "stage")
    if stage not in {s.value for s in DealStage}:
        errors["stage"] = _("请选择合作阶段（意向或正式签约）。")
    out["stage"] = stage

    raw_amount = _text(data, "amount_wan").replace(",", "").replace("，", "")
    out["amount_wan"] = None
    if raw_amount:
        try:
            amount = float(raw_amount)
        except ValueError:
            errors["amount_wan"] = _("金额应为数字（单位：万元）。")
        else:
            if amount != amount or amount < 0:  # NaN or negative
                errors["amount_wan"] = _("金额不能为负数。")
            elif amount > AMOUNT_MAX_WAN:
                errors["amount_wan"] = _("金额不能超过 %(n)d 万元，请核对单位（万元）。", n=AMOUNT_MAX_WAN)
            else:
                out["amount_wan"] = round(amount, 2)
    elif stage == DealStage.SIGNED.value and kind in AMOUNT_REQUIRED_WHEN_SIGNED:
        errors["amount_wan"] = _("正式签约的投资或采购项目须填写金额（万元）。")

    raw_date = data.get("deal_date")
    deal_date: date | None = None
    if isinstance(raw_date, date):
        deal_date = raw_date
    elif raw_date:
        try:
            deal_date = date.fromisoformat(str(raw_date).strip())
        except ValueError:
            errors["deal_date"] = _("日期格式不正确。")
    else:
        errors["deal_date"] = _("请填写签约或达成意向的日期。")
    if deal_date is not None:
        if deal_date > today:
            errors["deal_date"] = _("日期不能晚于今天（北京时间）。")
        elif deal_date < earliest_date(event):
            errors["deal_date"] = _("日期不能早于 %(day)s（活动首日前 %(n)d 天）。", day=earliest_date(event).isoformat(), n=DATE_LEAD_DAYS)
    out["deal_date"] = deal_date

    description = _text(data, "description")
    if count_zishu(description) > DESCRIPTION_MAX_ZISHU or len(description) > DESCRIPTION_MAX_CHARS:
        errors["description"] = _("简要说明不能超过 %(n)d 字（当前 %(m)d 字）。", n=DESCRIPTION_MAX_ZISHU, m=count_zishu(description))
    out["description"] = description

    if errors:
        raise DealError(errors)
    return out


def _read_evidence(files: Iterable[Any]) -> list[tuple[bytes, str]]:
    """The chosen files as (bytes, name), each checked by content and size; FileStorage or (bytes, name)."""
    uploads: list[tuple[bytes, str]] = []
    problems: list[str] = []
    for item in files or ():
        if isinstance(item, tuple):
            content, name = item
        else:
            if not getattr(item, "filename", ""):
                continue
            content, name = read_limited(item.stream), item.filename
        try:
            check_upload(content, name, EVIDENCE_KINDS)
        except UploadError as exc:
            problems.append(str(exc))
        else:
            uploads.append((content, name))
    if problems:
        raise DealError({"evidence": " ".join(problems)})
    return uploads


# ---- tokens and mail ----------------------------------------------------------------------------------


def find_by_token(token: str) -> Deal | None:
    """The deal whose confirmation link carries ``token`` (``None`` for anything else, in constant time)."""
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    deal = db.session.scalar(select(Deal).where(Deal.confirm_token_hash == digest))
    if deal is None or not hmac.compare_digest(deal.confirm_token_hash, digest):
        return None
    return deal


def confirm_url(token: str) -> str:
    return external_url("assessment.deal_confirm", token=token)


def _digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _ask(deal: Deal, *, again: bool) -> str:
    """A new link for the counterparty (the old one stops working) and the keyed mail carrying it."""
    from eventhub.core.mail import send_mail

    token = new_token()
    deal.confirm_token_hash = hash_token(token)
    deal.status = DealStatus.UNCONFIRMED.value
    deal.responded_at = None
    deal.response_note = ""
    db.session.flush()
    send_mail(
        deal.counterparty_email,
        "assessment_deal_confirm",
        key=f"deal-confirm:{deal.id}:{deal.confirm_token_hash[:16]}",
        deal=deal,
        event=deal.event,
        again=again,
        url=confirm_url(token),
        kind_label=_(DEAL_KIND_LABELS[DealKind(deal.kind)]),
        stage_label=_(DEAL_STAGE_LABELS[DealStage(deal.stage)]),
    )
    return token


def _organiser_emails() -> list[str]:
    from eventhub.events.detail_plans import organiser_emails

    return organiser_emails()


def _mail_dispute(deal: Deal) -> None:
    """Organisers (and the host user who recorded it) hear of a dispute once per ask."""
    from eventhub.auth.models import User
    from eventhub.core.mail import send_mail

    recipients = list(_organiser_emails())
    creator = db.session.get(User, deal.created_by_id) if deal.created_by_id else None
    if creator is not None and creator.active and creator.email not in recipients:
        recipients.append(creator.email)
    for email in recipients:
        send_mail(
            email,
            "assessment_deal_disputed",
            key=f"deal-disputed:{deal.id}:{deal.confirm_token_hash[:16]}:{_digest(email)}",
            deal=deal,
            event=deal.event,
            url=external_url("assessment.deal_detail", event_id=deal.event_id, deal_id=deal.id),
            list_url=external_url("assessment.deals_disputed"),
            kind_label=_(DEAL_KIND_LABELS[DealKind(deal.kind)]),
        )


# ---- duplicates ---------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """Organisation names compared loosely: full-width folded, case, spaces and punctuation ignored."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    return "".join(ch for ch in text if ch.isalnum())


def _same_counterparty(a_uscc: str, a_name: str, b: Deal) -> bool:
    if a_uscc and b.counterparty_uscc:
        return a_uscc == b.counterparty_uscc
    return normalise_name(a_name) == normalise_name(b.counterparty_name)


def find_duplicate(event_id: int, kind: str, uscc: str, name: str, exclude_id: int | None = None) -> Deal | None:
    """The earliest live deal of the same event and kind with the same counterparty, if any."""
    query = select(Deal).where(Deal.event_id == event_id, Deal.kind == kind, Deal.status != DealStatus.WITHDRAWN.value).order_by(Deal.id)
    if exclude_id is not None:
        query = query.where(Deal.id != exclude_id)
    return next((d for d in db.session.scalars(query) if _same_counterparty(uscc, name, d)), None)


# ---- sources: a technology-need answer or a road-show lead ----------------------------------------


def _host_name(event: Event) -> str:
    return event.host_base.name if event.host_base is not None else ""


def response_of(event: Event, response_id: int) -> TechNeedResponse | None:
    row = db.session.get(TechNeedResponse, response_id)
    return row if row is not None and row.event_id == event.id else None


def lead_of(event: Event, lead_id: int) -> MatchmakingLead | None:
    row = db.session.get(MatchmakingLead, lead_id)
    return row if row is not None and row.event_id == event.id else None


def prefill_from_response(event: Event, response_id: int) -> dict[str, Any] | None:
    """The form's starting values from a technology-need answer of this event (``None`` if not one)."""
    row = response_of(event, response_id)
    if row is None:
        return None
    return {
        "lead_party": _host_name(event),
        "counterparty_name": row.org_name,
        "counterparty_type": "",
        "counterparty_uscc": row.uscc,
        "counterparty_contact": row.contact_name[:CONTACT_MAX],
        "counterparty_email": row.contact_email,
        "kind": DealKind.TECHNOLOGY.value,
        "stage": "",
        "description": _("揭榜技术需求“%(need)s”。", need=row.need.title),
        "source_type": "need_response",
        "source_id": row.id,
    }


def prefill_from_lead(event: Event, lead_id: int) -> dict[str, Any] | None:
    """The form's starting values from a road-show lead: the project's applicant is the counterparty,
    the interested organisation (else the host) leads; an investor's lead suggests an investment."""
    from eventhub.registration.models import Registration

    lead = lead_of(event, lead_id)
    if lead is None:
        return None
    application: ProjectApplication = lead.application
    kind = ""
    if lead.registration_id:
        registration = db.session.get(Registration, lead.registration_id)
        if registration is not None and registration.org_type == OrgType.INVESTOR.value:
            kind = DealKind.INVESTMENT.value
    return {
        "lead_party": lead.interested_org or _host_name(event),
        "counterparty_name": application.org_name,
        "counterparty_type": application.org_type,
        "counterparty_uscc": application.uscc or "",
        "counterparty_contact": application.contact_name[:CONTACT_MAX],
        "counterparty_email": application.contact_email,
        "kind": kind,
        "stage": "",
        "description": _("路演项目“%(project)s”（对接意向：%(who)s）。", project=application.project_name, who=lead.interested_name),
        "source_type": "lead",
        "source_id": lead.id,
    }


def _check_source(event: Event, source_type: str, source_id: Any) -> tuple[str, int | None]:
    if not source_type:
        return "", None
    try:
        sid = int(source_id)
    except (TypeError, ValueError):
        return "", None
    if source_type == "need_response" and response_of(event, sid) is not None:
        return source_type, sid
    if source_type == "lead" and lead_of(event, sid) is not None:
        return source_type, sid
    return "", None


def used_sources(event: Event, source_type: str) -> dict[int, int]:
    """source id → id of a live deal already started from it (the pickers mark them)."""
    rows = db.session.execute(
        select(Deal.source_id, Deal.id).where(Deal.event_id == event.id, Deal.source_type == source_type, Deal.status != DealStatus.WITHDRAWN.value)
    )
    return {sid: did for sid, did in rows if sid is not None}


def answers_for_picker(event: Event) -> list[TechNeedResponse]:
    return list(db.session.scalars(select(TechNeedResponse).where(TechNeedResponse.event_id == event.id).order_by(TechNeedResponse.id.desc())))


def leads_for_picker(event: Event) -> list[MatchmakingLead]:
    return list(db.session.scalars(select(MatchmakingLead).where(MatchmakingLead.event_id == event.id).order_by(MatchmakingLead.id.desc())))


# ---- recording, editing, withdrawing -----------------------------------------------------------------


def _snapshot(deal: Deal) -> dict[str, Any]:
    values = audit.snapshot(deal, list(FIELDS))
    values["deal_date"] = deal.deal_date.isoformat() if deal.deal_date else None
    values["status"] = deal.status
    return values


def _add_evidence(deal: Deal, uploads: list[tuple[bytes, str]], actor: Any) -> None:
    for content, name in uploads:
        stored = save_bytes(content, name, kinds=EVIDENCE_KINDS, uploaded_by=actor)
        db.session.add(DealEvidence(deal=deal, file=stored, title=stored.original_name[:200]))


def record_deal(event: Event, data: Mapping[str, Any], evidence: Iterable[Any] = (), *, actor: Any = None, today: date | None = None) -> tuple[Deal, str]:
    """Record a deal with its evidence, ask the counterparty by mail; return (deal, link token). Commits.

    Raises :class:`DealError` with every field's problem at once (nothing is stored then).
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    try:
        clean = clean_input(event, data, today=today)
    except DealError as exc:
        errors.update(exc.errors)
    uploads: list[tuple[bytes, str]] = []
    try:
        uploads = _read_evidence(evidence)
        if len(uploads) > EVIDENCE_MAX:
            errors["evidence"] = _("佐证材料最多 %(n)d 个文件。", n=EVIDENCE_MAX)
    except DealError as exc:
        errors.update(exc.errors)
    if errors:
        raise DealError(errors)
    source_type, source_id = _check_source(event, _text(data, "source_type"), data.get("source_id"))
    duplicate = find_duplicate(event.id, clean["kind"], clean["counterparty_uscc"], clean["counterparty_name"])
    deal = Deal(
        event_id=event.id,
        **clean,
        source_type=source_type,
        source_id=source_id,
        status=DealStatus.UNCONFIRMED.value,
        confirm_token_hash="pending-" + new_token()[:50],  # replaced by _ask at once
        duplicate_of_id=duplicate.id if duplicate is not None else None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(deal)
    db.session.flush()
    _add_evidence(deal, uploads, actor)
    token = _ask(deal, again=False)
    audit.record(
        "deal.create", deal, after={**_snapshot(deal), "source": f"{source_type}:{source_id}" if source_type else "", "evidence": len(uploads)}, actor=actor
    )
    db.session.commit()
    return deal, token


def editable(deal: Deal) -> bool:
    return deal.status != DealStatus.WITHDRAWN.value


def update_deal(
    deal: Deal,
    data: Mapping[str, Any],
    evidence: Iterable[Any] = (),
    *,
    remove_evidence: Iterable[int] = (),
    actor: Any = None,
    today: date | None = None,
) -> tuple[Deal, str | None]:
    """Change a deal (not a withdrawn one); return (deal, new link token or ``None``). Commits.

    An essential change re-asks the counterparty (status back to unconfirmed, new link, new mail);
    so does a new e-mail address on a deal not yet confirmed. See the module docstring.
    """
    if not editable(deal):
        raise DealError(_("已撤回的合作项目不能修改。"))
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    try:
        clean = clean_input(deal.event, data, today=today)
    except DealError as exc:
        errors.update(exc.errors)
    removing = {int(i) for i in remove_evidence if str(i).isdigit()}
    kept = [e for e in deal.evidence if e.id not in removing]
    removed = len(deal.evidence) - len(kept)
    uploads: list[tuple[bytes, str]] = []
    try:
        uploads = _read_evidence(evidence)
        if len(kept) + len(uploads) > EVIDENCE_MAX:
            errors["evidence"] = _("佐证材料最多 %(n)d 个文件（已有 %(m)d 个）。", n=EVIDENCE_MAX, m=len(kept))
    except DealError as exc:
        errors.update(exc.errors)
    if errors:
        raise DealError(errors)
    before = _snapshot(deal)
    essential = any(before[k] != clean[k] for k in ESSENTIALS)
    new_address = clean["counterparty_email"] != deal.counterparty_email
    for key, value in clean.items():
        setattr(deal, key, value)
    for row in list(deal.evidence):
        if row.id in removing:
            deal.evidence.remove(row)
    _add_evidence(deal, uploads, actor)
    duplicate = find_duplicate(deal.event_id, deal.kind, deal.counterparty_uscc, deal.counterparty_name, exclude_id=deal.id)
    deal.duplicate_of_id = duplicate.id if duplicate is not None and duplicate.id < deal.id else None
    db.session.flush()
    token = None
    if essential or (new_address and deal.status != DealStatus.CONFIRMED.value):
        token = _ask(deal, again=True)
    after = {**_snapshot(deal), "evidence_added": len(uploads), "evidence_removed": removed}
    audit.record("deal.update", deal, before=before, after={**after, "reasked": token is not None}, actor=actor)
    db.session.commit()
    return deal, token


def reask(deal: Deal, *, actor: Any = None) -> str:
    """Send a new link (the mail was lost, or the host clarified a dispute); the old link stops working. Commits."""
    if deal.status not in (DealStatus.UNCONFIRMED.value, DealStatus.DISPUTED.value):
        raise DealError(_("只有待确认或有异议的合作项目可以重新发送确认邮件。"))
    before = {"status": deal.status, "response_note": deal.response_note}
    token = _ask(deal, again=True)
    audit.record("deal.reask", deal, before=before, after={"status": deal.status, "email": deal.counterparty_email}, actor=actor)
    db.session.commit()
    return token


def withdraw_deal(deal: Deal, *, actor: Any = None) -> Deal:
    """The host withdraws a deal: no longer counted, its link shows that it was withdrawn. Commits."""
    if deal.status == DealStatus.WITHDRAWN.value:
        raise DealError(_("该合作项目已撤回。"))
    before = {"status": deal.status}
    deal.status = DealStatus.WITHDRAWN.value
    for later in db.session.scalars(select(Deal).where(Deal.duplicate_of_id == deal.id)):
        other = find_duplicate(later.event_id, later.kind, later.counterparty_uscc, later.counterparty_name, exclude_id=later.id)
        later.duplicate_of_id = other.id if other is not None and other.id < later.id and other.id != deal.id else None
    audit.record("deal.withdraw", deal, before=before, after={"status": deal.status}, actor=actor)
    db.session.commit()
    return deal


# ---- the counterparty's answer ---------------------------------------------------------------------


def can_answer(deal: Deal) -> bool:
    return deal.status == DealStatus.UNCONFIRMED.value


def respond(deal: Deal, action: str, note: str = "", *, at: datetime | None = None) -> Deal:
    """CONFIRM or DISPUTE (a reason is required) by the counterparty's link. Commits.

    Only an unconfirmed deal can be answered: the answer is locked until the host re-asks.
    A dispute is mailed to the organisers and to the host user who recorded the deal.
    """
    note = (note or "").strip()
    if deal.status == DealStatus.WITHDRAWN.value:
        raise DealError(_("承办方已撤回该合作项目，无需确认。"))
    if not can_answer(deal):
        raise DealError(
            _("您已答复过该合作项目（%(status)s）。如有变化，请联系承办方修改后重新发送确认邮件。", status=_(DEAL_STATUS_LABELS[DealStatus(deal.status)]))
        )
    if action not in ("confirm", "dispute"):
        raise DealError(_("请选择确认或提出异议。"))
    if len(note) > NOTE_MAX:
        raise DealError({"note": _("说明不能超过 %(n)d 个字符。", n=NOTE_MAX)})
    if action == "dispute" and not note:
        raise DealError({"note": _("提出异议时请说明理由，例如哪些信息不符。")})
    # one conditional UPDATE: of two simultaneous answers on the same link, exactly one is taken
    result = db.session.execute(
        update(Deal)
        .where(Deal.id == deal.id, Deal.status == DealStatus.UNCONFIRMED.value, Deal.confirm_token_hash == deal.confirm_token_hash)
        .values(
            status=DealStatus.CONFIRMED.value if action == "confirm" else DealStatus.DISPUTED.value,
            responded_at=at or utcnow(),
            response_note=note,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DealError(_("您已答复过该合作项目。如有变化，请联系承办方修改后重新发送确认邮件。"))
    db.session.refresh(deal)
    audit.record(f"deal.{action}", deal, after={"status": deal.status, "note": note}, actor=f"合作方 {deal.counterparty_email}")
    if action == "dispute":
        _mail_dispute(deal)
    db.session.commit()
    return deal


# ---- figures for the score ------------------------------------------------------------------------


def deal_figures(event: Event) -> dict[str, Any]:
    """The deal metrics of one event. The "confirmed_*" figures are counted ONLY from deals the
    counterparty confirmed; unconfirmed and disputed deals are reported but never counted as results.
    Withdrawn deals are left out entirely."""
    rows = db.session.execute(
        select(Deal.status, Deal.stage, Deal.amount_wan, Deal.duplicate_of_id).where(Deal.event_id == event.id, Deal.status != DealStatus.WITHDRAWN.value)
    ).all()
    confirmed = [r for r in rows if r.status == DealStatus.CONFIRMED.value]
    return {
        "recorded": len(rows),
        "confirmed": len(confirmed),
        "unconfirmed": sum(1 for r in rows if r.status == DealStatus.UNCONFIRMED.value),
        "disputed": sum(1 for r in rows if r.status == DealStatus.DISPUTED.value),
        "confirmed_signed": sum(1 for r in confirmed if r.stage == DealStage.SIGNED.value),
        "confirmed_intent": sum(1 for r in confirmed if r.stage == DealStage.INTENT.value),
        "confirmed_amount_wan": round(sum(r.amount_wan or 0.0 for r in confirmed), 2),
        "confirmed_duplicates": sum(1 for r in confirmed if r.duplicate_of_id is not None),
    }


# ---- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: str = ""
    kind: str = ""
    stage: str = ""
    q: str = ""

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in (("status", self.status), ("kind", self.kind), ("stage", self.stage), ("q", self.q)) if v}


def filters_from_args(args: Mapping[str, str]) -> Filters:
    status = args.get("status", "")
    kind = args.get("kind", "")
    stage = args.get("stage", "")
    return Filters(
        status=status if status in {s.value for s in DealStatus} else "",
        kind=kind if kind in {k.value for k in DealKind} else "",
        stage=stage if stage in {s.value for s in DealStage} else "",
        q=(args.get("q") or "").strip()[:100],
    )


def deal_query(event: Event, filters: Filters) -> Select[tuple[Deal]]:
    query = select(Deal).where(Deal.event_id == event.id)
    if filters.status:
        query = query.where(Deal.status == filters.status)
    if filters.kind:
        query = query.where(Deal.kind == filters.kind)
    if filters.stage:
        query = query.where(Deal.stage == filters.stage)
    if filters.q:
        term = filters.q
        query = query.where(
            or_(
                Deal.counterparty_name.icontains(term, autoescape=True),
                Deal.lead_party.icontains(term, autoescape=True),
                Deal.counterparty_uscc.icontains(term.upper(), autoescape=True),
                Deal.description.icontains(term, autoescape=True),
            )
        )
    return query.order_by(Deal.deal_date.desc(), Deal.id.desc())


def status_counts(event: Event) -> dict[str, int]:
    rows = db.session.execute(select(Deal.status, func.count()).where(Deal.event_id == event.id).group_by(Deal.status))
    counts = {s.value: 0 for s in DealStatus}
    counts.update({status: n for status, n in rows})
    return counts


def disputed_query(q: str = "") -> Select[tuple[Deal]]:
    """Disputed deals of every event (organiser / assessor), the latest answer first."""
    query = select(Deal).join(Event, Event.id == Deal.event_id).where(Deal.status == DealStatus.DISPUTED.value)
    if q:
        query = query.where(or_(Deal.counterparty_name.icontains(q, autoescape=True), Event.title.icontains(q, autoescape=True)))
    return query.order_by(Deal.responded_at.desc(), Deal.id.desc())


def evidence_of(deal: Deal, evidence_id: int) -> StoredFile | None:
    row = db.session.get(DealEvidence, evidence_id)
    return row.file if row is not None and row.deal_id == deal.id else None


# ---- export ---------------------------------------------------------------------------------------------

EXPORT_HEADER = [
    "编号",
    "状态",
    "疑似重复（同编号）",
    "牵头方",
    "合作方",
    "合作方类型",
    "统一社会信用代码",
    "合作方联系人",
    "合作方电子邮箱",
    "合作类型",
    "阶段",
    "金额（万元）",
    "日期",
    "简要说明",
    "来源",
    "佐证材料（个）",
    "对方答复时间（北京时间）",
    "对方说明",
    "登记时间（北京时间）",
]


def _org_type_label(value: str) -> str:
    return _(ORG_TYPE_LABELS[OrgType(value)]) if value in {t.value for t in OrgType} else value


def source_label(deal: Deal) -> str:
    return describe_source(deal.source_type, deal.source_id)


def describe_source(source_type: str, source_id: int | None) -> str:
    """What a deal grew from, in words (empty when it was recorded directly)."""
    if source_type == "need_response":
        row = db.session.get(TechNeedResponse, source_id) if source_id else None
        return _("揭榜响应：%(need)s", need=row.need.title) if row is not None else _("揭榜响应")
    if source_type == "lead":
        lead = db.session.get(MatchmakingLead, source_id) if source_id else None
        return _("路演对接意向：%(project)s", project=lead.application.project_name) if lead is not None else _("路演对接意向")
    return ""


def export_xlsx(event: Event, rows: list[Deal], *, actor: Any = None) -> bytes:
    """The filtered deals in one sheet (full contacts: for the event's managers); audited. Caller commits."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "合作项目"
    sheet.append([_(h) for h in EXPORT_HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for d in rows:
        values = [
            d.id,
            _(DEAL_STATUS_LABELS[DealStatus(d.status)]),
            d.duplicate_of_id or "",
            d.lead_party,
            d.counterparty_name,
            _org_type_label(d.counterparty_type),
            d.counterparty_uscc,
            d.counterparty_contact,
            d.counterparty_email,
            _(DEAL_KIND_LABELS[DealKind(d.kind)]),
            _(DEAL_STAGE_LABELS[DealStage(d.stage)]),
            d.amount_wan if d.amount_wan is not None else "",
            d.deal_date.isoformat(),
            d.description,
            source_label(d),
            len(d.evidence),
            format_local(d.responded_at),
            d.response_note,
            format_local(d.created_at),
        ]
        sheet.append([_safe_cell(v) for v in values])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 16
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "E2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record("deal.export", event, after={"rows": len(rows)}, actor=actor)
    return buffer.getvalue()


# ---- recommendations' evidence ---------------------------------------------------------------------


def describe(deal: Deal) -> str:
    """One line for a recommendation's evidence: parties, kind, stage, amount, date, status."""
    amount = _("，%(n)s 万元", n=f"{deal.amount_wan:g}") if deal.amount_wan is not None else ""
    return _(
        "%(lead)s × %(party)s：%(kind)s（%(stage)s%(amount)s，%(day)s，%(status)s）",
        lead=deal.lead_party,
        party=deal.counterparty_name,
        kind=_(DEAL_KIND_LABELS[DealKind(deal.kind)]),
        stage=_(DEAL_STAGE_LABELS[DealStage(deal.stage)]),
        amount=amount,
        day=deal.deal_date.isoformat(),
        status=_(DEAL_STATUS_LABELS[DealStatus(deal.status)]),
    )


def confirmed_deals_of_application(application_id: int) -> list[Deal]:
    """Confirmed deals started from a road-show lead on this project, or with its applicant as the
    counterparty on the same event (by credit code when the application has one, else by name)."""
    application = db.session.get(ProjectApplication, application_id)
    if application is None:
        return []
    lead_ids = set(db.session.scalars(select(MatchmakingLead.id).where(MatchmakingLead.application_id == application_id)))
    query = select(Deal).where(Deal.event_id == application.event_id, Deal.status == DealStatus.CONFIRMED.value).order_by(Deal.deal_date, Deal.id)
    out = []
    for deal in db.session.scalars(query):
        from_lead = deal.source_type == "lead" and deal.source_id in lead_ids
        if from_lead or _same_counterparty(application.uscc or "", application.org_name, deal):
            out.append(deal)
    return out
