"""Preliminary plan rules: one plan per base per campaign, drafts, submission, versions, access.

Views call these with explicit arguments (the actor, ``now``); tests call them without HTTP.
"""

from __future__ import annotations

import contextlib
import difflib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.core import audit
from eventhub.core.locking import lock_for_change
from eventhub.core.permissions import Role, has_permission
from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import as_utc, format_local, utcnow
from eventhub.core.validators import check_email, check_mobile
from eventhub.core.wordcount import count_zishu
from eventhub.extensions import db
from eventhub.judging.services import is_assigned
from eventhub.plans.calls import Call, CallError, _, deadline_text, next_version_number
from eventhub.plans.models import (
    CONTENT_TYPE_LABELS,
    ContentType,
    EventFormat,
    PlanParticipant,
    PlanStatus,
    PlanVersion,
    PlanWindow,
    PreliminaryPlan,
)

MIN_CONTENT_TYPES = 4
MAX_DURATION_DAYS = 30


def content_type_labels() -> dict[str, str]:
    """The five content types (DESIGN.md §1), translated."""
    return {
        ContentType.RESOURCES.value: _("创新资源开放共享"),
        ContentType.JOINT_RD.value: _("创新项目协作攻关"),
        ContentType.COMMERCIALISATION.value: _("创新成果联合转化"),
        ContentType.ROADSHOW.value: _("创新团队对接路演"),
        ContentType.MATCHMAKING.value: _("创新主体深度对接"),
    }


def event_format_labels() -> dict[str, str]:
    return {EventFormat.ONSITE.value: _("线下"), EventFormat.ONLINE.value: _("线上"), EventFormat.HYBRID.value: _("线上线下结合")}


def status_labels() -> dict[str, str]:
    """draft / submitted / withdrawn / late (submitted after the general deadline under an extension)."""
    return {"draft": _("草稿"), "submitted": _("已提交"), "withdrawn": _("已撤回"), "late": _("延期后提交")}


# Length caps: the only thing a draft save enforces (columns have sizes; the body is bounded).
CAPS = {
    "theme": 200,
    "field": 200,
    "sentence": 500,
    "reason": 500,
    "prevention_measures": 5000,
    "body": 20000,
    "contact_name": 100,
    "contact_phone": 30,
    "contact_email": 254,
}

TEXT_FIELDS = ["theme", "field", "event_format", "prevention_measures", "body", "contact_name", "contact_phone", "contact_email"]


class PlanError(CallError):
    """A plan rule was broken (a message for the user, optionally tied to a field)."""


class PlanValidationError(PlanError):
    """Submission refused: ``errors`` maps a field name to its Chinese messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("计划尚不完整，不能提交：请按提示修改"))
        self.errors = errors


# ---- the call -------------------------------------------------------------------


def call_key(campaign: Campaign) -> str:
    return f"preliminary-plan:{campaign.id}"


def plan_call(campaign: Campaign) -> Call:
    """The preliminary-plan call of a campaign (deadline and 字数 limits from the campaign)."""
    return Call(
        key=call_key(campaign),
        title=_("活动初步计划"),
        deadline=as_utc(campaign.plan_deadline),
        zishu_target=campaign.zishu_target,
        zishu_min=campaign.zishu_min,
        zishu_max=campaign.zishu_max,
    )


def deadline_for(plan: PreliminaryPlan) -> datetime:
    """The plan's effective deadline: the campaign's, or the base's extension."""
    return plan_call(campaign_of(plan)).effective_deadline(plan.base_id)


def campaign_of(plan: PreliminaryPlan) -> Campaign:
    return db.session.get(Campaign, plan.campaign_id)


# ---- who may host, read and edit ---------------------------------------------------


