"""Selection services: ranking, decisions with rationale, calendar days, date allocation, publish.

Views call these with explicit arguments; every state change leaves an audit row in the same
transaction (the caller commits).
"""

from __future__ import annotations

import calendar as pycalendar
import hashlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.campaigns.models import Campaign
from eventhub.core import audit
from eventhub.core.i18n import join_list
from eventhub.core.mail import MailMessage, send_mail
from eventhub.core.permissions import Role
from eventhub.core.timeutil import SHANGHAI, format_local, subtract_months, to_shanghai, utcnow
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db
from eventhub.plans.models import PlanStatus, PreliminaryPlan
from eventhub.selection import allocation
from eventhub.selection.allocation import AllocationResult, HostRequest, Placement, Problem, Window
from eventhub.selection.holidays import LIBRARY, library_days, library_version
from eventhub.selection.models import CalendarDay, DayKind, SelectionDecision, SelectionSettings

PLAN_REF_TYPE = "plan"
LEAD_EXTRA_DAYS = 14  # two weeks on top of the detailed-plan lead time


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class SelectionError(ValueError):
    """A selection rule was broken; ``field`` names the form field to show it next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# ---- settings -------------------------------------------------------------------------------


def get_settings(campaign: Campaign) -> SelectionSettings:
    settings = db.session.scalar(select(SelectionSettings).where(SelectionSettings.campaign_id == campaign.id))
    if settings is None:
        settings = SelectionSettings(campaign_id=campaign.id, gap_days=21)
        db.session.add(settings)
        db.session.flush()
    return settings


def set_gap_days(campaign: Campaign, gap_days: int, actor: Any) -> SelectionSettings:
    if gap_days < 0 or gap_days > 366:
        raise SelectionError(_("间隔天数应在 0 到 366 之间。"), "gap_days")
    settings = get_settings(campaign)
    before = {"gap_days": settings.gap_days}
    settings.gap_days = gap_days
    audit.record("selection.gap", settings, before=before, after={"gap_days": gap_days}, actor=actor)
    return settings


# ---- ranking --------------------------------------------------------------------------------


@dataclass
class RankRow:
    plan: PreliminaryPlan
    decision: SelectionDecision | None
    raw_mean: float | None = None
    normalised: float | None = None
    rank: int | None = None
    disagreement: bool = False
    submitted: int = 0
    assigned: int = 0

    @property
    def scored(self) -> bool:
        return self.raw_mean is not None


@dataclass
class Ranking:
    rows: list[RankRow]
    has_round: bool  # the plan-review round exists
    has_scores: bool  # at least one plan has a submitted score
    round: Any = None


def submitted_plans(campaign: Campaign) -> list[PreliminaryPlan]:
    query = (
        select(PreliminaryPlan)
        .where(PreliminaryPlan.campaign_id == campaign.id, PreliminaryPlan.status == PlanStatus.SUBMITTED.value)
        .order_by(PreliminaryPlan.id)
    )
    return list(db.session.scalars(query))


def decisions(campaign: Campaign) -> dict[int, SelectionDecision]:
    rows = db.session.scalars(select(SelectionDecision).where(SelectionDecision.campaign_id == campaign.id))
    return {d.plan_id: d for d in rows}


def _judging_results(campaign: Campaign) -> tuple[Any, dict[int, Any]]:
    """The plan-review round and its results by plan id; (None, {}) while there is no round."""
    try:
        from eventhub.judging import services as judging
    except ImportError:  # pragma: no cover - the engine is part of the product
        return None, {}
    rnd = judging.round_by_key(f"plan-review:{campaign.id}")
    if rnd is None:
        return None, {}
    results = {}
    for result in judging.aggregate(rnd):
        if result.item.ref_type == PLAN_REF_TYPE:
            results[result.item.ref_id] = result
    return rnd, results


def ranking(campaign: Campaign) -> Ranking:
    """The submitted plans, best first by the judges' normalised score (unscored plans last)."""
    rnd, results = _judging_results(campaign)
    chosen = decisions(campaign)
    rows = []
    for plan in submitted_plans(campaign):
        row = RankRow(plan=plan, decision=chosen.get(plan.id))
        result = results.get(plan.id)
        if result is not None:
            row.raw_mean = result.raw_mean
            row.normalised = result.normalised
            row.rank = result.rank_normalised if result.rank_normalised is not None else result.rank_raw
            row.disagreement = bool(result.disagreement)
            row.submitted, row.assigned = result.submitted, result.assigned
        rows.append(row)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.plan.base.name if r.plan.base else "", r.plan.id))
    return Ranking(rows=rows, has_round=rnd is not None, has_scores=any(r.scored for r in rows), round=rnd)


