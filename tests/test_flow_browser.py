"""End to end in Chromium (real log-in forms, CSRF on): a host writes a plan and sees the live 字数
count change, submits; the organiser opens the review and assigns a reviewer, who scores the plan;
the organiser selects the host, sets the date and publishes; anyone sees the theme day on the
public calendar and in /calendar.ics."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventhub.bases.models import BaseType
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.permissions import Role
from eventhub.core.timeutil import end_of_day
from eventhub.core.wordcount import count_zishu
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging.models import ScoreSheet
from eventhub.plans.models import PlanStatus, PreliminaryPlan
from tests.browser_helpers import fill_plan_form
from tests.factories import PASSWORD, make_base, make_user

THEME = "绿色低碳能源装备产业链融通创新"
SENTENCES = [
    "中国华润围绕绿色低碳能源装备产业链，组织上下游企业、高校院所和金融机构共同参加融通创新主题日。",
    "活动期间开放共享检测认证平台和中试基地，发布一批面向中小企业的技术需求与应用场景清单。",
    "围绕关键零部件国产化开展协作攻关，由龙头企业出题、中小企业答题，形成联合攻关项目。",
    "组织创新团队现场路演，邀请投资机构和产业专家点评，推动成果在集团内部率先转化应用。",
    "活动结束后建立跟踪台账，三个月内回访对接项目进展，及时协调解决合作中遇到的困难和问题。",
]
BODY = "".join(SENTENCES * 3)  # within the campaign's 300–1000 字


def _setup(app) -> dict:  # noqa: ANN001
    with app.app_context():
        campaign = Campaign(
            year=2027,
            title="2027 年“融通创新”主题日",
            plan_deadline=end_of_day(date(2027, 6, 30)),
            status=CampaignStatus.PLANNING.value,
        )
        db.session.add(campaign)
        host_base = make_base("华润（集团）有限公司", short_name="华润")
        partner = make_base("深圳市南山区", BaseType.REGION, short_name="南山区")
        host = make_user(Role.HOST, base=host_base)
        reviewer = make_user(Role.REVIEWER)
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        return {
            "campaign": campaign.id,
            "partner": partner.id,
            "host": host.email,
            "reviewer": reviewer.email,
            "reviewer_name": reviewer.name,
            "organiser": organiser.email,
        }


def _login(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _logout(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("button", name="退出")).to_have_count(0)


def test_plan_review_selection_publish_calendar(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    ids = _setup(app)
    assert 300 <= count_zishu(BODY) <= 1000
    page.on("dialog", lambda dialog: dialog.accept())  # every confirmation below is accepted

    # ---- the host writes and submits the plan ----
    _login(page, base_url, ids["host"])
    page.locator("#mainnav").get_by_role("link", name="初步计划").click()
    expect(page.locator("#deadline")).to_contain_text("2027-06-30")
    page.locator("#start-plan").click()
    page.fill("#theme", THEME)
    page.fill("#field", "新能源装备")
    fill_plan_form(
        page,
        partner_id=ids["partner"],
        reason="南山区聚集了储能和电力电子配套企业，是产业链下游的重要应用市场",
        window=("2027-09-01", "2027-10-31"),
        sentences=SENTENCES[:4],
        measures="分时段入场，设置线上直播备用通道；遇极端天气改为线上举办。",
    )

    counter = page.locator("#zishu-count")
    expect(counter).to_have_attribute("data-count", "0")
    page.locator("#body").press_sequentially("融通创新")
    expect(counter).to_have_attribute("data-count", "4")
    expect(counter).to_contain_text("字数：4")
    page.locator("#body").fill(BODY)
    expect(counter).to_have_attribute("data-count", str(count_zishu(BODY)))
    expect(counter).to_contain_text(f"字数：{count_zishu(BODY)}")
    expect(counter).to_have_attribute("data-state", "ok")
    page.screenshot(path=str(screenshot_dir / f"flow-1-plan-{backend}.png"), full_page=True)

    page.locator("#submit-plan").click()
    expect(page.get_by_role("heading", name="确认提交初步计划")).to_be_visible()
    page.locator("#confirm-submit").click()
    expect(page.locator("#plan-status")).to_have_text("已提交")
    with app.app_context():
        plan = db.session.scalar(select(PreliminaryPlan))
        assert plan.status == PlanStatus.SUBMITTED.value and plan.body == BODY
        plan_id = plan.id
    _logout(page)

    # ---- the organiser opens the review, assigns the reviewer, starts scoring ----
    _login(page, base_url, ids["organiser"])
    page.locator("#mainnav").get_by_role("link", name="初步计划").click()
    expect(page.locator("#plans-table")).to_contain_text(THEME)
    page.locator("#open-review").click()
    expect(page.locator("#round-status")).to_be_visible()
    matrix = page.locator("#matrix")
    expect(matrix).to_contain_text(ids["reviewer_name"])
    matrix.get_by_role("button", name="分配").click()
    expect(page.locator("#matrix")).to_contain_text("已分配")
    page.locator("#start-scoring").click()
    expect(page.locator("#round-status")).to_have_text("评分中")
    page.screenshot(path=str(screenshot_dir / f"flow-2-round-{backend}.png"), full_page=True)
    _logout(page)

    # ---- the reviewer scores every criterion and submits ----
    _login(page, base_url, ids["reviewer"])
    page.locator("#mainnav").get_by_role("link", name="评审任务").click()
    page.locator("#assignments").get_by_role("link", name=f"华润：{THEME}").click()
    inputs = page.locator("input[type=number]")
    expect(inputs).to_have_count(3)
    for i, score in enumerate(["9", "8", "7"]):
        inputs.nth(i).fill(score)
    page.screenshot(path=str(screenshot_dir / f"flow-3-sheet-{backend}.png"), full_page=True)
    page.locator("#submit-sheet").click()
    expect(page.locator("#sheet-status")).to_contain_text("已于")
    with app.app_context():
        assert db.session.scalar(select(ScoreSheet)).status == "submitted"
    _logout(page)

    # ---- the organiser selects, dates and publishes ----
    _login(page, base_url, ids["organiser"])
    page.locator("#mainnav").get_by_role("link", name="遴选与排期").click()
    card = page.locator(f"#plan-{plan_id}")
    expect(card).to_contain_text(THEME)
    card.get_by_label("入选", exact=True).check()
    card.locator("textarea[name=rationale]").fill("产业链带动作用突出，评审得分最高")
    card.get_by_role("button", name="保存决定").click()
    expect(page.locator(f"#plan-{plan_id} .decision")).to_contain_text("产业链带动作用突出")
    page.screenshot(path=str(screenshot_dir / f"flow-4-selection-{backend}.png"), full_page=True)

    page.locator("#selection-tabs").get_by_role("link", name="日期安排").click()
    # today + 1 month lead + two weeks is long before September 2027; 1–7 October is avoided.
    page.fill(f"#start-{plan_id}", "2027-09-15")
    page.locator(f"#host-{plan_id}").get_by_role("button", name="保存日期").click()
    expect(page.locator(f"#start-{plan_id}")).to_have_value("2027-09-15")

    page.locator("#selection-tabs").get_by_role("link", name="发布").click()
    expect(page.locator("#to-publish")).to_contain_text("2027-09-15")
    page.check("#confirm")
    page.screenshot(path=str(screenshot_dir / f"flow-5-publish-{backend}.png"), full_page=True)
    page.click("#publish")
    expect(page).to_have_url(re.compile(r"/calendar\?year=2027"))
    _logout(page)

    # ---- anyone: the public calendar and the iCalendar feed ----
    page.goto(f"{base_url}/calendar?year=2027")
    events = page.locator("#events")
    expect(events).to_contain_text("华润融通创新主题日")
    expect(events).to_contain_text("2027-09-15")
    page.screenshot(path=str(screenshot_dir / f"flow-6-calendar-{backend}.png"), full_page=True)
    feed = page.request.get(f"{base_url}/calendar.ics")
    assert feed.ok
    assert "华润融通创新主题日" in feed.text()
    assert "20270915" in feed.text()
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.title == "华润融通创新主题日" and event.start_date == date(2027, 9, 15)
