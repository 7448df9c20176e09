"""Real theme days with approved detailed plans for tests, built from the models directly.

The host's editing and review pages are written elsewhere; these helpers do what approval does
(freeze the working copy with ``content.build_snapshot``, give sessions their SEQUENCE with
``content.publish_version``, store the version and mark it approved) so public pages, .ics files
and answers can be tested on their own.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.permissions import Role
from eventhub.core.timeutil import end_of_day, shanghai, to_shanghai, utcnow
from eventhub.events import content
from eventhub.events.models import (
    DetailPlan,
    DetailPlanBase,
    DetailPlanStatus,
    DetailPlanVersion,
    Event,
    EventSession,
    EventStatus,
    SharedResource,
    TechNeed,
)
from eventhub.extensions import db
from tests.factories import make_base, make_user

VALID_USCC = "91350100M000100Y43"  # a real-format code with a correct check character


def future_day(days: int = 60) -> date:
    """A Beijing calendar date ``days`` from now (events must lie ahead for open needs)."""
    return to_shanghai(utcnow()).date() + timedelta(days=days)


def campaign_for(year: int) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == year))
    if campaign is None:
        campaign = Campaign(year=year, title=f"{year} 年“融通创新”主题日", plan_deadline=end_of_day(date(year, 6, 30)), status=CampaignStatus.SELECTION.value)
        db.session.add(campaign)
        db.session.flush()
    return campaign


def make_event(
    short_name: str = "华润", start: date | None = None, days: int = 1, *, status: EventStatus = EventStatus.SCHEDULED, base: DemonstrationBase | None = None
) -> Event:
    """A published theme day of a new enterprise base (with one host user)."""
    start = start or future_day()
    base = base or make_base(f"中国{short_name}有限公司", short_name=short_name, contact_email=f"{short_name}@example.com")
    event = Event(
        campaign_id=campaign_for(start.year).id,
        host_base_id=base.id,
        title=f"{short_name}融通创新主题日",
        start_date=start,
        end_date=start + timedelta(days=days - 1),
        status=status.value,
        detail_plan_due=shanghai(start.year, start.month, start.day) - timedelta(days=30),
    )
    db.session.add(event)
    db.session.flush()
    return event


def host_of(event: Event) -> Any:
    """A (new) host user of the event's base."""
    return make_user(Role.HOST, base=event.host_base)


def make_plan(event: Event, *, goals: str = "推动大中小企业融通创新，发布技术需求清单。", venue: str = "北京市朝阳区示范大厦一层") -> DetailPlan:
    plan = DetailPlan(event=event, goals=goals, venue=venue, status=DetailPlanStatus.DRAFT.value)
    db.session.add(plan)
    db.session.flush()
    return plan


def add_session(plan: DetailPlan, title: str = "开幕式", *, day: date | None = None, start: str = "09:00", end: str = "10:00", **kw: Any) -> EventSession:
    session = EventSession(
        plan=plan,
        event_id=plan.event_id,
        title=title,
        kind=kw.pop("kind", "opening"),
        day=day or plan.event.start_date,
        start_time=time.fromisoformat(start),
        end_time=time.fromisoformat(end),
        venue=kw.pop("venue", "一号会议厅"),
        online_url=kw.pop("online_url", ""),
        access=kw.pop("access", "open"),
        content_types=kw.pop("content_types", ["resources", "joint_rd"]),
        description=kw.pop("description", ""),
        **kw,
    )
    db.session.add(session)
    db.session.flush()
    return session


def add_need(plan: DetailPlan, title: str = "高温合金叶片无损检测技术", *, deadline: datetime | None = None, **kw: Any) -> TechNeed:
    need = TechNeed(
        plan=plan,
        event_id=plan.event_id,
        title=title,
        field=kw.pop("field", "先进制造"),
        description=kw.pop("description", "需要一种可在产线上在线检测叶片内部缺陷的方法。"),
        expected_result=kw.pop("expected_result", "样机一台，检测精度 0.1 mm。"),
        budget_min=kw.pop("budget_min", 50),
        budget_max=kw.pop("budget_max", 200),
        response_deadline=deadline if deadline is not None else utcnow().replace(microsecond=0) + timedelta(days=30),
        **kw,
    )
    db.session.add(need)
    db.session.flush()
    return need


def add_resource(plan: DetailPlan, name: str = "国家重点实验室（材料检测）", **kw: Any) -> SharedResource:
    resource = SharedResource(
        plan=plan,
        event_id=plan.event_id,
        name=name,
        kind=kw.pop("kind", "lab"),
        description=kw.pop("description", "提供材料力学性能检测设备。"),
        access_terms=kw.pop("access_terms", "提前一周预约，免费开放。"),
    )
    db.session.add(resource)
    db.session.flush()
    return resource


def add_base(plan: DetailPlan, name: str = "深圳市南山区", role: str = "组织区内中小企业参会") -> DetailPlanBase:
    from eventhub.bases.models import BaseType

    base = db.session.scalar(select(DemonstrationBase).where(DemonstrationBase.name == name)) or make_base(name, BaseType.REGION, short_name=name[-3:])
    row = DetailPlanBase(plan=plan, base_id=base.id, role=role)
    db.session.add(row)
    db.session.flush()
    return row


def submit(plan: DetailPlan) -> DetailPlanVersion:
    """Freeze the working copy as a new submitted version (no decision yet)."""
    db.session.flush()
    db.session.refresh(plan)
    number = max((v.number for v in plan.versions), default=0) + 1
    version = DetailPlanVersion(plan=plan, number=number, snapshot=content.build_snapshot(plan))
    plan.status = DetailPlanStatus.SUBMITTED.value
    plan.submitted_at = utcnow()
    db.session.add(version)
    db.session.flush()
    return version


def approve(plan: DetailPlan) -> DetailPlanVersion:
    """Submit and approve the working copy as approval does: SEQUENCE raised, removed sessions cancelled."""
    version = submit(plan)
    previous = content.approved_snapshot(plan)
    version.snapshot = content.publish_version(plan, dict(version.snapshot), previous)
    version.decision = "approved"
    version.decided_at = utcnow()
    plan.approved_version_number = version.number
    plan.approved_at = utcnow()
    plan.status = DetailPlanStatus.APPROVED.value
    db.session.flush()
    return version


def approved_event(short_name: str = "华润", *, days: int = 2, approve_it: bool = True, **kw: Any) -> dict[str, Any]:
    """A theme day over ``days`` days with a full plan (2 sessions, a need, a resource, a base), approved.

    Returns the ids (objects expire across requests): event, plan, sessions, need, host email.
    """
    event = make_event(short_name, days=days, **kw)
    host = host_of(event)
    plan = make_plan(event)
    opening = add_session(plan, "开幕式暨技术需求发布", start="09:00", end="10:30", content_types=["resources", "joint_rd"])
    roadshow = add_session(
        plan,
        "创新团队路演",
        day=event.end_date,
        start="14:00",
        end="17:30",
        kind="roadshow",
        access="invitation",
        online_url="https://live.example.com/roadshow/very-long-path-that-must-wrap-on-a-phone-screen-0123456789",
        content_types=["roadshow", "matchmaking", "commercialisation"],
        description="十支创新团队向投资机构路演。",
    )
    need = add_need(plan)
    add_resource(plan)
    add_base(plan)
    if approve_it:
        approve(plan)
    db.session.commit()
    return {
        "event_id": event.id,
        "plan_id": plan.id,
        "session_ids": [opening.id, roadshow.id],
        "need_id": need.id,
        "host_email": host.email,
        "host_base_id": event.host_base_id,
    }