# ---- decisions ------------------------------------------------------------------------------


def _decision_snapshot(d: SelectionDecision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"selected": d.selected, "rationale": d.rationale, "start_date": d.start_date, "duration_days": d.duration_days}


def decide(campaign: Campaign, plan: PreliminaryPlan, selected: bool, rationale: str, actor: Any) -> SelectionDecision:
    """Select or reject a plan's base as a host; a rationale is required either way (audited)."""
    if plan.campaign_id != campaign.id:
        raise SelectionError(_("该计划不属于本年度工作。"))
    if plan.status != PlanStatus.SUBMITTED.value:
        raise SelectionError(_("只能对已提交的初步计划作出遴选决定。"))
    rationale = (rationale or "").strip()
    if not rationale:
        message = _("请填写入选理由。") if selected else _("请填写未入选理由。")
        raise SelectionError(message, "rationale")
    decision = db.session.scalar(select(SelectionDecision).where(SelectionDecision.campaign_id == campaign.id, SelectionDecision.plan_id == plan.id))
    before = _decision_snapshot(decision)
    if decision is None:
        decision = SelectionDecision(campaign_id=campaign.id, plan_id=plan.id, base_id=plan.base_id, rationale=rationale)
        db.session.add(decision)
    decision.selected = selected
    decision.rationale = rationale
    decision.decided_by_id = getattr(actor, "id", None)
    decision.decided_at = utcnow()
    if not selected:
        decision.start_date = None
        decision.duration_days = None
    db.session.flush()
    audit.record("selection.select" if selected else "selection.reject", decision, before=before, after=_decision_snapshot(decision), actor=actor)
    return decision


def selected_decisions(campaign: Campaign) -> list[SelectionDecision]:
    """Selected plans in ranking order (the order breaks ties in the date allocation)."""
    order = {row.plan.id: i for i, row in enumerate(ranking(campaign).rows)}
    chosen = [d for d in decisions(campaign).values() if d.selected and d.plan.status == PlanStatus.SUBMITTED.value]
    return sorted(chosen, key=lambda d: (order.get(d.plan_id, len(order)), d.plan_id))


def count_warning(campaign: Campaign) -> str | None:
    """A warning (never a block) when the number selected differs from the campaign's target."""
    count = len(selected_decisions(campaign))
    if count == campaign.target_hosts:
        return None
    return _("已选 %(count)d 家，与拟确定的 %(target)d 家不一致。", count=count, target=campaign.target_hosts)


# ---- holidays and blackout dates --------------------------------------------------------------


@dataclass
class YearCalendar:
    year: int
    library_available: bool
    library_version: str
    library_days: list[Any]
    organiser_days: list[CalendarDay]
    blocked: set[date] = field(default_factory=set)

    @property
    def source(self) -> str:
        """Which source the year's holidays come from, in words for the page."""
        entered = any(d.kind in {DayKind.HOLIDAY.value, DayKind.WORKDAY.value} for d in self.organiser_days)
        if self.library_available and entered:
            return _("%(lib)s %(version)s 的法定节假日数据，并按组织方录入的日期调整", lib=LIBRARY, version=self.library_version)
        if self.library_available:
            return _("%(lib)s %(version)s 的法定节假日数据", lib=LIBRARY, version=self.library_version)
        if entered:
            return _("组织方录入的节假日（%(lib)s %(version)s 没有 %(year)d 年的数据）", lib=LIBRARY, version=self.library_version, year=self.year)
        return _(
            "没有数据：%(lib)s %(version)s 没有 %(year)d 年的数据，组织方也尚未录入，请录入当年的法定节假日",
            lib=LIBRARY,
            version=self.library_version,
            year=self.year,
        )

    @property
    def has_data(self) -> bool:
        return self.library_available or any(d.kind == DayKind.HOLIDAY.value for d in self.organiser_days)


