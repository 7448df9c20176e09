"""``flask demo load``: the 92 bases, the next campaign, one user per role, submitted plans and a
plan-review round in scoring, the running campaign's theme days (two upcoming, one held with its
assessment data), in one transaction."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.auth.services import authenticate
from eventhub.bases.models import BaseType, DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import shanghai, to_shanghai, utcnow
from eventhub.core.wordcount import count_zishu
from eventhub.demo import plans as demo_plans
from eventhub.demo import services as demo
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import Assignment, JudgingRound
from eventhub.plans import review
from eventhub.plans import services as plan_services
from eventhub.plans.models import PlanStatus, PreliminaryPlan
from tests.factories import login, make_base, make_user


def _count(model) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(model))


def test_packaged_csv_has_the_92_bases():
    rows = list(demo.iter_base_rows())
    assert len(rows) == 92
    assert len({r["name"] for r in rows}) == 92
    by_name = {r["name"]: r for r in rows}
    assert by_name[demo.HOST_BASE]["base_type"] == BaseType.ENTERPRISE.value
    assert by_name[demo.SECOND_HOST_BASE]["short_name"] == "中国石油"
    assert all(r["batch"] == 3 for r in rows)


def test_a_broken_row_is_reported():
    with pytest.raises(demo.DemoDataError, match="第 3 行"):
        list(demo.iter_base_rows("name,short_name,batch,direction,base_type,province,source\n甲,,3,创业就业,region,北京市,\n乙,,3,不存在,region,北京市,\n"))


def test_demo_passwords_satisfy_the_rules():
    from eventhub.auth.services import password_problems

    for account in demo.ACCOUNTS:
        assert password_problems(account.password, account.email) == []
    assert {a.role for a in demo.ACCOUNTS} == set(Role)


def test_demo_load_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "organiser@demo.example.com" in result.output
    assert "Demo-organiser-2026" in result.output
    assert "北京时间" in result.output
    with app.app_context():
        assert _count(DemonstrationBase) == 92
        assert _count(User) >= 6
        roles = set(db.session.scalars(select(User.role)))
        assert roles == {r.value for r in Role}
        campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))
        assert [c.status for c in campaigns] == ["planning", "running"]  # next year's collects plans, this one's theme days run
        assert campaigns[0].plan_deadline > utcnow()
        assert campaigns[1].year == campaigns[0].year - 1
        hosts = {u.email: u.base.name for u in db.session.scalars(select(User).where(User.role == "host"))}
        assert hosts == {
            "host@demo.example.com": demo.HOST_BASE,
            "host-cnpc@demo.example.com": demo.SECOND_HOST_BASE,
            "host-cfhi@demo.example.com": demo.PAST_HOST_BASE,
        }
        for account in demo.ACCOUNTS:
            assert account.email in result.output
            assert account.password in result.output
            assert authenticate(account.email, account.password) is not None


def _all_counts() -> tuple[int, ...]:
    """Rows of every part the demo writes, up to the assessment of the theme day already held."""
    from eventhub.assessment.models import Deal, EventAssessment, Mechanism, MechanismCheck, SurveyInvitation, SurveyResponse
    from eventhub.checkin.models import Checkin
    from eventhub.core.mail import MailMessage
    from eventhub.events.models import Event
    from eventhub.registration.models import Registration

    models = (DemonstrationBase, User, Campaign, PreliminaryPlan, Event, Registration, Checkin, Deal, Mechanism, MechanismCheck)
    return tuple(_count(m) for m in (*models, SurveyInvitation, SurveyResponse, EventAssessment, MailMessage, AuditLog))


def test_if_empty_loads_into_an_empty_database_then_does_nothing(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load", "--if-empty"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        assert _count(DemonstrationBase) == 92
        counts = _all_counts()
    assert all(counts)
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "跳过" in result.output
    assert "Demo-organiser-2026" not in result.output
    with app.app_context():
        assert _all_counts() == counts


def test_if_empty_skips_when_only_a_user_exists(app):
    with app.app_context():
        make_user()
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert "跳过" in result.output
    with app.app_context():
        assert _count(DemonstrationBase) == 0


def test_load_without_if_empty_adds_only_what_is_missing(app):
    with app.app_context():
        make_base(name=demo.HOST_BASE, short_name="华润")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    again = app.test_cli_runner().invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "已存在" in again.output
    with app.app_context():
        assert _count(DemonstrationBase) == 92
        assert _count(User) == len(demo.ACCOUNTS)
        assert _count(Campaign) == 2


@pytest.mark.parametrize(("now", "year"), [(shanghai(2026, 6, 30, 23, 59, 59), 2026), (shanghai(2026, 7, 1), 2027), (shanghai(2027, 1, 5), 2027)])
def test_the_campaign_is_the_one_whose_deadline_comes_next(app, now, year):
    with app.app_context():
        lines: list[str] = []
        result = demo.load_demo(False, lines.append, now=now)
        assert result.campaign.year == year
        assert result.campaign.plan_deadline >= now
        assert any(f"{year} 年" in line for line in lines)


def test_everything_or_nothing(app, monkeypatch):
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError("boom")

    monkeypatch.setattr(demo.campaigns, "create_campaign", broken)
    with app.app_context():
        with pytest.raises(RuntimeError):
            demo.load_demo(False, lambda _line: None)
        assert (_count(DemonstrationBase), _count(User), _count(Campaign), _count(AuditLog)) == (0, 0, 0, 0)


def test_demo_organiser_sees_the_campaign_and_host_its_base(app, client):
    app.test_cli_runner().invoke(args=["demo", "load"])
    login(client, "organiser@demo.example.com", "Demo-organiser-2026")
    html = client.get("/campaigns/").get_data(as_text=True)
    assert "“融通创新”主题日" in html
    assert "还剩" in html
    client.post("/logout")
    login(client, "host@demo.example.com", "Demo-host-2026")
    html = client.get("/").get_data(as_text=True)
    assert demo.HOST_BASE in html


def test_table_lines_up_with_chinese_text():
    table = demo.format_table(["角色", "邮箱"], [["组织方", "a@b.cn"], ["第三方评估", "longer@example.com"]])
    widths = {demo._width(line) for line in table.splitlines()}
    assert len(widths) == 1


# ---- issue 3: preliminary plans and the plan-review round ------------------------------


def test_demo_plans_are_submitted_and_complete(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert f"初步计划：已提交 {len(demo_plans.PLANS)} 份" in result.output
    assert "评审：" in result.output and "已开始评分" in result.output
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        plans = list(db.session.scalars(select(PreliminaryPlan).where(PreliminaryPlan.campaign_id == campaign.id)))
        assert len(plans) == len(demo_plans.PLANS) >= 3
        names = {p.base.name for p in plans}
        assert {demo.HOST_BASE, demo.SECOND_HOST_BASE} <= names
        for plan in plans:
            assert plan.base.base_type == BaseType.ENTERPRISE.value
            assert plan.status == PlanStatus.SUBMITTED.value and len(plan.versions) == 1 and not plan.late
            assert plan_services.validation_errors(plan) == {}
            assert plan_services.completeness_warnings(plan, campaign) == []
            assert 4 <= len(plan.content_types) <= 5
            assert plan.participants and all(p.reason and p.base_id != plan.base_id for p in plan.participants)
            assert all(w.earliest_start.year == w.latest_start.year == campaign.year for w in plan.windows)
            zishu = count_zishu(plan.body)
            assert campaign.zishu_min <= zishu <= campaign.zishu_max
            assert abs(zishu - campaign.zishu_target) <= 100
            assert f"{plan.base.display_short_name}" in result.output


def test_demo_review_round_waits_for_the_reviewer(app, client):
    app.test_cli_runner().invoke(args=["demo", "load"])
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        rnd = review.review_round(campaign)
        assert rnd is not None and rnd.status == "scoring"
        reviewer = db.session.scalar(select(User).where(User.email == demo.REVIEWER_EMAIL))
        assignments = judging.assignments_of(reviewer)
        assert len(assignments) == len(demo_plans.PLANS)
        assert all(a.status == "assigned" and (a.sheet is None or a.sheet.status != "submitted") for a in assignments)
        titles = [a.item.title for a in assignments]
    login(client, demo.REVIEWER_EMAIL, "Demo-reviewer-2026")
    html = client.get("/judging/my").get_data(as_text=True)
    assert all(title in html for title in titles)
    client.post("/logout")
    login(client, "host@demo.example.com", "Demo-host-2026")
    assert "已提交" in client.get("/plans/").get_data(as_text=True)


def test_second_load_keeps_plans_and_round(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        counts = (_count(PreliminaryPlan), _count(JudgingRound), _count(Assignment))
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "初步计划：已存在，未改动" in again.output
    assert "（已存在，未改动）" in again.output
    with app.app_context():
        assert (_count(PreliminaryPlan), _count(JudgingRound), _count(Assignment)) == counts


def test_no_plans_after_the_deadline(app):
    with app.app_context():
        db.session.add(Campaign(year=2027, title="2027 年“融通创新”主题日", plan_deadline=shanghai(2027, 6, 1), status="planning"))
        db.session.commit()
        lines: list[str] = []
        demo.load_demo(False, lines.append, now=shanghai(2027, 6, 30, 12))
        assert _count(PreliminaryPlan) == 0 and _count(JudgingRound) == 0
        assert any("初步计划：未添加（2027 年初步计划已截止）" in line for line in lines)


def test_a_failing_plan_step_leaves_nothing(app, monkeypatch):
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError("boom")

    monkeypatch.setattr(demo.review, "open_review", broken)
    with app.app_context():
        with pytest.raises(RuntimeError):
            demo.load_demo(False, lambda _line: None)
        assert (_count(DemonstrationBase), _count(User), _count(Campaign), _count(PreliminaryPlan), _count(AuditLog)) == (0, 0, 0, 0, 0)


# ---- issue 4: scheduled theme days and detailed plans ---------------------------------


def test_demo_theme_days_one_approved_one_draft(app, client):
    from datetime import timedelta

    from eventhub.events import content
    from eventhub.events.models import DetailPlanStatus, Event

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "主题日：已排期 2 场、已举办 1 场" in result.output
    with app.app_context():
        today = to_shanghai(utcnow()).date()
        events = [e for e in db.session.scalars(select(Event).order_by(Event.start_date)) if e.start_date > today]
        assert [e.host_base.name for e in events] == [demo.HOST_BASE, demo.SECOND_HOST_BASE]
        assert [e.id for e in events] == [1, 2]  # the README links /theme-days/1
        approved, draft = events
        assert approved.detail_plan.status == DetailPlanStatus.APPROVED.value and not approved.detail_plan.late
        publication = content.publication(approved)
        assert publication is not None
        assert len(publication.sessions) == 5 and len(publication.needs) == 3 and len(publication.resources) == 2
        assert len(set(publication.content_types)) == 5 and publication.bases
        assert draft.detail_plan.status == DetailPlanStatus.DRAFT.value and content.publication(draft) is None
        assert draft.detail_plan_due > utcnow() + timedelta(days=7)  # the countdown has something to show
        approved_id, draft_id = approved.id, draft.id
    page = client.get(f"/theme-days/{approved_id}").get_data(as_text=True)
    assert "技术需求清单发布与揭榜对接" in page and "医药冷链全程温控与追溯技术" in page
    assert "创新团队对接路演" not in client.get(f"/theme-days/{draft_id}").get_data(as_text=True)
    again = app.test_cli_runner().invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "主题日：已排期" not in again.output and "评估演示" not in again.output
    with app.app_context():
        assert _count(Event) == 3


# ---- issue 7: a theme day already held, with everything the assessment reads ------------------------


def _cell(html: str, element_id: str) -> str:
    """The text of the element with ``id`` (no nested tags in the ones read here)."""
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match is not None, element_id
    return match.group(1).strip()


def test_demo_past_event_has_every_assessment_part(app, client):
    from eventhub.assessment import deals, mechanisms, scores, surveys
    from eventhub.assessment.models import Deal, DealStatus, MechanismCheck, SurveyResponse
    from eventhub.checkin.models import Checkin
    from eventhub.demo import past
    from eventhub.events.models import Event

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "评估演示（中国一重融通创新主题日" in result.output
    with app.app_context():
        today = to_shanghai(utcnow()).date()
        event = db.session.scalar(select(Event).where(Event.end_date < today))
        assert event is not None and event.host_base.name == "中国一重集团有限公司"
        assert (event.id, event.campaign_id) == (3, 2)  # the README links /events/3/… and /campaigns/2/assessment
        assert event.campaign.status == "running" and event.detail_plan.status == "approved"
        assert event.start_date.isoformat() in result.output
        assert len(event.detail_plan.sessions) == 5
        assert db.session.scalar(select(func.count()).select_from(Checkin).where(Checkin.event_id == event.id)) == past.CHECKED_IN
        checkins = db.session.scalars(select(Checkin.checked_in_at).where(Checkin.event_id == event.id))
        assert {to_shanghai(at).date() for at in checkins} == {event.start_date}  # scanned on the day, not at load time
        statuses = list(db.session.scalars(select(Deal.status).where(Deal.event_id == event.id)))
        assert statuses.count(DealStatus.CONFIRMED.value) == 3 and DealStatus.UNCONFIRMED.value in statuses and DealStatus.DISPUTED.value in statuses
        deal_figures = deals.deal_figures(event)
        assert deal_figures["confirmed_amount_wan"] > 0 and deal_figures["confirmed_signed"] >= 1
        mechanism_figures = mechanisms.mechanism_figures(event)
        assert mechanism_figures["mechanisms"] == len(past.MECHANISMS) and mechanism_figures["share_active_3"] is not None
        answered = db.session.scalar(select(func.count()).select_from(MechanismCheck).where(MechanismCheck.answered_at.is_not(None)))
        assert answered >= 1
        survey = surveys.survey_figures(event)
        assert survey["invited"] == past.SME_CHECKED_IN and survey["responded"] == len(past.ANSWERS) >= 12
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == survey["responded"]
        assert survey["promoters"] and survey["detractors"] and survey["passives"]  # varied answers: the charts show something
        campaign_result = scores.campaign_result(event.campaign)
        row = campaign_result.row_for(event.id)
        assert row is not None and row.score.composite is not None and row.score.rank == 1
        assert not row.finalised and not campaign_result.published
        expected = {key: scores.format_metric(key, value) for key, value in row.score.raw.items()}
        event_id = event.id
    login(client, "organiser@demo.example.com", "Demo-organiser-2026")

    report = client.get(f"/events/{event_id}/assessment/report")
    assert report.status_code == 200
    html = report.get_data(as_text=True)
    for key, text in expected.items():
        cell = re.search(rf'data-metric="{key}" data-event="{event_id}">\s*<div class="fw-semibold">([^<]*)</div>', html)
        assert cell is not None and cell.group(1) == text, key
    assert f"{row.score.composite:.2f}" in _cell(html, "own-rank")

    page = client.get(f"/events/{event_id}/deals")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _cell(html, "count-confirmed") == str(deal_figures["confirmed"])
    assert _cell(html, "count-unconfirmed") == str(deal_figures["unconfirmed"])
    assert _cell(html, "count-disputed") == str(deal_figures["disputed"])
    assert f"金额 {deal_figures['confirmed_amount_wan']:g} 万元" in html

    page = client.get(f"/events/{event_id}/survey")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _cell(html, "fig-invited") == str(survey["invited"])
    assert _cell(html, "fig-rate") == f"{survey['responded']} · {survey['response_rate'] * 100:.1f}%"
    assert _cell(html, "fig-overall") == str(survey["overall_mean"])
    assert _cell(html, "fig-nps") == str(survey["nps"])

    assert client.get(f"/events/{event_id}/mechanisms").status_code == 200
    assert "长春激光熔覆再制造有限公司" in client.get("/assessment/deals/disputed").get_data(as_text=True)


def test_a_failure_in_the_past_event_leaves_nothing(app, monkeypatch):
    """The last step of the held theme day fails: every service that commits on its own (registration,
    check-in, deals and their answers) was only flushed, so nothing of the whole demo is left."""
    from eventhub.demo import past

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError("boom")

    monkeypatch.setattr(past.scores, "save_comment", broken)
    with app.app_context():
        with pytest.raises(RuntimeError, match="boom"):
            demo.load_demo(False, lambda _line: None)
        db.session.remove()
        assert not any(_all_counts())
