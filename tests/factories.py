"""Small helpers that create real rows for tests (no mocks)."""

from __future__ import annotations

import itertools

from flask import Flask
from flask.testing import FlaskClient

from eventhub.auth.models import User
from eventhub.auth.services import create_user
from eventhub.bases.models import BaseType, DemonstrationBase, Direction
from eventhub.core.permissions import Role
from eventhub.extensions import db

PASSWORD = "Test-pass-2026"
_seq = itertools.count(1)


def make_base(name: str | None = None, base_type: BaseType = BaseType.ENTERPRISE, **kw: object) -> DemonstrationBase:
    n = next(_seq)
    base = DemonstrationBase(
        name=name or f"测试示范基地{n}",
        short_name=kw.pop("short_name", f"测试{n}"),
        batch=kw.pop("batch", 3),
        direction=kw.pop("direction", Direction.INTEGRATED.value),
        base_type=base_type.value,
        province=kw.pop("province", "北京市"),
        **kw,
    )
    db.session.add(base)
    db.session.flush()
    return base


def make_user(role: Role = Role.ORGANISER, base: DemonstrationBase | None = None, email: str | None = None, password: str = PASSWORD) -> User:
    n = next(_seq)
    if role is Role.HOST and base is None:
        base = make_base()
    return create_user(email=email or f"user{n}@example.com", name=f"用户{n}", role=role, base=base, password=password)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def user_and_login(app: Flask, client: FlaskClient, role: Role = Role.ORGANISER, base: DemonstrationBase | None = None) -> int:
    """Create a user of ``role``, log the client in, return the user id."""
    with app.app_context():
        user = make_user(role, base=base)
        db.session.commit()
        email, uid = user.email, user.id
    login(client, email)
    return uid


# ---- detailed plans (活动方案) ------------------------------------------------------------


def make_scheduled_event(
    start: object = None,
    days: int = 1,
    *,
    host_base: DemonstrationBase | None = None,
    short_name: str | None = "华润",
    partners: tuple = (),
    lead_months: int = 1,
) -> object:
    """A published theme day as selection publish makes it: campaign, preliminary plan, due time.

    ``start`` defaults to 31 March 2027; ``partners`` are ``(base, reason)`` pairs of the
    preliminary plan (the detailed plan pre-fills them). The due time is computed by
    ``selection.services.detail_plan_due`` from the campaign's lead time, as publish does.
    """
    from datetime import date, timedelta

    from sqlalchemy import select

    from eventhub.campaigns.models import Campaign, CampaignStatus
    from eventhub.core.timeutil import end_of_day
    from eventhub.events.models import Event, EventStatus
    from eventhub.plans.models import PlanParticipant, PlanStatus, PreliminaryPlan
    from eventhub.selection.services import detail_plan_due

    start = start or date(2027, 3, 31)
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == start.year))
    if campaign is None:
        campaign = Campaign(
            year=start.year,
            title=f"{start.year} 年“融通创新”主题日",
            plan_deadline=end_of_day(date(start.year, 6, 30)),
            status=CampaignStatus.RUNNING.value,
            detail_lead_months=lead_months,
        )
        db.session.add(campaign)
        db.session.flush()
    if host_base is None:
        n = next(_seq)
        host_base = make_base(f"承办集团{n}有限公司", short_name=short_name, contact_email=f"host{n}@example.com")
    plan = PreliminaryPlan(campaign_id=campaign.id, base_id=host_base.id, status=PlanStatus.SUBMITTED.value, theme="产业链融通")
    plan.participants = [PlanParticipant(base_id=b.id, reason=reason) for b, reason in partners]
    db.session.add(plan)
    db.session.flush()
    event = Event(
        campaign_id=campaign.id,
        host_base_id=host_base.id,
        plan_id=plan.id,
        title=f"{host_base.display_short_name}融通创新主题日",
        start_date=start,
        end_date=start + timedelta(days=days - 1),
        status=EventStatus.SCHEDULED.value,
        detail_plan_due=detail_plan_due(start, campaign.detail_lead_months),
    )
    db.session.add(event)
    db.session.flush()
    return event


def fill_detail_plan(event: object, actor: object = None, *, content_types: tuple = ("resources", "joint_rd", "roadshow", "matchmaking")) -> object:
    """A complete detailed plan (ready to submit) written through the services, one session per content type."""
    from datetime import datetime, time, timedelta

    from eventhub.core.timeutil import local_to_utc
    from eventhub.events import detail_plans as dp

    plan = dp.ensure_detail_plan(event)
    dp.update_text(plan, "goals", "围绕产业链上下游开展融通创新对接，发布技术需求清单。", actor)
    dp.update_text(plan, "venue", "北京市西城区示范大厦一层报告厅", actor)
    dp.update_text(plan, "emergency", "设置医疗点和应急通道，安排安保人员，制定突发事件处置流程。", actor)
    start = event.start_date
    dp.update_registration(
        plan,
        dp.RegistrationData(
            capacity=300,
            opens_at=local_to_utc(datetime.combine(start - timedelta(days=30), time(9, 0))),
            closes_at=local_to_utc(datetime.combine(start, time(8, 0))),
            approval_mode="automatic",
        ),
        actor,
    )
    for hour, value in enumerate(content_types, start=9):
        dp.add_session(
            plan,
            dp.SessionData(
                title=f"场次{hour}", kind="forum", day=start, start_time=time(hour, 0), end_time=time(hour, 50), venue="一号厅", content_types=[value]
            ),
            actor,
        )
    dp.add_need(
        plan,
        dp.NeedData(title="高效储能材料", field="新材料", description="寻求高安全储能材料方案。", budget_min=50, budget_max=200, response_deadline=start),
        actor,
    )
    return plan