def year_calendar(year: int) -> YearCalendar:
    """The year's blocked days: library holidays ∪ organiser holidays and blackouts − organiser workdays.

    Weekends are not blocked (theme days may fall on a Saturday) unless the organiser blacks them out.
    """
    lib = library_days(year)
    entered = list(db.session.scalars(select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)))
    blocked = {d.day for d in lib or [] if d.kind == "holiday"}
    blocked |= {d.day for d in entered if d.kind in {DayKind.HOLIDAY.value, DayKind.BLACKOUT.value}}
    blocked -= {d.day for d in entered if d.kind == DayKind.WORKDAY.value}
    return YearCalendar(year, lib is not None, library_version(), lib or [], entered, blocked)


def blocked_dates(years: set[int]) -> set[date]:
    out: set[date] = set()
    for year in years:
        out |= year_calendar(year).blocked
    return out


def add_calendar_day(day: date, kind: str, name: str, actor: Any) -> CalendarDay:
    if kind not in {k.value for k in DayKind}:
        raise SelectionError(_("请选择日期类型。"), "kind")
    existing = db.session.scalar(select(CalendarDay).where(CalendarDay.day == day))
    before = {"kind": existing.kind, "name": existing.name} if existing else None
    if existing is None:
        existing = CalendarDay(day=day, year=day.year, source="organiser")
        db.session.add(existing)
    existing.kind = kind
    existing.name = (name or "").strip()[:100]
    existing.created_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record("selection.calendar_day", existing, before=before, after={"day": day, "kind": kind, "name": existing.name}, actor=actor)
    return existing


def remove_calendar_day(entry: CalendarDay, actor: Any) -> None:
    audit.record("selection.calendar_day_remove", entry, before={"day": entry.day, "kind": entry.kind, "name": entry.name}, actor=actor)
    db.session.delete(entry)


# ---- date allocation ------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, pycalendar.monthrange(year, month)[1]))


def today_beijing(now: datetime | None = None) -> date:
    return to_shanghai(now or utcnow()).date()


def earliest_start(campaign: Campaign, now: datetime | None = None) -> date:
    """Today in Beijing + the detailed-plan lead time (months) + two weeks."""
    return add_months(today_beijing(now), campaign.detail_lead_months) + timedelta(days=LEAD_EXTRA_DAYS)


def host_label(decision: SelectionDecision) -> str:
    return decision.base.display_short_name if decision.base else str(decision.base_id)


def host_requests(selected: list[SelectionDecision]) -> list[HostRequest]:
    return [
        HostRequest(
            key=d.plan_id,
            label=host_label(d),
            windows=tuple(Window(w.earliest_start, w.latest_start, max(int(w.duration_days or 1), 1)) for w in d.plan.windows),
        )
        for d in selected
    ]


def _years_of(hosts: list[HostRequest], extra: tuple[date, ...] | list[date] = ()) -> set[int]:
    years: set[int] = set()
    for host in hosts:
        for w in host.windows:
            end = w.latest_start + timedelta(days=w.duration_days)
            years.update(range(w.earliest_start.year, end.year + 1))
    years.update(d.year for d in extra)
    years.update(d.year + 1 for d in extra if d.month == 12)
    return years


@dataclass
class AllocationContext:
    campaign: Campaign
    selected: list[SelectionDecision]
    hosts: list[HostRequest]
    gap: int
    earliest: date
    blocked: set[date]
    calendars: list[YearCalendar]


