"""Detailed plan (活动方案) rules: the working copy, its sections, submission, review, versions.

Views call these with explicit arguments (the actor, ``now``); tests call them without HTTP.
The host edits rows (sessions, needs, resources…) while the plan is a draft or was sent back;
every submission freezes the rows with :func:`content.build_snapshot` into a numbered
:class:`DetailPlanVersion`; only the version the organiser approved is public
(:func:`content.publication`), so revising an approved plan never leaks a draft.

Field rules live here (not in the forms) so a service call without HTTP is checked exactly like
a form, and the submission check reuses them: every message is Chinese and names the field.
The caller commits; every change leaves an audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from flask import has_request_context
from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.core import audit
from eventhub.core.i18n import join_list
from eventhub.core.locking import lock_for_change
from eventhub.core.permissions import Role, has_permission
from eventhub.core.timeutil import as_utc, end_of_day, format_local, is_on_time, remaining, to_shanghai, utcnow
from eventhub.core.uploads import DOCUMENT_KINDS, StoredFile, UploadError, save_upload
from eventhub.events import content
from eventhub.events.models import (
    ApprovalMode,
    DetailPlan,
    DetailPlanAttachment,
    DetailPlanBase,
    DetailPlanStatus,
    DetailPlanVersion,
    Event,
    EventSession,
    EventStatus,
    ResourceKind,
    SessionAccess,
    SessionKind,
    SharedResource,
    TechNeed,
)
from eventhub.extensions import db
from eventhub.plans.calls import next_version_number
from eventhub.plans.models import ContentType, PreliminaryPlan

MIN_CONTENT_TYPES = 4  # the notice: each theme day covers at least 4 of the 5 content types
MAX_ATTACHMENTS = 20
EDITABLE = frozenset({DetailPlanStatus.DRAFT.value, DetailPlanStatus.CHANGES_REQUESTED.value})
WITHDRAWN_DECISION = "withdrawn"  # DetailPlanVersion.decision of a submission the host took back

# Length caps (the columns' sizes; long texts are bounded so a page stays readable).
CAPS = {
    "goals": 5000,
    "venue": 300,
    "emergency_plan": 10000,
    "session_title": 200,
    "session_venue": 200,
    "online_url": 500,
    "description": 5000,
    "role": 300,
    "need_title": 200,
    "need_field": 100,
    "resource_name": 200,
    "short_name": 50,
    "attachment_title": 200,
    "comment": 5000,
}


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, scheduler, tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


# ---- errors ---------------------------------------------------------------------------------


class DetailPlanError(ValueError):
    """A rule was broken (a message for the user; ``field`` names the form field when there is one)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SectionError(DetailPlanError):
    """A section's values broke rules: ``errors`` maps a form field name to its Chinese messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.values()))[0] if errors else ""
        super().__init__(first, next(iter(errors), None))
        self.errors = errors


@dataclass(frozen=True)
class Problem:
    """Why a plan cannot be submitted yet; ``section`` is the anchor of the section on the plan page."""

    section: str
    message: str


class PlanIncompleteError(DetailPlanError):
    """Submission refused: every problem, each with the section to fix it in."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(_("活动方案尚不完整，不能提交：请按提示修改"))
        self.problems = problems


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise SectionError(errors)


# ---- labels (translated) ----------------------------------------------------------------------


def section_labels() -> dict[str, str]:
    """The plan page's sections, by anchor, in page order."""
    return {
        "short-name": _("基地简称"),
        "goals": _("活动目标"),
        "venue": _("主会场"),
        "sessions": _("活动议程"),
        "bases": _("参与基地及分工"),
        "needs": _("技术需求清单"),
        "resources": _("开放共享资源"),
        "emergency": _("防控与应急预案"),
        "registration": _("报名设置"),
        "attachments": _("附件"),
    }


def status_labels() -> dict[str, str]:
    """Plan states, plus ``none`` for an event whose host has not opened the plan yet."""
    return {
        "none": _("未开始"),
        DetailPlanStatus.DRAFT.value: _("草稿"),
        DetailPlanStatus.SUBMITTED.value: _("待审核"),
        DetailPlanStatus.CHANGES_REQUESTED.value: _("退回修改"),
        DetailPlanStatus.APPROVED.value: _("已批准"),
    }


def decision_labels() -> dict[str, str]:
    return {
        DetailPlanStatus.APPROVED.value: _("已批准"),
        DetailPlanStatus.CHANGES_REQUESTED.value: _("退回修改"),
        WITHDRAWN_DECISION: _("已撤回"),
    }


def session_kind_labels() -> dict[str, str]:
    return {
        SessionKind.OPENING.value: _("开幕式"),
        SessionKind.FORUM.value: _("论坛"),
        SessionKind.ROADSHOW.value: _("路演"),
        SessionKind.MATCHMAKING.value: _("对接会"),
        SessionKind.EXHIBITION.value: _("展览展示"),
        SessionKind.SIGNING.value: _("签约仪式"),
    }


def session_access_labels() -> dict[str, str]:
    return {SessionAccess.OPEN.value: _("公开报名"), SessionAccess.INVITATION.value: _("仅限受邀")}


def approval_mode_labels() -> dict[str, str]:
    return {ApprovalMode.AUTOMATIC.value: _("自动确认"), ApprovalMode.MODERATED.value: _("承办方审核")}


def resource_kind_labels() -> dict[str, str]:
    return {
        ResourceKind.LAB.value: _("实验室"),
        ResourceKind.EQUIPMENT.value: _("仪器设备"),
        ResourceKind.SCENARIO.value: _("应用场景"),
        ResourceKind.SUPPLY_CHAIN.value: _("供应链开放"),
        ResourceKind.OTHER.value: _("其他"),
    }


def content_type_labels() -> dict[str, str]:
    return {
        ContentType.RESOURCES.value: _("创新资源开放共享"),
        ContentType.JOINT_RD.value: _("创新项目协作攻关"),
        ContentType.COMMERCIALISATION.value: _("创新成果联合转化"),
        ContentType.ROADSHOW.value: _("创新团队对接路演"),
        ContentType.MATCHMAKING.value: _("创新主体深度对接"),
    }