def hosting_refusal(base: DemonstrationBase | None) -> str | None:
    """Why this base cannot write a plan, or None when it can."""
    if base is None:
        return _("您的账号未关联示范基地，无法填写初步计划。请联系组织方。")
    if not base.can_host:
        return _(
            "根据通知要求，“融通创新”主题日由企业类示范基地承办。%(base)s 属于%(type)s，可作为参与基地参加其他基地的主题日，但不能提交承办初步计划。",
            base=base.display_short_name,
            type=base.type_label,
        )
    return None


def get_plan(campaign: Campaign, base: DemonstrationBase) -> PreliminaryPlan | None:
    return db.session.scalar(select(PreliminaryPlan).where(PreliminaryPlan.campaign_id == campaign.id, PreliminaryPlan.base_id == base.id))


def get_or_create_plan(campaign: Campaign, base: DemonstrationBase | None) -> PreliminaryPlan:
    """The base's plan for the campaign (created empty on first use); refused for non-enterprise bases."""
    reason = hosting_refusal(base)
    if reason:
        raise PlanError(reason)
    assert base is not None
    plan = get_plan(campaign, base)
    if plan is None:
        plan = PreliminaryPlan(campaign_id=campaign.id, base_id=base.id, status=PlanStatus.DRAFT.value, content_types={})
        db.session.add(plan)
        db.session.flush()
    return plan


def _is_assigned_reviewer(user: Any, plan: PreliminaryPlan) -> bool:
    return bool(is_assigned(user, "plan", plan.id))


def can_read_plan(user: Any, plan: PreliminaryPlan) -> bool:
    """Organisers; the base's own host users; reviewers assigned to the plan (submitted ones only)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if has_permission(user, "plans.manage"):
        return True
    role = Role(user.role)
    if role is Role.HOST:
        return user.base_id == plan.base_id
    if role is Role.REVIEWER:
        return bool(plan.versions) and _is_assigned_reviewer(user, plan)
    return False


def can_edit_plan(user: Any, plan: PreliminaryPlan) -> bool:
    """Only host users of the plan's own base (the deadline is checked separately)."""
    return has_permission(user, "plans.write") and user.base_id == plan.base_id


def can_see_draft(user: Any, plan: PreliminaryPlan) -> bool:
    """The working copy (unsubmitted changes): the base's hosts and organisers, not reviewers."""
    return has_permission(user, "plans.manage") or can_edit_plan(user, plan)


# ---- drafts ---------------------------------------------------------------------


def _cap(value: Any, key: str, notes: list[str], label: str) -> str:
    text = "" if value is None else str(value)
    limit = CAPS[key]
    if len(text) > limit:
        notes.append(_("%(label)s超过 %(n)d 个字符，超出部分未保存", label=label, n=limit))
        text = text[:limit]
    return text


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _parse_int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return int(str(value or "").strip())
    except ValueError:
        return None


def check_open(plan: PreliminaryPlan, now: datetime | None = None) -> None:
    """Raise :class:`PlanError` naming the deadline when the plan can no longer be changed."""
    try:
        plan_call(campaign_of(plan)).check_open(plan.base_id, now)
    except CallError as exc:
        raise PlanError(str(exc)) from exc


def is_open(plan: PreliminaryPlan, now: datetime | None = None) -> bool:
    return plan_call(campaign_of(plan)).is_open(plan.base_id, now)