def allocation_context(campaign: Campaign, now: datetime | None = None) -> AllocationContext:
    selected = selected_decisions(campaign)
    hosts = host_requests(selected)
    proposed = [d.start_date for d in selected if d.start_date]
    years = _years_of(hosts, proposed) or {campaign.year}
    years.add(campaign.year)
    calendars = [year_calendar(y) for y in sorted(years)]
    blocked = set().union(*(c.blocked for c in calendars))
    return AllocationContext(campaign, selected, hosts, get_settings(campaign).gap_days, earliest_start(campaign, now), blocked, calendars)


def suggest(campaign: Campaign, actor: Any, now: datetime | None = None) -> tuple[AllocationContext, AllocationResult]:
    """Run the allocation and store its dates on the decisions (the placed ones; audited)."""
    ctx = allocation_context(campaign, now)
    if len(ctx.hosts) > allocation.MAX_HOSTS:
        raise SelectionError(_("一次最多为 %(n)d 家承办基地自动安排日期，请手工安排。", n=allocation.MAX_HOSTS))
    result = allocation.allocate(ctx.hosts, gap=ctx.gap, blocked=ctx.blocked, earliest=ctx.earliest)
    by_plan = {d.plan_id: d for d in ctx.selected}
    for key, placement in result.placements.items():
        decision = by_plan[key]
        before = _decision_snapshot(decision)
        decision.start_date = placement.start
        decision.duration_days = placement.duration_days
        audit.record("selection.date_suggested", decision, before=before, after=_decision_snapshot(decision), actor=actor)
    db.session.flush()
    return ctx, result


def set_date(decision: SelectionDecision, start: date | None, duration: int | None, actor: Any) -> SelectionDecision:
    """A date typed by hand (any date: the warnings say what it breaks, nothing blocks it)."""
    if not decision.selected:
        raise SelectionError(_("只能为入选的承办基地安排日期。"))
    if start is not None and (duration is None or duration < 1 or duration > 31):
        raise SelectionError(_("活动天数应在 1 到 31 天之间。"), "duration")
    before = _decision_snapshot(decision)
    decision.start_date = start
    decision.duration_days = duration if start is not None else None
    audit.record("selection.date_manual", decision, before=before, after=_decision_snapshot(decision), actor=actor)
    db.session.flush()
    return decision


def _placement_for(host: HostRequest | None, key: Hashable, start: date, duration: int) -> Placement:
    window_index = None
    if host is not None:
        for i, w in enumerate(host.windows):
            if w.earliest_start <= start <= w.latest_start and w.duration_days == duration:
                window_index = i
                break
    return Placement(key, start, duration, window_index)


def current_placements(ctx: AllocationContext, overrides: dict[int, tuple[date | None, int | None]] | None = None) -> dict[Hashable, Placement]:
    hosts = {h.key: h for h in ctx.hosts}
    out: dict[Hashable, Placement] = {}
    for d in ctx.selected:
        start, duration = (overrides or {}).get(d.plan_id, (d.start_date, d.duration_days))
        if start is not None:
            out[d.plan_id] = _placement_for(hosts.get(d.plan_id), d.plan_id, start, int(duration or 1))
    return out


def check_placement(ctx: AllocationContext, overrides: dict[int, tuple[date | None, int | None]] | None = None) -> list[tuple[int, str]]:
    """Conflict warnings for the proposed dates (with hand edits in ``overrides``): (plan id, message)."""
    placements = current_placements(ctx, overrides)
    # A hand-typed date may reach into a year outside the windows: widen the blocked days.
    extra_years = {p.end.year for p in placements.values()} | {p.start.year for p in placements.values()}
    blocked = ctx.blocked | blocked_dates(extra_years - {c.year for c in ctx.calendars})
    problems = allocation.check_placement(ctx.hosts, placements, gap=ctx.gap, blocked=blocked, earliest=ctx.earliest)
    labels = {h.key: h.label for h in ctx.hosts}
    warnings = [(int(p.key), describe(p, labels, ctx.gap, ctx.earliest)) for p in problems]
    for d in ctx.selected:
        if d.plan_id not in placements:
            warnings.append((d.plan_id, _("尚未安排日期。")))
    return warnings


