"""Selection services on real databases: ranking, decisions, holidays, suggestion, publish, mail."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import end_of_day, shanghai
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db
from eventhub.plans.models import PlanStatus, PlanWindow, PreliminaryPlan
from eventhub.selection import services
from eventhub.selection.models import DayKind
from tests.factories import make_base, make_user

NOW = shanghai(2026, 7, 10, 9, 0)  # earliest start: 10 Jul + 1 month + 14 days = 24 Aug 2026


def make_campaign(year: int = 2026, **kw: object) -> Campaign:
    campaign = Campaign(year=year, title=f"{year} 年“融通创新”主题日", plan_deadline=end_of_day(date(year, 6, 30)), status=CampaignStatus.SELECTION.value, **kw)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_plan(campaign: Campaign, short_name: str, windows: list[tuple[date, date, int]], *, email: str | None = None) -> PreliminaryPlan:
    base = make_base(f"{short_name}集团有限公司", short_name=short_name, contact_email=email or f"contact-{short_name.lower()}@example.com")
    plan = PreliminaryPlan(campaign_id=campaign.id, base_id=base.id, status=PlanStatus.SUBMITTED.value, theme=f"{short_name}产业链融通")
    plan.windows = [PlanWindow(earliest_start=a, latest_start=b, duration_days=n) for a, b, n in windows]
    db.session.add(plan)
    db.session.flush()
    make_user(Role.HOST, base=base)
    return plan


@pytest.fixture
def world(app):
    with app.app_context():
        campaign = make_campaign(target_hosts=3)
        organiser = make_user(Role.ORGANISER)
        plans = [
            make_plan(campaign, "华润", [(date(2026, 9, 1), date(2026, 9, 30), 1)]),
            make_plan(campaign, "中石油", [(date(2026, 9, 1), date(2026, 10, 31), 2)]),
            make_plan(campaign, "国网", [(date(2026, 10, 1), date(2026, 11, 30), 1)]),
            make_plan(campaign, "航天", [(date(2026, 9, 1), date(2026, 12, 20), 1)]),
        ]
        db.session.commit()
        yield {"campaign": campaign, "organiser": organiser, "plans": plans}


def _actions(prefix: str) -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.startswith(prefix)).order_by(AuditLog.id)))


def _select_three(world) -> None:  # noqa: ANN001
    c, org, plans = world["campaign"], world["organiser"], world["plans"]
    for plan in plans[:3]:
        services.decide(c, plan, True, "内容特色突出，示范带动作用强", org)
    services.decide(c, plans[3], False, "对接周期较长，建议明年再申报", org)
    db.session.commit()


def test_rationale_is_required_for_selection_and_rejection(world):
    c, org, plan = world["campaign"], world["organiser"], world["plans"][0]
    for selected in (True, False):
        with pytest.raises(services.SelectionError, match="理由"):
            services.decide(c, plan, selected, "   ", org)
    services.decide(c, plan, True, "示范带动作用强", org)
    services.decide(c, plan, False, "改为不入选：时间与其他基地冲突", org)
    db.session.commit()
    assert _actions("selection.") == ["selection.select", "selection.reject"]
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "selection.reject"))
    assert row.before["selected"] is True and row.after["rationale"] == "改为不入选：时间与其他基地冲突"
    assert row.actor_id == org.id


def test_count_warning_does_not_block(world):
    c, org, plans = world["campaign"], world["organiser"], world["plans"]
    services.decide(c, plans[0], True, "理由", org)
    assert "1" in services.count_warning(c) and "3" in services.count_warning(c)
    for plan in plans:
        services.decide(c, plan, True, "理由", org)
    assert services.count_warning(c) is not None  # 4 of a target of 3: warned, still selected
    assert len(services.selected_decisions(c)) == 4
    services.decide(c, plans[3], False, "理由", org)
    assert services.count_warning(c) is None


def test_ranking_without_scores_then_with_judging_results(world):
    c, org, plans = world["campaign"], world["organiser"], world["plans"]
    ranking = services.ranking(c)
    assert not ranking.has_round and not ranking.has_scores
    assert {r.plan.id for r in ranking.rows} == {p.id for p in plans}

    from eventhub.judging import services as js
    from eventhub.plans import review

    rnd = review.open_review(c, org)
    judge = make_user(Role.REVIEWER)
    for item in rnd.items:
        js.assign(item, judge, org)
    js.start_scoring(rnd, org)
    db.session.flush()
    ranking = services.ranking(c)
    assert ranking.has_round and not ranking.has_scores  # round open, nothing submitted yet

    wanted = {plans[2].id: 9, plans[0].id: 7, plans[3].id: 5, plans[1].id: 3}
    for item in rnd.items:
        assignment = item.assignments[0]
        js.save_sheet(assignment, {cr.id: wanted[item.ref_id] for cr in rnd.criteria}, {}, None, True, judge)
    db.session.commit()
    ranking = services.ranking(c)
    assert ranking.has_scores
    assert [r.plan.id for r in ranking.rows] == [plans[2].id, plans[0].id, plans[3].id, plans[1].id]
    assert ranking.rows[0].raw_mean == pytest.approx(9) and ranking.rows[0].rank == 1


def test_holiday_sources(world):
    org = world["organiser"]
    cal = services.year_calendar(2026)
    assert cal.library_available and date(2026, 10, 1) in cal.blocked and "chinese-calendar" in cal.source
    assert date(2026, 10, 10) not in cal.blocked  # a Saturday worked in lieu; weekends are allowed anyway

    cal = services.year_calendar(2027)
    assert not cal.library_available and not cal.has_data and "没有数据" in cal.source and not cal.blocked
    services.add_calendar_day(date(2027, 10, 1), DayKind.HOLIDAY.value, "国庆节", org)
    services.add_calendar_day(date(2027, 9, 18), DayKind.BLACKOUT.value, "重大活动", org)
    cal = services.year_calendar(2027)
    assert cal.has_data and "组织方" in cal.source and cal.blocked == {date(2027, 10, 1), date(2027, 9, 18)}

    services.add_calendar_day(date(2026, 10, 7), DayKind.WORKDAY.value, "调整", org)  # organiser overrides the library
    cal = services.year_calendar(2026)
    assert date(2026, 10, 7) not in cal.blocked and "调整" in cal.source
    assert "selection.calendar_day" in _actions("selection.")


def test_earliest_start_is_lead_time_plus_two_weeks_in_beijing(world):
    c = world["campaign"]
    assert services.earliest_start(c, NOW) == date(2026, 8, 24)
    # 16:30 UTC on 31 Jan is already 1 Feb in Beijing: 1 Feb + 1 month + 14 days.
    assert services.earliest_start(c, datetime(2026, 1, 31, 16, 30, tzinfo=UTC)) == date(2026, 3, 15)
    c.detail_lead_months = 2
    assert services.earliest_start(c, shanghai(2026, 12, 31)) == date(2027, 3, 14)  # 28 Feb + 14 days


def test_suggest_publish_and_republish(world):
    c, org, plans = world["campaign"], world["organiser"], world["plans"]
    _select_three(world)
    ctx, result = services.suggest(c, org, now=NOW)
    db.session.commit()
    assert result.feasible
    assert services.check_placement(services.allocation_context(c, NOW)) == []
    starts = sorted(d.start_date for d in services.selected_decisions(c))
    assert all((b - a).days >= 21 for a, b in zip(starts, starts[1:], strict=False))

    first = services.publish(c, org)
    db.session.commit()
    assert len(first.created) == 3 and not first.updated and not first.withdrawn
    events = {e.plan_id: e for e in db.session.scalars(select(Event))}
    assert {e.status for e in events.values()} == {EventStatus.SCHEDULED.value}
    huarun = events[plans[0].id]
    assert huarun.title == "华润融通创新主题日" and huarun.sequence == 0 and huarun.uid.endswith("@eventhub")
    # Detailed plan due: start day 00:00 Beijing minus one month.
    start = huarun.start_date
    assert huarun.detail_plan_due == shanghai(start.year, start.month - 1, start.day)
    # Each selected host: its host user + its contact; the rejected one: the same.
    assert len(first.mails) == 4 * 2
    assert db.session.scalar(select(func.count(MailMessage.id))) == 8
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "event.create")) == 3
    # Publishing only queues (the delivery worker sends after the commit), rendered from mail templates.
    rows = list(db.session.scalars(select(MailMessage)))
    assert {r.status for r in rows} == {"pending"}
    assert sorted(r.template for r in rows) == ["selection_not_selected"] * 2 + ["selection_scheduled"] * 6
    notice = next(r for r in rows if r.template == "selection_scheduled" and "华润" in r.subject)
    assert notice.subject == "【2026 年融通创新主题日】华润融通创新主题日 已排期"
    assert "《华润融通创新主题日活动方案》" in notice.body and "/login" in notice.body and "华润融通创新主题日" in notice.html_body

    # Republish without changes: nothing changes, nothing is sent twice.
    second = services.publish(c, org)
    db.session.commit()
    assert len(second.unchanged) == 3 and not second.mails
    assert db.session.scalar(select(func.count(MailMessage.id))) == 8

    # Move one date: that event's SEQUENCE rises, its UID stays, only its host hears about it.
    decision = next(d for d in services.selected_decisions(c) if d.plan_id == plans[2].id)
    uid = events[plans[2].id].uid
    services.set_date(decision, date(2026, 11, 20), 1, org)
    third = services.publish(c, org)
    db.session.commit()
    assert [e.plan_id for e in third.updated] == [plans[2].id] and len(third.mails) == 2
    moved = db.session.scalar(select(Event).where(Event.plan_id == plans[2].id))
    assert moved.uid == uid and moved.sequence == 1 and moved.start_date == date(2026, 11, 20)

    # Unselect a host: its event is withdrawn (SEQUENCE + 1), it is told once.
    services.decide(c, plans[1], False, "承办条件变化", org)
    fourth = services.publish(c, org)
    db.session.commit()
    assert [e.plan_id for e in fourth.withdrawn] == [plans[1].id] and len(fourth.mails) == 2
    withdrawn = db.session.scalar(select(Event).where(Event.plan_id == plans[1].id))
    assert withdrawn.status == EventStatus.WITHDRAWN.value and withdrawn.sequence == 1
    assert {m.template for m in fourth.mails} == {"selection_withdrawn"}
    assert all("已撤销" in m.subject and "不再承办 2026 年" in m.body for m in fourth.mails)
    fifth = services.publish(c, org)
    db.session.commit()
    assert not fifth.mails and not fifth.withdrawn
    assert _actions("selection.publish") == ["selection.publish"] * 5


def test_publish_refuses_missing_dates_and_warns_on_conflicts(world):
    c, org = world["campaign"], world["organiser"]
    _select_three(world)
    with pytest.raises(services.SelectionError, match="尚未安排日期"):
        services.publish(c, org)
    for d in services.selected_decisions(c):
        services.set_date(d, date(2026, 10, 2), 1, org)  # all on a National Day holiday, same day
    result = services.publish(c, org)
    assert result.created and any("节假日" in w for w in result.warnings) and any("间隔" in w for w in result.warnings)
    assert len(_actions("selection.date_manual")) == 3


def test_golden_week_with_the_services(world):
    """Five hosts all wanting October 2026 with the default 21-day gap: two fit, three are named."""
    c, org = world["campaign"], world["organiser"]
    october = [make_plan(c, f"十月{i}", [(date(2026, 10, 1), date(2026, 10, 31), 1)]) for i in range(5)]
    for plan in october:
        services.decide(c, plan, True, "十月举办", org)
    ctx, result = services.suggest(c, org, now=NOW)
    assert not result.feasible and len(result.placements) == 2
    labels = {h.key: h.label for h in ctx.hosts}
    messages = [services.describe(p, labels, ctx.gap, ctx.earliest) for p in result.problems]
    assert len(messages) == 3 and all("21" in m for m in messages)
    assert all(p.start >= date(2026, 10, 8) for p in result.placements.values())