def save_draft(plan: PreliminaryPlan, data: dict[str, Any], actor: Any, now: datetime | None = None) -> list[str]:
    """Store whatever was typed (no validation, only length caps) while the call is open.

    ``data``: theme, field, content_types {value: sentence} (checked types only),
    participants [{base_id, reason}], windows [{earliest_start, latest_start, duration_days}],
    event_format, prevention_measures, body, contact_name, contact_phone, contact_email.
    Returns notes about anything that could not be stored (a row without a base or a date).
    """
    check_open(plan, now)
    notes: list[str] = []
    plan.theme = _cap(data.get("theme"), "theme", notes, _("主题"))
    plan.field = _cap(data.get("field"), "field", notes, _("专业领域"))
    contents: dict[str, str] = {}
    for key, sentence in (data.get("content_types") or {}).items():
        if key in {c.value for c in ContentType}:
            contents[key] = _cap(sentence, "sentence", notes, CONTENT_TYPE_LABELS[ContentType(key)])
    plan.content_types = {c.value: contents[c.value] for c in ContentType if c.value in contents}
    fmt = str(data.get("event_format") or "")
    plan.event_format = fmt if fmt in {f.value for f in EventFormat} else EventFormat.ONSITE.value
    plan.prevention_measures = _cap(data.get("prevention_measures"), "prevention_measures", notes, _("防控与应急措施"))
    plan.body = _cap(data.get("body"), "body", notes, _("计划正文"))
    plan.contact_name = _cap(data.get("contact_name"), "contact_name", notes, _("联系人"))
    plan.contact_phone = _cap(data.get("contact_phone"), "contact_phone", notes, _("手机"))
    plan.contact_email = _cap(data.get("contact_email"), "contact_email", notes, _("电子邮箱"))

    # Participating bases: a row needs a base to be stored; the same base twice keeps both reasons.
    rows: dict[int, str] = {}
    for number, row in enumerate(data.get("participants") or [], start=1):
        base_id = _parse_int(row.get("base_id"))
        reason = str(row.get("reason") or "").strip()
        if base_id is None or db.session.get(DemonstrationBase, base_id) is None:
            if reason:
                notes.append(_("参与基地第 %(n)d 行未选择基地，该行理由未保存", n=number))
            continue
        rows[base_id] = f"{rows[base_id]}；{reason}" if base_id in rows and reason else (rows.get(base_id) or reason)
    existing = {p.base_id: p for p in plan.participants}
    for base_id, participant in existing.items():
        if base_id not in rows:
            plan.participants.remove(participant)
    for base_id, reason in rows.items():
        capped = _cap(reason, "reason", notes, _("参与理由"))
        if base_id in existing:
            existing[base_id].reason = capped
        else:
            plan.participants.append(PlanParticipant(base_id=base_id, reason=capped))

    # Time windows: a row needs its earliest start; a missing latest start is the earliest.
    plan.windows.clear()
    db.session.flush()
    for number, row in enumerate(data.get("windows") or [], start=1):
        earliest = _parse_date(row.get("earliest_start"))
        latest = _parse_date(row.get("latest_start"))
        duration = _parse_int(row.get("duration_days"))
        if earliest is None and latest is None and duration is None:
            continue
        if earliest is None:
            earliest = latest
        if earliest is None:
            notes.append(_("时间窗口第 %(n)d 行没有有效日期，未保存", n=number))
            continue
        plan.windows.append(PlanWindow(earliest_start=earliest, latest_start=latest or earliest, duration_days=duration if duration is not None else 1))

    if plan.status == PlanStatus.WITHDRAWN.value:
        plan.status = PlanStatus.DRAFT.value
    plan.updated_at = as_utc(now or utcnow())
    db.session.flush()
    return notes


# ---- validation and submission -----------------------------------------------------