def describe(problem: Problem, labels: dict[Hashable, str], gap: int, earliest: date) -> str:
    """One sentence saying which rule fails for which host."""
    name = labels.get(problem.key, str(problem.key))
    if problem.code == allocation.NO_WINDOW:
        return _("%(name)s：初步计划没有提出时间窗口。", name=name)
    if problem.code == allocation.BEFORE_EARLIEST:
        return _("%(name)s：时间窗口早于最早可安排日期 %(day)s（活动方案提前量加两周）。", name=name, day=earliest.isoformat())
    if problem.code == allocation.BLOCKED:
        if problem.dates:
            return _("%(name)s：活动日期与法定节假日或排除日期冲突（%(days)s）。", name=name, days=join_list(d.isoformat() for d in problem.dates))
        return _("%(name)s：时间窗口内每个可选开始日期都会碰到法定节假日或排除日期。", name=name)
    if problem.code == allocation.OUTSIDE_WINDOW:
        return _("%(name)s：日期不在其提出的时间窗口内（或天数与窗口不同）。", name=name)
    others = join_list(labels.get(k, str(k)) for k in problem.others)
    return _("%(name)s：与 %(others)s 的开始日期间隔不足 %(gap)d 天或日期重叠。", name=name, others=others or "—", gap=gap)


# ---- publish --------------------------------------------------------------------------------


def event_title(decision: SelectionDecision) -> str:
    return f"{host_label(decision)}融通创新主题日"


def detail_plan_due(start: date, lead_months: int) -> datetime:
    """Start day 00:00 in Beijing minus the lead time (whole months, day clamped), as UTC."""
    return subtract_months(datetime.combine(start, time(0, 0), tzinfo=SHANGHAI), lead_months)


def _event_snapshot(event: Event) -> dict[str, Any]:
    return {
        "title": event.title,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "status": event.status,
        "plan_id": event.plan_id,
        "detail_plan_due": event.detail_plan_due,
        "sequence": event.sequence,
    }