def budget_label(budget_min: int | None, budget_max: int | None) -> str:
    if budget_min is None and budget_max is None:
        return _("面议")
    if budget_min is not None and budget_max is not None:
        if budget_min == budget_max:
            return _("%(n)d 万元", n=budget_min)
        return _("%(a)d–%(b)d 万元", a=budget_min, b=budget_max)
    if budget_min is not None:
        return _("%(n)d 万元以上", n=budget_min)
    return _("%(n)d 万元以内", n=budget_max)


def iso_local(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO timestamp from a snapshot shown in Beijing time ("" for none)."""
    return format_local(datetime.fromisoformat(value), fmt) if value else ""


def filesize(size: int | None) -> str:
    if not size:
        return ""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(size // 1024, 1)} KB"


# ---- the working copy -----------------------------------------------------------------------


def get_detail_plan(event: Event) -> DetailPlan | None:
    return db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == event.id))


def ensure_detail_plan(event: Event) -> DetailPlan:
    """The event's working copy, created on the host's first visit.

    The participating bases are pre-filled from the preliminary plan the event was selected
    from (its reason becomes the role), so the host starts from what the organiser approved.
    Two first visits at the same moment: the unique ``event_id`` lets one insert win and the
    other reads it back (nothing else is pending on a first visit, so the rollback loses nothing).
    """
    plan = get_detail_plan(event)
    if plan is not None:
        return plan
    plan = DetailPlan(event_id=event.id, status=DetailPlanStatus.DRAFT.value, goals="", venue="", emergency_plan="")
    if event.plan_id is not None:
        preliminary = db.session.get(PreliminaryPlan, event.plan_id)
        for participant in preliminary.participants if preliminary else []:
            if participant.base_id != event.host_base_id:
                plan.bases.append(DetailPlanBase(base_id=participant.base_id, role=(participant.reason or "")[: CAPS["role"]]))
    db.session.add(plan)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = get_detail_plan(event)
        if existing is None:
            raise
        return existing
    audit.record("detail_plan.create", plan, after={"event_id": event.id, "bases": [b.base_id for b in plan.bases]}, actor=None)
    return plan


def is_editable(plan: DetailPlan) -> bool:
    return plan.status in EDITABLE and plan.event.status == EventStatus.SCHEDULED.value


def check_editable(plan: DetailPlan) -> None:
    """Raise with the reason when the working copy is locked (submitted, approved, event withdrawn)."""
    if plan.event.status != EventStatus.SCHEDULED.value:
        raise DetailPlanError(_("活动已撤销，活动方案不能再修改。"))
    if plan.status == DetailPlanStatus.SUBMITTED.value:
        raise DetailPlanError(_("活动方案已提交，正在等待组织方审核，不能修改。如需修改，请先撤回提交。"))
    if plan.status == DetailPlanStatus.APPROVED.value:
        raise DetailPlanError(_("活动方案已批准。如需修改，请先“开始修订”；修订版批准前，公开页面仍显示已批准的版本。"))


def _touch(plan: DetailPlan, now: datetime | None = None) -> None:
    plan.updated_at = as_utc(now or utcnow())


def _edited(plan: DetailPlan, section: str, action: str, actor: Any, **details: Any) -> None:
    """One audit row per edit: which section, what was done, the item it concerned."""
    _touch(plan)
    db.session.flush()
    audit.record("detail_plan.edit", plan, after={"section": section, "action": action, **details}, actor=actor)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _cap(errors: dict[str, list[str]], name: str, value: str, key: str) -> None:
    if len(value) > CAPS[key]:
        _add(errors, name, _("最多 %(max)d 个字符，当前 %(n)d 个", max=CAPS[key], n=len(value)))


# ---- title and short name -------------------------------------------------------------------


def title_of(event: Event) -> str:
    """“{简称}融通创新主题日活动方案” (the name the notice gives the document)."""
    return content.detail_plan_title(event)


def has_short_name(event: Event) -> bool:
    return bool(event.host_base is not None and (event.host_base.short_name or "").strip())


def set_short_name(event: Event, short_name: str, actor: Any) -> DemonstrationBase:
    """The host fills in its base's missing short name (a registry change, audited as one).

    Only an empty short name can be set here: changing an existing one is the organiser's
    registry work, since it renames documents other people already have.
    """
    base = event.host_base
    if has_short_name(event):
        raise DetailPlanError(_("本基地简称已登记为“%(name)s”，如需修改请联系组织方。", name=base.short_name), "short_name")
    value = _text(short_name)
    errors: dict[str, list[str]] = {}
    if not value:
        _add(errors, "short_name", _("请填写基地简称"))
    else:
        _cap(errors, "short_name", value, "short_name")
    _raise_if(errors)
    before = {"short_name": base.short_name}
    old_title = f"{base.name}融通创新主题日"
    base.short_name = value
    db.session.flush()
    audit.record("bases.update", base, before=before, after={"short_name": value}, actor=actor)
    # The theme day is called after the short name too: rename the base's scheduled events that
    # still carry the full name (SEQUENCE + 1, so subscribed calendars update the entry).
    for other in db.session.scalars(select(Event).where(Event.host_base_id == base.id, Event.status == EventStatus.SCHEDULED.value)):
        if other.title == old_title:
            other.title = f"{value}融通创新主题日"
            other.sequence += 1
            audit.record("event.update", other, before={"title": old_title}, after={"title": other.title}, actor=actor)
    db.session.flush()
    return base


# ---- due time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueInfo:
    """The plan's due time for the host's page: countdown while open, “late” afterwards."""

    due: datetime
    seconds_left: int
    overdue: bool
    remaining_text: str


def due_info(event: Event, now: datetime | None = None) -> DueInfo:
    from eventhub.campaigns.services import remaining_text

    now = as_utc(now or utcnow())
    left = remaining(event.detail_plan_due, now)
    return DueInfo(
        due=as_utc(event.detail_plan_due),
        seconds_left=max(0, int(left.total_seconds())),
        overdue=not is_on_time(event.detail_plan_due, now),
        remaining_text=remaining_text(event.detail_plan_due, now),
    )


def is_late(event: Event, now: datetime | None = None) -> bool:
    """A submission after ``Event.detail_plan_due`` (to the second) is late: accepted, but marked."""
    return not is_on_time(event.detail_plan_due, now)


# ---- text sections: goals, main venue, emergency plan ------------------------------------------

# section anchor -> (DetailPlan attribute, cap key)
TEXT_SECTIONS = {"goals": "goals", "venue": "venue", "emergency": "emergency_plan"}


def update_text(plan: DetailPlan, section: str, value: str, actor: Any) -> None:
    """Store one text section (empty is allowed in a draft; the submission asks for it)."""
    if section not in TEXT_SECTIONS:
        raise DetailPlanError(_("没有这个栏目"))
    check_editable(plan)
    attribute = TEXT_SECTIONS[section]
    text = _text(value)
    errors: dict[str, list[str]] = {}
    _cap(errors, "text", text, attribute)
    _raise_if(errors)
    if getattr(plan, attribute) == text:
        return
    setattr(plan, attribute, text)
    _edited(plan, section, "update", actor, length=len(text))


# ---- agenda sessions ----------------------------------------------------------------------------


@dataclass
class SessionData:
    """One session as typed (``None`` where a value was missing or unreadable)."""

    title: str = ""
    kind: str = ""
    day: date | None = None
    start_time: time | None = None
    end_time: time | None = None
    venue: str = ""
    online_url: str = ""
    access: str = SessionAccess.OPEN.value
    content_types: list[str] = field(default_factory=list)
    description: str = ""
    capacity: int | None = None

    @classmethod
    def of(cls, session: EventSession) -> SessionData:
        return cls(
            title=session.title,
            kind=session.kind,
            day=session.day,
            start_time=session.start_time,
            end_time=session.end_time,
            venue=session.venue,
            online_url=session.online_url,
            access=session.access,
            content_types=list(session.content_types or []),
            description=session.description,
            capacity=session.capacity,
        )


def is_web_url(value: str) -> bool:
    """An absolute http(s) address with a host and no spaces (what a phone can open)."""
    if not value or any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _dates_text(event: Event) -> str:
    return event.start_date.isoformat() if event.start_date == event.end_date else f"{event.start_date.isoformat()} 至 {event.end_date.isoformat()}"


def session_errors(plan: DetailPlan, data: SessionData) -> dict[str, list[str]]:
    """Every rule of one session, as form field → Chinese messages."""
    event = plan.event
    errors: dict[str, list[str]] = {}
    data.title, data.venue, data.online_url, data.description = _text(data.title), _text(data.venue), _text(data.online_url), _text(data.description)
    if not data.title:
        _add(errors, "title", _("请填写场次名称"))
    _cap(errors, "title", data.title, "session_title")
    if data.kind not in {k.value for k in SessionKind}:
        _add(errors, "kind", _("请选择场次类型"))
    if data.day is None:
        _add(errors, "day", _("请填写日期"))
    elif not event.start_date <= data.day <= event.end_date:
        _add(errors, "day", _("日期应在活动日期（%(dates)s）之内", dates=_dates_text(event)))
    if data.start_time is None:
        _add(errors, "start_time", _("请填写开始时间"))
    if data.end_time is None:
        _add(errors, "end_time", _("请填写结束时间"))
    if data.start_time is not None and data.end_time is not None and data.start_time >= data.end_time:
        _add(errors, "end_time", _("结束时间应晚于开始时间"))
    _cap(errors, "venue", data.venue, "session_venue")
    if data.online_url and not is_web_url(data.online_url):
        _add(errors, "online_url", _("线上链接应为以 http:// 或 https:// 开头的完整网址"))
    _cap(errors, "online_url", data.online_url, "online_url")
    if not data.venue and not data.online_url:
        _add(errors, "venue", _("请填写会场（房间）或线上链接，至少一项"))
    if data.access not in {a.value for a in SessionAccess}:
        _add(errors, "access", _("请选择参加方式"))
    known = [c.value for c in ContentType]
    if any(c not in known for c in data.content_types):
        _add(errors, "content_types", _("请选择有效的主题内容类型"))
    data.content_types = [c for c in known if c in data.content_types]  # canonical order, no duplicates
    _cap(errors, "description", data.description, "description")
    if data.capacity is not None:
        if data.capacity < 1:
            _add(errors, "capacity", _("本场人数上限应为不小于 1 的整数"))
        elif plan.registration_capacity is not None and data.capacity > plan.registration_capacity:
            _add(errors, "capacity", _("本场人数上限不能超过活动报名人数上限（%(cap)d 人）", cap=plan.registration_capacity))
    return errors


def _apply_session(session: EventSession, data: SessionData) -> None:
    session.title = data.title
    session.kind = data.kind
    session.day = data.day  # type: ignore[assignment]  (checked not None)
    session.start_time = data.start_time  # type: ignore[assignment]
    session.end_time = data.end_time  # type: ignore[assignment]
    session.venue = data.venue
    session.online_url = data.online_url
    session.access = data.access
    session.content_types = list(data.content_types)
    session.description = data.description
    session.capacity = data.capacity


def add_session(plan: DetailPlan, data: SessionData, actor: Any) -> EventSession:
    check_editable(plan)
    _raise_if(session_errors(plan, data))
    session = EventSession(event_id=plan.event_id)
    _apply_session(session, data)
    plan.sessions.append(session)
    db.session.flush()
    _edited(plan, "sessions", "add", actor, id=session.id, title=session.title)
    return session


def update_session(session: EventSession, data: SessionData, actor: Any) -> EventSession:
    plan = session.plan
    check_editable(plan)
    _raise_if(session_errors(plan, data))
    _apply_session(session, data)
    _edited(plan, "sessions", "update", actor, id=session.id, title=session.title)
    return session


def delete_session(session: EventSession, actor: Any) -> None:
    plan = session.plan
    check_editable(plan)
    details = {"id": session.id, "title": session.title}
    plan.sessions.remove(session)
    _edited(plan, "sessions", "delete", actor, **details)


# ---- participating bases ------------------------------------------------------------------------


def registry_choices(plan: DetailPlan) -> list[DemonstrationBase]:
    """Bases that may still be added: the registry without the host and those already listed."""
    taken = {b.base_id for b in plan.bases} | {plan.event.host_base_id}
    return [b for b in db.session.scalars(select(DemonstrationBase).order_by(DemonstrationBase.name)) if b.id not in taken]


def _role_errors(errors: dict[str, list[str]], role: str) -> None:
    if not role:
        _add(errors, "role", _("请填写该基地在活动中的分工"))
    _cap(errors, "role", role, "role")


def add_base(plan: DetailPlan, base_id: int | None, role: str, actor: Any) -> DetailPlanBase:
    check_editable(plan)
    role = _text(role)
    errors: dict[str, list[str]] = {}
    base = db.session.get(DemonstrationBase, base_id) if base_id else None
    if base is None:
        _add(errors, "base_id", _("请从基地名录中选择参与基地"))
    elif base.id == plan.event.host_base_id:
        _add(errors, "base_id", _("承办基地本身不能作为参与基地"))
    elif any(b.base_id == base.id for b in plan.bases):
        _add(errors, "base_id", _("%(name)s 已在参与基地名单中", name=base.display_short_name))
    _role_errors(errors, role)
    _raise_if(errors)
    assert base is not None
    row = DetailPlanBase(base_id=base.id, role=role)
    plan.bases.append(row)
    _edited(plan, "bases", "add", actor, base_id=base.id, role=role)
    return row


def update_base_role(row: DetailPlanBase, role: str, actor: Any) -> None:
    plan = row.plan
    check_editable(plan)
    role = _text(role)
    errors: dict[str, list[str]] = {}
    _role_errors(errors, role)
    _raise_if(errors)
    row.role = role
    _edited(plan, "bases", "update", actor, base_id=row.base_id, role=role)


def remove_base(row: DetailPlanBase, actor: Any) -> None:
    plan = row.plan
    check_editable(plan)
    base_id = row.base_id
    plan.bases.remove(row)
    _edited(plan, "bases", "delete", actor, base_id=base_id)


# ---- technology needs (揭榜挂帅) ------------------------------------------------------------------


@dataclass
class NeedData:
    title: str = ""
    field: str = ""
    description: str = ""
    expected_result: str = ""
    budget_min: int | None = None  # 万元; both empty = 面议
    budget_max: int | None = None
    response_deadline: date | None = None  # a Beijing date; stored as 23:59:59 that day

    @classmethod
    def of(cls, need: TechNeed) -> NeedData:
        return cls(
            title=need.title,
            field=need.field,
            description=need.description,
            expected_result=need.expected_result,
            budget_min=need.budget_min,
            budget_max=need.budget_max,
            response_deadline=to_shanghai(need.response_deadline).date() if need.response_deadline else None,
        )


def need_errors(plan: DetailPlan, data: NeedData) -> dict[str, list[str]]:
    """Rules of one need. The response deadline is a Beijing date no later than the event's last day:
    answers are matched during the theme day, so none can arrive after it."""
    event = plan.event
    errors: dict[str, list[str]] = {}
    data.title, data.field = _text(data.title), _text(data.field)
    data.description, data.expected_result = _text(data.description), _text(data.expected_result)
    if not data.title:
        _add(errors, "title", _("请填写需求名称"))
    _cap(errors, "title", data.title, "need_title")
    if not data.field:
        _add(errors, "field", _("请填写技术领域"))
    _cap(errors, "field", data.field, "need_field")
    if not data.description:
        _add(errors, "description", _("请填写需求描述"))
    _cap(errors, "description", data.description, "description")
    _cap(errors, "expected_result", data.expected_result, "description")
    for name, value in (("budget_min", data.budget_min), ("budget_max", data.budget_max)):
        if value is not None and value < 0:
            _add(errors, name, _("预算应为不小于 0 的整数（万元）"))
    if data.budget_min is not None and data.budget_max is not None and 0 <= data.budget_max < data.budget_min:
        _add(errors, "budget_max", _("预算上限不能低于下限"))
    if data.response_deadline is None:
        _add(errors, "response_deadline", _("请填写揭榜截止日期"))
    elif data.response_deadline > event.end_date:
        _add(errors, "response_deadline", _("揭榜截止日期不能晚于活动结束日期（%(end)s）", end=event.end_date.isoformat()))
    return errors


def _apply_need(need: TechNeed, data: NeedData) -> None:
    need.title = data.title
    need.field = data.field
    need.description = data.description
    need.expected_result = data.expected_result
    need.budget_min = data.budget_min
    need.budget_max = data.budget_max
    need.response_deadline = end_of_day(data.response_deadline) if data.response_deadline else None


def add_need(plan: DetailPlan, data: NeedData, actor: Any) -> TechNeed:
    check_editable(plan)
    _raise_if(need_errors(plan, data))
    need = TechNeed(plan_id=plan.id, event_id=plan.event_id, position=max((n.position for n in plan.needs), default=0) + 1)
    _apply_need(need, data)
    plan.needs.append(need)
    db.session.flush()
    _edited(plan, "needs", "add", actor, id=need.id, title=need.title)
    return need


def update_need(need: TechNeed, data: NeedData, actor: Any) -> TechNeed:
    plan = need.plan
    check_editable(plan)
    _raise_if(need_errors(plan, data))
    _apply_need(need, data)
    _edited(plan, "needs", "update", actor, id=need.id, title=need.title)
    return need


def delete_need(need: TechNeed, actor: Any) -> None:
    """Refused once an SME has answered the need: answers are records that later become deals."""
    plan = need.plan
    check_editable(plan)
    count = len(need.responses)
    if count:
        raise DetailPlanError(_("技术需求“%(title)s”已收到 %(n)d 份揭榜响应，不能删除；可以修改其内容。", title=need.title, n=count))
    details = {"id": need.id, "title": need.title}
    plan.needs.remove(need)
    db.session.delete(need)
    _edited(plan, "needs", "delete", actor, **details)


# ---- shared resources ---------------------------------------------------------------------------


@dataclass
class ResourceData:
    name: str = ""
    kind: str = ""
    description: str = ""
    access_terms: str = ""

    @classmethod
    def of(cls, resource: SharedResource) -> ResourceData:
        return cls(resource.name, resource.kind, resource.description, resource.access_terms)


def resource_errors(data: ResourceData) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    data.name, data.description, data.access_terms = _text(data.name), _text(data.description), _text(data.access_terms)
    if not data.name:
        _add(errors, "name", _("请填写资源名称"))
    _cap(errors, "name", data.name, "resource_name")
    if data.kind not in {k.value for k in ResourceKind}:
        _add(errors, "kind", _("请选择资源类型"))
    _cap(errors, "description", data.description, "description")
    _cap(errors, "access_terms", data.access_terms, "description")
    return errors


def _apply_resource(resource: SharedResource, data: ResourceData) -> None:
    resource.name, resource.kind, resource.description, resource.access_terms = data.name, data.kind, data.description, data.access_terms


def add_resource(plan: DetailPlan, data: ResourceData, actor: Any) -> SharedResource:
    check_editable(plan)
    _raise_if(resource_errors(data))
    resource = SharedResource(event_id=plan.event_id, position=max((r.position for r in plan.resources), default=0) + 1)
    _apply_resource(resource, data)
    plan.resources.append(resource)
    db.session.flush()
    _edited(plan, "resources", "add", actor, id=resource.id, name=resource.name)
    return resource


def update_resource(resource: SharedResource, data: ResourceData, actor: Any) -> SharedResource:
    plan = resource.plan
    check_editable(plan)
    _raise_if(resource_errors(data))
    _apply_resource(resource, data)
    _edited(plan, "resources", "update", actor, id=resource.id, name=resource.name)
    return resource


def delete_resource(resource: SharedResource, actor: Any) -> None:
    plan = resource.plan
    check_editable(plan)
    details = {"id": resource.id, "name": resource.name}
    plan.resources.remove(resource)
    _edited(plan, "resources", "delete", actor, **details)


# ---- registration settings -------------------------------------------------------------------------


@dataclass
class RegistrationData:
    capacity: int | None = None
    opens_at: datetime | None = None  # aware UTC
    closes_at: datetime | None = None
    approval_mode: str = ApprovalMode.AUTOMATIC.value

    @classmethod
    def of(cls, plan: DetailPlan) -> RegistrationData:
        return cls(plan.registration_capacity, plan.registration_opens_at, plan.registration_closes_at, plan.approval_mode)


def event_end(event: Event) -> datetime:
    """23:59:59 Beijing on the event's last day, as UTC."""
    return end_of_day(event.end_date)


def registration_errors(plan: DetailPlan, data: RegistrationData) -> dict[str, list[str]]:
    """Complete and consistent: capacity ≥ 1 and not below any session's, opens < closes ≤ event end."""
    errors: dict[str, list[str]] = {}
    if data.capacity is None:
        _add(errors, "capacity", _("请填写报名人数上限"))
    elif data.capacity < 1:
        _add(errors, "capacity", _("报名人数上限应为不小于 1 的整数"))
    else:
        for session in plan.sessions:
            if session.capacity is not None and session.capacity > data.capacity:
                _add(errors, "capacity", _("报名人数上限不能小于场次“%(title)s”的人数上限（%(n)d 人）", title=session.title, n=session.capacity))
    if data.opens_at is None:
        _add(errors, "opens_at", _("请填写报名开始时间"))
    if data.closes_at is None:
        _add(errors, "closes_at", _("请填写报名截止时间"))
    if data.opens_at is not None and data.closes_at is not None and as_utc(data.opens_at) >= as_utc(data.closes_at):
        _add(errors, "closes_at", _("报名截止时间应晚于开始时间"))
    if data.closes_at is not None and as_utc(data.closes_at) > event_end(plan.event):
        _add(errors, "closes_at", _("报名截止时间不能晚于活动结束时间（%(end)s，北京时间）", end=format_local(event_end(plan.event))))
    if data.approval_mode not in {m.value for m in ApprovalMode}:
        _add(errors, "approval_mode", _("请选择报名审核方式"))
    return errors


def update_registration(plan: DetailPlan, data: RegistrationData, actor: Any) -> None:
    check_editable(plan)
    _raise_if(registration_errors(plan, data))
    before = {
        "capacity": plan.registration_capacity,
        "opens_at": plan.registration_opens_at,
        "closes_at": plan.registration_closes_at,
        "mode": plan.approval_mode,
    }
    plan.registration_capacity = data.capacity
    plan.registration_opens_at = as_utc(data.opens_at) if data.opens_at else None
    plan.registration_closes_at = as_utc(data.closes_at) if data.closes_at else None
    plan.approval_mode = data.approval_mode
    _touch(plan)
    db.session.flush()
    after = {
        "capacity": plan.registration_capacity,
        "opens_at": plan.registration_opens_at,
        "closes_at": plan.registration_closes_at,
        "mode": plan.approval_mode,
    }
    audit.record("detail_plan.edit", plan, before={"section": "registration", **before}, after={"section": "registration", **after}, actor=actor)


# ---- attachments ------------------------------------------------------------------------------------


def add_attachment(plan: DetailPlan, file: Any, title: str, actor: Any) -> DetailPlanAttachment:
    """Store an upload checked by content (PDF, DOCX, XLSX, PNG, JPEG; at most 20 MB)."""
    check_editable(plan)
    title = _text(title)
    errors: dict[str, list[str]] = {}
    _cap(errors, "title", title, "attachment_title")
    if file is None or not getattr(file, "filename", ""):
        _add(errors, "file", _("请选择要上传的文件"))
    if len(plan.attachments) >= MAX_ATTACHMENTS:
        _add(errors, "file", _("附件最多 %(n)d 个，请先删除不需要的附件", n=MAX_ATTACHMENTS))
    _raise_if(errors)
    try:
        stored = save_upload(file, kinds=DOCUMENT_KINDS, uploaded_by=actor)
    except UploadError as exc:
        raise SectionError({"file": [str(exc)]}) from exc
    db.session.flush()
    attachment = DetailPlanAttachment(file_id=stored.id, title=title or stored.original_name)
    attachment.file = stored
    plan.attachments.append(attachment)
    db.session.flush()
    _edited(plan, "attachments", "add", actor, id=attachment.id, file_id=stored.id, filename=stored.original_name, size=stored.size)
    return attachment


def delete_attachment(attachment: DetailPlanAttachment, actor: Any) -> None:
    """Remove it from the working copy; the stored file stays, since submitted versions may list it."""
    plan = attachment.plan
    check_editable(plan)
    details = {"id": attachment.id, "file_id": attachment.file_id, "filename": attachment.file.original_name}
    plan.attachments.remove(attachment)
    _edited(plan, "attachments", "delete", actor, **details)


def plan_file(plan: DetailPlan, file_id: int) -> StoredFile | None:
    """A file of this plan: attached now, or listed in one of its submitted versions (else None)."""
    known = {a.file_id for a in plan.attachments}
    for version in plan.versions:
        known |= {int(a["file_id"]) for a in (version.snapshot or {}).get("attachments", []) if a.get("file_id") is not None}
    return db.session.get(StoredFile, file_id) if file_id in known else None


# ---- submission -----------------------------------------------------------------------------------


def _online_only(session: EventSession) -> bool:
    return bool(session.online_url) and not session.venue


def validation_problems(plan: DetailPlan) -> list[Problem]:
    """Everything a submission needs, each problem with the section to fix it in (empty = complete)."""
    event = plan.event
    problems: list[Problem] = []

    def add(section: str, message: str) -> None:
        problems.append(Problem(section, message))

    if not has_short_name(event):
        add("short-name", _("请先填写本基地简称：方案标题为“简称＋融通创新主题日活动方案”"))
    if not plan.goals.strip():
        add("goals", _("请填写活动目标"))
    sessions = list(plan.sessions)
    if not plan.venue.strip() and (not sessions or not all(_online_only(s) for s in sessions)):
        add("venue", _("请填写主会场地址（仅当全部场次均为线上时可不填）"))
    if not sessions:
        add("sessions", _("议程至少需要安排一场活动"))
    for session in sessions:
        if not event.start_date <= session.day <= event.end_date:
            add(
                "sessions",
                _("场次“%(title)s”的日期 %(day)s 不在活动日期（%(dates)s）之内", title=session.title, day=session.day.isoformat(), dates=_dates_text(event)),
            )
    covered = {c for s in sessions for c in (s.content_types or [])}
    if sessions and len(covered) < MIN_CONTENT_TYPES:
        labels = content_type_labels()
        missing = join_list(labels[c.value] for c in ContentType if c.value not in covered)
        add(
            "sessions",
            _(
                "各场次合计至少应涵盖 5 类主题内容中的 %(min)d 类，目前涵盖 %(n)d 类（未涵盖：%(missing)s）",
                min=MIN_CONTENT_TYPES,
                n=len(covered),
                missing=missing,
            ),
        )
    for need in plan.needs:
        if need.response_deadline is not None and as_utc(need.response_deadline) > event_end(event):
            add("needs", _("技术需求“%(title)s”的揭榜截止日期晚于活动结束日期（%(end)s）", title=need.title, end=event.end_date.isoformat()))
    if not plan.emergency_plan.strip():
        add("emergency", _("请填写防控与应急预案"))
    for messages in registration_errors(plan, RegistrationData.of(plan)).values():
        for message in messages:
            add("registration", message)
    return problems


def latest_version(plan: DetailPlan) -> DetailPlanVersion | None:
    return plan.versions[-1] if plan.versions else None


def get_version(plan: DetailPlan, number: int) -> DetailPlanVersion | None:
    return next((v for v in plan.versions if v.number == number), None)


def approved_version(plan: DetailPlan) -> DetailPlanVersion | None:
    return get_version(plan, plan.approved_version_number) if plan.approved_version_number else None


def submit(plan: DetailPlan, actor: Any, now: datetime | None = None) -> DetailPlanVersion:
    """Check the whole plan and freeze it as the next version; after the due time it is marked late.

    Organisers are told by keyed mail (one per organiser and version). A repeat of a submission
    that is still awaiting review with nothing changed (a double click, a resent form) returns
    that version: the plan row is locked first, so the repeat waits for the first and sees it.
    """
    now = as_utc(now or utcnow())
    lock_for_change(plan)
    event = plan.event
    if event.status != EventStatus.SCHEDULED.value:
        raise DetailPlanError(_("活动已撤销，活动方案不能再提交。"))
    latest = latest_version(plan)
    if plan.status == DetailPlanStatus.SUBMITTED.value and latest is not None and latest.decision is None and latest.snapshot == content.build_snapshot(plan):
        return latest
    if plan.status not in EDITABLE:
        raise DetailPlanError(_("只有草稿或退回修改的活动方案可以提交（当前：%(status)s）", status=status_labels()[plan.status]))
    problems = validation_problems(plan)
    if problems:
        raise PlanIncompleteError(problems)
    late = is_late(event, now)
    number = next_version_number(DetailPlanVersion.number, DetailPlanVersion.plan_id == plan.id)
    version = DetailPlanVersion(
        number=number,
        snapshot=content.build_snapshot(plan),
        submitted_at=now,
        submitted_by_id=getattr(actor, "id", None),
        late=late,
    )
    plan.versions.append(version)
    before = {"status": plan.status}
    plan.status = DetailPlanStatus.SUBMITTED.value
    plan.submitted_at = now
    plan.late = late
    _touch(plan, now)
    db.session.flush()
    audit.record("detail_plan.submit", plan, before=before, after={"status": plan.status, "version": number, "late": late}, actor=actor)
    _mail_organisers(plan, version)
    return version


def withdraw(plan: DetailPlan, actor: Any, now: datetime | None = None) -> None:
    """The host takes a submission back before the organiser decides (back to draft, audited)."""
    if plan.status != DetailPlanStatus.SUBMITTED.value:
        raise DetailPlanError(_("只有待审核的活动方案可以撤回"))
    version = latest_version(plan)
    if version is not None and version.decision is None:
        version.decision = WITHDRAWN_DECISION
        version.decided_at = as_utc(now or utcnow())
        version.decided_by_id = getattr(actor, "id", None)
    before = {"status": plan.status}
    plan.status = DetailPlanStatus.DRAFT.value
    _touch(plan, now)
    db.session.flush()
    audit.record("detail_plan.withdraw", plan, before=before, after={"status": plan.status, "version": version.number if version else None}, actor=actor)


def start_revision(plan: DetailPlan, actor: Any, now: datetime | None = None) -> None:
    """From an approved plan back to a draft; the approved version stays public until a newer one is approved."""
    if plan.status != DetailPlanStatus.APPROVED.value:
        raise DetailPlanError(_("只有已批准的活动方案可以开始修订"))
    if plan.event.status != EventStatus.SCHEDULED.value:
        raise DetailPlanError(_("活动已撤销，活动方案不能再修改。"))
    before = {"status": plan.status}
    plan.status = DetailPlanStatus.DRAFT.value
    _touch(plan, now)
    db.session.flush()
    audit.record("detail_plan.revise", plan, before=before, after={"status": plan.status, "approved_version": plan.approved_version_number}, actor=actor)


def _decidable(plan: DetailPlan, version_number: int | None, actor: Any) -> DetailPlanVersion:
    if not has_permission(actor, "events.manage"):
        raise DetailPlanError(_("只有组织方可以审核活动方案"))
    if plan.status != DetailPlanStatus.SUBMITTED.value:
        raise DetailPlanError(_("该活动方案当前不是待审核状态（%(status)s），不能审核", status=status_labels()[plan.status]))
    version = latest_version(plan)
    assert version is not None  # a submitted plan has a version
    if version_number is not None and version_number != version.number:
        raise DetailPlanError(_("只能审核最新提交的版本（第 %(n)d 版）", n=version.number))
    return version


def approve(plan: DetailPlan, version_number: int | None, actor: Any, comment: str = "", now: datetime | None = None) -> DetailPlanVersion:
    """Approve the latest submitted version: it becomes what the public sees (iCalendar SEQUENCEs raised)."""
    now = as_utc(now or utcnow())
    version = _decidable(plan, version_number, actor)
    comment = _text(comment)
    if len(comment) > CAPS["comment"]:
        raise DetailPlanError(_("意见最多 %(max)d 个字符", max=CAPS["comment"]), "comment")
    previous = content.approved_snapshot(plan)
    before = {"status": plan.status, "approved_version": plan.approved_version_number}
    version.snapshot = content.publish_version(plan, dict(version.snapshot), previous)
    version.decision = DetailPlanStatus.APPROVED.value
    version.decision_comment = comment
    version.decided_at = now
    version.decided_by_id = getattr(actor, "id", None)
    plan.status = DetailPlanStatus.APPROVED.value
    plan.approved_version_number = version.number
    plan.approved_at = now
    plan.review_comment = comment
    _touch(plan, now)
    db.session.flush()
    audit.record("detail_plan.approve", plan, before=before, after={"status": plan.status, "approved_version": version.number, "comment": comment}, actor=actor)
    _mail_host(plan, version)
    from eventhub.registration import services as registrations  # registration imports events: import late

    registrations.capacity_changed(plan.event, actor)  # resize the quotas, give freed places to the waiting list in order
    return version


def request_changes(plan: DetailPlan, version_number: int | None, comment: str, actor: Any, now: datetime | None = None) -> DetailPlanVersion:
    """Send the latest version back with a required comment; the host edits and submits again."""
    now = as_utc(now or utcnow())
    version = _decidable(plan, version_number, actor)
    comment = _text(comment)
    if not comment:
        raise DetailPlanError(_("请填写修改意见"), "comment")
    if len(comment) > CAPS["comment"]:
        raise DetailPlanError(_("意见最多 %(max)d 个字符", max=CAPS["comment"]), "comment")
    before = {"status": plan.status}
    version.decision = DetailPlanStatus.CHANGES_REQUESTED.value
    version.decision_comment = comment
    version.decided_at = now
    version.decided_by_id = getattr(actor, "id", None)
    plan.status = DetailPlanStatus.CHANGES_REQUESTED.value
    plan.review_comment = comment
    _touch(plan, now)
    db.session.flush()
    audit.record("detail_plan.request_changes", plan, before=before, after={"status": plan.status, "version": version.number, "comment": comment}, actor=actor)
    _mail_host(plan, version)
    return version


# ---- mail ------------------------------------------------------------------------------------------


def _digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _mail_context(plan: DetailPlan, version: DetailPlanVersion) -> dict[str, Any]:
    event = plan.event
    return {
        "plan_title": (version.snapshot or {}).get("title") or title_of(event),
        "event_title": event.title,
        "base_name": event.host_base.name if event.host_base else "",
        "start_date": event.start_date.isoformat(),
        "end_date": event.end_date.isoformat(),
        "due": format_local(event.detail_plan_due),
        "version_number": version.number,
        "submitted_at": format_local(version.submitted_at),
        "late": bool(version.late),
    }


def organiser_emails() -> list[str]:
    users = db.session.scalars(select(User).where(User.role == Role.ORGANISER.value, User.active.is_(True)).order_by(User.id))
    return [u.email for u in users]


def _mail_organisers(plan: DetailPlan, version: DetailPlanVersion) -> None:
    from eventhub.core.mail import send_mail
    from eventhub.core.urls import external_url

    context = _mail_context(plan, version)
    url = external_url("events.review_detail_plan", event_id=plan.event_id)
    for email in organiser_emails():
        send_mail(email, "detail_plan_submitted", key=f"detail-plan-submitted:{plan.id}:{version.number}:{_digest(email)}", url=url, **context)


def _mail_host(plan: DetailPlan, version: DetailPlanVersion) -> None:
    from eventhub.core.mail import send_mail
    from eventhub.core.urls import external_url
    from eventhub.selection.services import recipients

    context = _mail_context(plan, version)
    url = external_url("events.detail_plan", event_id=plan.event_id)
    for email in recipients(plan.event.host_base_id):
        send_mail(
            email,
            "detail_plan_decision",
            key=f"detail-plan-decision:{plan.id}:{version.number}:{_digest(email)}",
            url=url,
            decision=version.decision,
            comment=version.decision_comment,
            **context,
        )


# ---- reading: versions, diffs, lists ---------------------------------------------------------------


def _session_line(s: dict[str, Any]) -> str:
    kinds, access, types = session_kind_labels(), session_access_labels(), content_type_labels()
    where = " / ".join(x for x in (s.get("venue") or "", s.get("online_url") or "") if x)
    parts = [
        f"{s['day']} {s['start']}–{s['end']} {s['title']}（{kinds.get(s['kind'], s['kind'])}，{access.get(s.get('access', ''), '')}）",
        where,
        "、".join(types.get(c, c) for c in s.get("content_types") or []),
    ]
    if s.get("capacity"):
        parts.append(_("限 %(n)d 人", n=s["capacity"]))
    if s.get("description"):
        parts.append(s["description"])
    return " · ".join(p for p in parts if p)


def section_texts(snap: dict[str, Any]) -> dict[str, str]:
    """A version's sections as labelled text, for the per-section diff."""
    labels = section_labels()
    kinds, modes = resource_kind_labels(), approval_mode_labels()
    registration = snap.get("registration") or {}

    def when(value: str | None) -> str:
        return format_local(datetime.fromisoformat(value)) if value else "—"

    def deadline(value: str | None) -> str:
        return format_local(datetime.fromisoformat(value), "%Y-%m-%d") if value else "—"

    return {
        _("标题"): snap.get("title", ""),
        labels["goals"]: snap.get("goals", ""),
        labels["venue"]: snap.get("venue", ""),
        labels["sessions"]: "\n".join(_session_line(s) for s in snap.get("sessions") or []),
        labels["bases"]: "\n".join(f"{b.get('short_name') or b.get('name')}：{b.get('role', '')}" for b in snap.get("bases") or []),
        labels["needs"]: "\n".join(
            f"{n['title']}（{n.get('field', '')}）· {budget_label(n.get('budget_min'), n.get('budget_max'))} · {_('揭榜截止')} {deadline(n.get('response_deadline'))}\n"
            f"  {n.get('description', '')}" + (f"\n  {_('预期成果')}：{n['expected_result']}" if n.get("expected_result") else "")
            for n in snap.get("needs") or []
        ),
        labels["resources"]: "\n".join(
            f"{r['name']}（{kinds.get(r['kind'], r['kind'])}）：{r.get('description', '')}" + (f" · {r['access_terms']}" if r.get("access_terms") else "")
            for r in snap.get("resources") or []
        ),
        labels["emergency"]: snap.get("emergency_plan", ""),
        labels["registration"]: _(
            "人数上限 %(cap)s；%(opens)s 至 %(closes)s；%(mode)s",
            cap=registration.get("capacity") if registration.get("capacity") is not None else "—",
            opens=when(registration.get("opens_at")),
            closes=when(registration.get("closes_at")),
            mode=modes.get(registration.get("approval_mode") or "", ""),
        ),
        labels["attachments"]: "\n".join(f"{a.get('title') or a.get('filename')}（{a.get('filename')}）" for a in snap.get("attachments") or []),
    }


@dataclass
class SectionDiff:
    label: str
    old: str
    new: str
    changed: bool
    html: Markup


def diff_snapshots(old: dict[str, Any] | None, new: dict[str, Any]) -> list[SectionDiff]:
    """Per section: old and new text, whether it changed, and a character-level inline diff."""
    from eventhub.plans.services import inline_diff

    old_texts = section_texts(old) if old is not None else {}
    result = []
    for label, b in section_texts(new).items():
        a = old_texts.get(label, "")
        changed = old is not None and a != b
        result.append(SectionDiff(label, a, b, changed, inline_diff(a, b) if changed else escape(b)))
    return result


def host_events(base_id: int) -> list[Event]:
    """The base's theme days, newest first (all campaigns)."""
    return list(db.session.scalars(select(Event).where(Event.host_base_id == base_id).order_by(Event.start_date.desc(), Event.id.desc())))


def status_key(event: Event) -> str:
    plan = get_detail_plan(event)
    return plan.status if plan is not None else "none"


@dataclass
class ListFilters:
    status: str = ""  # "" | none | draft | submitted | changes_requested | approved
    late: bool = False
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> ListFilters:
        status = args.get("status", "")
        return cls(status=status if status in status_labels() else "", late=args.get("late") == "1", q=(args.get("q") or "").strip()[:100])


def default_campaign() -> Campaign | None:
    """This year's campaign when it has theme days, else the latest campaign that has some."""
    from eventhub.campaigns.services import current_campaign

    with_events = select(Campaign).join(Event, Event.campaign_id == Campaign.id).distinct()
    this_year = to_shanghai(utcnow()).year
    campaign = db.session.scalar(with_events.where(Campaign.year == this_year))
    return campaign or db.session.scalar(with_events.order_by(Campaign.year.desc())) or current_campaign(include_drafts=True)


def list_query(campaign: Campaign, filters: ListFilters) -> Any:
    """The campaign's events with their plan (outer join), filtered, by start date."""
    query = (
        select(Event)
        .join(DemonstrationBase, DemonstrationBase.id == Event.host_base_id)
        .outerjoin(DetailPlan, DetailPlan.event_id == Event.id)
        .where(Event.campaign_id == campaign.id)
        .order_by(Event.start_date, Event.id)
    )
    if filters.status == "none":
        query = query.where(DetailPlan.id.is_(None))
    elif filters.status:
        query = query.where(DetailPlan.status == filters.status)
    if filters.late:
        query = query.where(DetailPlan.late.is_(True))
    if filters.q:
        q = filters.q
        query = query.where(
            or_(
                DemonstrationBase.name.icontains(q, autoescape=True),
                DemonstrationBase.short_name.icontains(q, autoescape=True),
                Event.title.icontains(q, autoescape=True),
            )
        )
    return query


def status_counts(campaign: Campaign) -> dict[str, int]:
    counts = dict.fromkeys(status_labels(), 0)
    rows = db.session.execute(
        select(DetailPlan.status, func.count(Event.id))
        .select_from(Event)
        .outerjoin(DetailPlan, DetailPlan.event_id == Event.id)
        .where(Event.campaign_id == campaign.id)
        .group_by(DetailPlan.status)
    )
    for status, count in rows:
        counts[status or "none"] = counts.get(status or "none", 0) + count
    return counts