def validation_errors(plan: PreliminaryPlan) -> dict[str, list[str]]:
    """Everything a submission needs, as field → Chinese messages (empty when complete)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not plan.theme.strip():
        add("theme", _("请填写活动主题"))
    if not plan.field.strip():
        add("field", _("请填写专业领域"))
    contents = plan.content_types or {}
    for key, sentence in contents.items():
        if not str(sentence).strip():
            add("content_types", _("“%(label)s”已勾选，请用一句话说明具体内容", label=CONTENT_TYPE_LABELS[ContentType(key)]))
    filled = sum(1 for s in contents.values() if str(s).strip())
    if len(contents) < MIN_CONTENT_TYPES:
        add("content_types", _("主题内容至少涵盖 5 类中的 %(min)d 类，当前勾选 %(n)d 类", min=MIN_CONTENT_TYPES, n=len(contents)))
    elif filled < MIN_CONTENT_TYPES and not errors.get("content_types"):
        add("content_types", _("主题内容至少涵盖 %(min)d 类，每类需有说明", min=MIN_CONTENT_TYPES))
    if not plan.participants:
        add("participants", _("请至少选择一个参与基地，并说明其与产业链、供应链的关联"))
    for participant in plan.participants:
        name = participant.base.display_short_name if participant.base else str(participant.base_id)
        if participant.base_id == plan.base_id:
            add("participants", _("承办基地本身不能作为参与基地：%(name)s", name=name))
        if not participant.reason.strip():
            add("participants", _("请说明 %(name)s 参与的理由（产业链、供应链关联）", name=name))
    if not plan.windows:
        add("windows", _("请至少填写一个拟举办时间窗口"))
    for number, window in enumerate(plan.windows, start=1):
        if window.earliest_start > window.latest_start:
            add("windows", _("时间窗口第 %(n)d 行：最早开始日期不能晚于最晚开始日期", n=number))
        if not 1 <= window.duration_days <= MAX_DURATION_DAYS:
            add("windows", _("时间窗口第 %(n)d 行：活动天数应为 1–%(max)d 天", n=number, max=MAX_DURATION_DAYS))
    if plan.event_format not in {f.value for f in EventFormat}:
        add("event_format", _("请选择活动形式"))
    if not plan.prevention_measures.strip():
        add("prevention_measures", _("请填写防控与应急措施"))
    campaign = campaign_of(plan)
    for message in plan_call(campaign).zishu_errors(plan.body):
        add("body", message)
    if not plan.contact_name.strip():
        add("contact_name", _("请填写联系人"))
    try:
        check_mobile(plan.contact_phone)
    except ValueError as exc:
        add("contact_phone", str(exc) if plan.contact_phone.strip() else _("请填写联系人手机"))
    try:
        check_email(plan.contact_email)
    except ValueError as exc:
        add("contact_email", str(exc) if plan.contact_email.strip() else _("请填写联系人电子邮箱"))
    return errors


def snapshot(plan: PreliminaryPlan) -> dict[str, Any]:
    """The plan's content as JSON (what a version freezes)."""
    return {
        "theme": plan.theme,
        "field": plan.field,
        "content_types": {c.value: plan.content_types[c.value] for c in ContentType if c.value in (plan.content_types or {})},
        "participants": [
            {
                "base_id": p.base_id,
                "base_name": p.base.name if p.base else "",
                "base_short_name": p.base.display_short_name if p.base else "",
                "reason": p.reason,
            }
            for p in plan.participants
        ],
        "windows": [
            {"earliest_start": w.earliest_start.isoformat(), "latest_start": w.latest_start.isoformat(), "duration_days": w.duration_days} for w in plan.windows
        ],
        "event_format": plan.event_format,
        "prevention_measures": plan.prevention_measures,
        "body": plan.body,
        "zishu": count_zishu(plan.body),
        "contact_name": plan.contact_name,
        "contact_phone": plan.contact_phone,
        "contact_email": plan.contact_email,
    }


def latest_version(plan: PreliminaryPlan) -> PlanVersion | None:
    return plan.versions[-1] if plan.versions else None


def has_unsubmitted_changes(plan: PreliminaryPlan) -> bool:
    version = latest_version(plan)
    return version is not None and version.snapshot != snapshot(plan)