@dataclass
class PublishResult:
    created: list[Event] = field(default_factory=list)
    updated: list[Event] = field(default_factory=list)
    withdrawn: list[Event] = field(default_factory=list)
    unchanged: list[Event] = field(default_factory=list)
    mails: list[MailMessage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def recipients(base_id: int) -> list[str]:
    """The base's active host users and its contact e-mail, without duplicates."""
    users = db.session.scalars(select(User).where(User.base_id == base_id, User.role == Role.HOST.value).order_by(User.id))
    out = [u.email for u in users if getattr(u, "is_active", True)]
    from eventhub.bases.models import DemonstrationBase

    base = db.session.get(DemonstrationBase, base_id)
    if base is not None and base.contact_email:
        out.append(base.contact_email)
    seen: set[str] = set()
    return [e for e in out if e and not (e.lower() in seen or seen.add(e.lower()))]


def _notify(base_id: int, key: str, template: str, result: PublishResult, **context: Any) -> None:
    """Queue ``mail/<template>`` to every recipient of the base, each in their own language.

    Keys are per recipient (a hash of the address) so adding a host user later mails only them.
    """
    for email in recipients(base_id):
        digest = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
        message = send_mail(email, template, key=f"{key}:{digest}", **context)
        if message is not None:
            result.mails.append(message)


def _selected_mail(campaign: Campaign, event: Event) -> dict[str, Any]:
    """Context of ``mail/selection_scheduled``: the event, its dates and the detailed-plan due time."""
    from eventhub.core.urls import external_url

    return {
        "year": campaign.year,
        "title": event.title,
        "start": event.start_date.isoformat(),
        "end": event.end_date.isoformat(),
        "due": format_local(event.detail_plan_due),
        "name": event.host_base.display_short_name if event.host_base else "",
        "login_url": external_url("auth.login"),
    }


def publish(campaign: Campaign, actor: Any) -> PublishResult:
    """Create / update one Event per selected host, withdraw the others, notify (audited, keyed mail).

    Every change to an event raises its SEQUENCE; a republish without changes changes nothing
    and sends nothing (mail keys include the sequence).
    """
    selected = selected_decisions(campaign)
    missing = [host_label(d) for d in selected if d.start_date is None]
    if missing:
        raise SelectionError(_("以下承办基地尚未安排日期：%(names)s", names=join_list(missing)))
    if not selected:
        raise SelectionError(_("尚未选定承办基地。"))
    result = PublishResult()
    warning = count_warning(campaign)
    if warning:
        result.warnings.append(warning)
    ctx = allocation_context(campaign)
    result.warnings.extend(message for _key, message in check_placement(ctx))

    existing = {e.host_base_id: e for e in db.session.scalars(select(Event).where(Event.campaign_id == campaign.id))}
    keep: set[int] = set()
    for d in selected:
        keep.add(d.base_id)
        start = d.start_date
        assert start is not None
        values = {
            "title": event_title(d),
            "start_date": start,
            "end_date": start + timedelta(days=max(int(d.duration_days or 1), 1) - 1),
            "status": EventStatus.SCHEDULED.value,
            "plan_id": d.plan_id,
            "detail_plan_due": detail_plan_due(start, campaign.detail_lead_months),
        }
        event = existing.get(d.base_id)
        if event is None:
            event = Event(campaign_id=campaign.id, host_base_id=d.base_id, sequence=0, **values)
            db.session.add(event)
            db.session.flush()
            audit.record("event.create", event, after=_event_snapshot(event), actor=actor)
            result.created.append(event)
        elif any(getattr(event, k) != v for k, v in values.items()):
            before = _event_snapshot(event)
            for k, v in values.items():
                setattr(event, k, v)
            event.sequence += 1
            db.session.flush()
            audit.record("event.update", event, before=before, after=_event_snapshot(event), actor=actor)
            result.updated.append(event)
        else:
            result.unchanged.append(event)
            continue
        _notify(d.base_id, f"selection:{campaign.id}:event:{event.id}:seq:{event.sequence}", "selection_scheduled", result, **_selected_mail(campaign, event))

    for base_id, event in existing.items():
        if base_id in keep or event.status == EventStatus.WITHDRAWN.value:
            continue
        before = _event_snapshot(event)
        event.status = EventStatus.WITHDRAWN.value
        event.sequence += 1
        db.session.flush()
        audit.record("event.withdraw", event, before=before, after=_event_snapshot(event), actor=actor)
        result.withdrawn.append(event)
        _notify(
            base_id,
            f"selection:{campaign.id}:event:{event.id}:seq:{event.sequence}",
            "selection_withdrawn",
            result,
            year=campaign.year,
            title=event.title,
            start=event.start_date.isoformat(),
        )

    # Hosts not selected (with a rationale) hear it once per decision.
    for d in decisions(campaign).values():
        if d.selected or d.plan.status != PlanStatus.SUBMITTED.value or d.base_id in keep or d.base_id in existing:
            continue
        _notify(
            d.base_id,
            f"selection:{campaign.id}:not-selected:{d.id}:{d.decided_at.timestamp():.0f}",
            "selection_not_selected",
            result,
            year=campaign.year,
        )

    # Nothing is sent here: the rows are in the outbox with this transaction and the delivery
    # worker (scheduler job) sends them after the commit.
    settings = get_settings(campaign)
    settings.published_at = utcnow()
    settings.published_by_id = getattr(actor, "id", None)
    audit.record(
        "selection.publish",
        settings,
        after={
            "created": [e.id for e in result.created],
            "updated": [e.id for e in result.updated],
            "withdrawn": [e.id for e in result.withdrawn],
            "unchanged": [e.id for e in result.unchanged],
            "mails": len(result.mails),
        },
        actor=actor,
    )
    db.session.flush()
    return result


def campaign_events(campaign: Campaign) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.campaign_id == campaign.id).order_by(Event.start_date, Event.id)))