def submit(plan: PreliminaryPlan, actor: Any, now: datetime | None = None) -> PlanVersion:
    """Validate and freeze a new version; refused after the (extended) deadline.

    A repeat with nothing changed since the last submission (a double click, a resent form)
    returns that version instead of freezing an identical one: the plan row is locked first,
    so the repeat waits for the first submission and then sees it.
    """
    now = as_utc(now or utcnow())
    lock_for_change(plan)
    campaign = campaign_of(plan)
    check_open(plan, now)
    # normalise the contact before validating so "+86 138-1234-5678" is stored as digits
    with contextlib.suppress(ValueError):
        plan.contact_phone = check_mobile(plan.contact_phone)
    with contextlib.suppress(ValueError):
        plan.contact_email = check_email(plan.contact_email)
    errors = validation_errors(plan)
    if errors:
        raise PlanValidationError(errors)
    latest = latest_version(plan)
    if plan.status == PlanStatus.SUBMITTED.value and latest is not None and latest.snapshot == snapshot(plan):
        return latest
    late = plan_call(campaign).is_late(now)
    version = PlanVersion(
        plan_id=plan.id,
        number=next_version_number(PlanVersion.number, PlanVersion.plan_id == plan.id),
        snapshot=snapshot(plan),
        submitted_at=now,
        submitted_by_id=getattr(actor, "id", None),
        late=late,
    )
    plan.versions.append(version)
    before = {"status": plan.status}
    plan.status = PlanStatus.SUBMITTED.value
    plan.submitted_at = now
    plan.late = late
    db.session.flush()
    audit.record("plan.submit", plan, before=before, after={"status": plan.status, "version": version.number, "late": late}, actor=actor)
    return version


def withdraw(plan: PreliminaryPlan, actor: Any, now: datetime | None = None) -> None:
    """Withdraw a submitted plan (audited); it may be resubmitted while the call is open."""
    if plan.status != PlanStatus.SUBMITTED.value:
        raise PlanError(_("只有已提交的计划可以撤回"))
    before = {"status": plan.status}
    plan.status = PlanStatus.WITHDRAWN.value
    plan.updated_at = as_utc(now or utcnow())
    db.session.flush()
    audit.record("plan.withdraw", plan, before=before, after={"status": plan.status}, actor=actor)


# ---- display helpers ---------------------------------------------------------------


def status_key(plan: PreliminaryPlan) -> str:
    """draft | submitted | withdrawn | late (submitted under an extension after the deadline)."""
    if plan.status == PlanStatus.SUBMITTED.value and plan.late:
        return "late"
    return plan.status


def status_label(plan: PreliminaryPlan) -> str:
    return status_labels()[status_key(plan)]


def completeness_warnings(plan: PreliminaryPlan, campaign: Campaign | None = None) -> list[str]:
    """What an organiser should notice in the list: few content types, no participant, 字数."""
    campaign = campaign or campaign_of(plan)
    warnings = []
    contents = [k for k, v in (plan.content_types or {}).items() if str(v).strip()]
    if len(contents) < MIN_CONTENT_TYPES:
        warnings.append(_("主题内容仅 %(n)d 类（少于 %(min)d 类）", n=len(contents), min=MIN_CONTENT_TYPES))
    if not plan.participants:
        warnings.append(_("没有参与基地"))
    zishu = count_zishu(plan.body)
    if not campaign.zishu_min <= zishu <= campaign.zishu_max:
        warnings.append(_("字数 %(n)d 不在 %(min)d–%(max)d 范围内", n=zishu, min=campaign.zishu_min, max=campaign.zishu_max))
    return warnings


def deadline_info(plan_or_base_id: PreliminaryPlan | int, campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    """Deadline, whether it is an extension, time left, open or not — for the host's page."""
    base_id = plan_or_base_id if isinstance(plan_or_base_id, int) else plan_or_base_id.base_id
    call = plan_call(campaign)
    deadline = call.effective_deadline(base_id)
    now = as_utc(now or utcnow())
    return {
        "deadline": deadline,
        "general": call.deadline,
        "extended": deadline != call.deadline,
        "open": call.is_open(base_id, now),
        "text": deadline_text(deadline),
        "seconds_left": max(0, int((deadline - now).total_seconds())),
    }


# ---- versions and diffs -------------------------------------------------------------


def _lines(snap: dict[str, Any]) -> dict[str, str]:
    """A version's fields as labelled text, for diffs and exports."""
    contents = snap.get("content_types") or {}
    return {
        _("主题"): snap.get("theme", ""),
        _("专业领域"): snap.get("field", ""),
        _("主题内容"): "\n".join(f"{content_type_labels()[k]}：{contents[k]}" for k in (c.value for c in ContentType) if k in contents),
        _("参与基地"): "\n".join(f"{p.get('base_short_name') or p.get('base_name')}：{p.get('reason', '')}" for p in snap.get("participants") or []),
        _("时间窗口"): "\n".join(
            _("%(a)s 至 %(b)s 之间开始，持续 %(d)s 天", a=w["earliest_start"], b=w["latest_start"], d=w["duration_days"]) for w in snap.get("windows") or []
        ),
        _("活动形式"): event_format_labels().get(snap.get("event_format", ""), ""),
        _("防控与应急措施"): snap.get("prevention_measures", ""),
        _("计划正文"): snap.get("body", ""),
        _("联系人"): " / ".join(x for x in (snap.get("contact_name", ""), snap.get("contact_phone", ""), snap.get("contact_email", "")) if x),
    }


def inline_diff(old: str, new: str) -> Markup:
    """Character-level diff (Chinese has no spaces) as HTML with <del> and <ins> (unified)."""
    return _diff_html(old, new)[0]


def _diff_html(old: str, new: str) -> tuple[Markup, Markup, Markup]:
    """(unified, old side with <del>, new side with <ins>), all escaped."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    unified: list[Markup] = []
    left: list[Markup] = []
    right: list[Markup] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            same = escape(old[a1:a2])
            unified.append(same)
            left.append(same)
            right.append(same)
            continue
        if a2 > a1:
            removed = Markup("<del>{}</del>").format(old[a1:a2])
            unified.append(removed)
            left.append(removed)
        if b2 > b1:
            added = Markup("<ins>{}</ins>").format(new[b1:b2])
            unified.append(added)
            right.append(added)
    return Markup("").join(unified), Markup("").join(left), Markup("").join(right)


@dataclass
class FieldDiff:
    label: str
    old: str
    new: str
    changed: bool
    html: Markup = field(default_factory=Markup)  # unified
    old_html: Markup = field(default_factory=Markup)
    new_html: Markup = field(default_factory=Markup)


def diff_versions(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """Per field: old text, new text, whether it changed, and the inline diff."""
    old_lines, new_lines = _lines(old), _lines(new)
    result = []
    for label in new_lines:
        a, b = old_lines.get(label, ""), new_lines[label]
        if a != b:
            unified, left, right = _diff_html(a, b)
            result.append(FieldDiff(label, a, b, True, unified, left, right))
        else:
            result.append(FieldDiff(label, a, b, False, escape(b), escape(a), escape(b)))
    return result


def get_version(plan: PreliminaryPlan, number: int) -> PlanVersion | None:
    return next((v for v in plan.versions if v.number == number), None)


def labelled(snap: dict[str, Any]) -> dict[str, str]:
    return _lines(snap)


# ---- organiser list and export ---------------------------------------------------------


@dataclass
class PlanRow:
    plan: PreliminaryPlan
    status: str
    status_label: str
    warnings: list[str]
    zishu: int
    deadline: datetime


@dataclass
class PlanFilters:
    status: str = ""  # draft | submitted | withdrawn | late
    base_id: int | None = None
    warnings: str = ""  # "" | "yes" | "no"
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> PlanFilters:
        status = args.get("status", "")
        return cls(
            status=status if status in {"draft", "submitted", "withdrawn", "late"} else "",
            base_id=_parse_int(args.get("base_id")),
            warnings=args.get("warnings", "") if args.get("warnings", "") in {"yes", "no"} else "",
            q=(args.get("q") or "").strip(),
        )


def list_plans(campaign: Campaign, filters: PlanFilters | None = None) -> list[PlanRow]:
    """All plans of a campaign with status and warnings, filtered; sorted by base name.

    A campaign has at most a few hundred plans (one per enterprise base), so warnings are
    computed in Python.
    """
    filters = filters or PlanFilters()
    query = (
        select(PreliminaryPlan)
        .join(DemonstrationBase, DemonstrationBase.id == PreliminaryPlan.base_id)
        .where(PreliminaryPlan.campaign_id == campaign.id)
        .options(selectinload(PreliminaryPlan.participants), selectinload(PreliminaryPlan.windows), selectinload(PreliminaryPlan.versions))
        .order_by(DemonstrationBase.name, PreliminaryPlan.id)
    )
    if filters.base_id:
        query = query.where(PreliminaryPlan.base_id == filters.base_id)
    if filters.q:
        like = f"%{filters.q}%"
        query = query.where(DemonstrationBase.name.ilike(like) | DemonstrationBase.short_name.ilike(like) | PreliminaryPlan.theme.ilike(like))
    if filters.status == "late":
        query = query.where(PreliminaryPlan.status == PlanStatus.SUBMITTED.value, PreliminaryPlan.late.is_(True))
    elif filters.status:
        query = query.where(PreliminaryPlan.status == filters.status)
    call = plan_call(campaign)
    rows = []
    for plan in db.session.scalars(query):
        warnings = completeness_warnings(plan, campaign)
        if filters.warnings == "yes" and not warnings:
            continue
        if filters.warnings == "no" and warnings:
            continue
        rows.append(PlanRow(plan, status_key(plan), status_label(plan), warnings, count_zishu(plan.body), call.effective_deadline(plan.base_id)))
    return rows


def status_counts(campaign: Campaign) -> dict[str, int]:
    counts = {"draft": 0, "submitted": 0, "withdrawn": 0, "late": 0}
    for row in list_plans(campaign):
        counts[row.status] += 1
    return counts


EXPORT_HEADER = [
    "基地",
    "基地简称",
    "状态",
    "版本",
    "提交时间（北京时间）",
    "主题",
    "专业领域",
    *CONTENT_TYPE_LABELS.values(),
    "主题内容类数",
    "参与基地",
    "时间窗口",
    "活动形式",
    "防控与应急措施",
    "字数",
    "计划正文",
    "联系人",
    "手机",
    "电子邮箱",
    "提醒",
]


def export_rows(campaign: Campaign) -> list[list[Any]]:
    """One row per plan: what was submitted (latest version) for submitted plans, else the draft."""
    rows: list[list[Any]] = [EXPORT_HEADER]
    for row in list_plans(campaign):
        plan = row.plan
        version = latest_version(plan)
        snap = version.snapshot if version is not None and plan.status == PlanStatus.SUBMITTED.value else snapshot(plan)
        contents = snap.get("content_types") or {}
        lines = _lines(snap)
        values = [
            plan.base.name,
            plan.base.display_short_name,
            row.status_label,
            version.number if version else "",
            format_local(plan.submitted_at),
            snap["theme"],
            snap["field"],
            *[contents.get(c.value, "") for c in ContentType],
            len([v for v in contents.values() if str(v).strip()]),
            lines[_("参与基地")],
            lines[_("时间窗口")],
            lines[_("活动形式")],
            snap["prevention_measures"],
            count_zishu(snap["body"]),
            snap["body"],
            snap["contact_name"],
            snap["contact_phone"],
            snap["contact_email"],
            "；".join(row.warnings),
        ]
        rows.append([_safe_cell(v) for v in values])
    return rows


def export_xlsx(campaign: Campaign) -> bytes:
    """All plans of the campaign in one sheet (see :func:`export_rows`), header bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "初步计划"
    for number, values in enumerate(export_rows(campaign)):
        sheet.append(values)
        if number == 0:
            for cell in sheet[1]:
                cell.font = Font(bold=True)
    for column in sheet.columns:
        letter = column[0].column_letter
        sheet.column_dimensions[letter].width = 18
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
