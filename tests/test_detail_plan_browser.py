"""In Chromium (real log-in, CSRF on, no shortcuts): a host whose base has no short name fills it in,
writes the detailed plan — goals, venue, agenda covering 4 content types, a technology need,
emergency plan, registration — sees what is still missing, submits; the organiser reviews and
approves it, and the approved version is what the public content reads."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events import content
from eventhub.events.models import DetailPlan, Event
from eventhub.extensions import db
from tests.browser_helpers import add_session, fill_text_section, login, logout, open_review
from tests.factories import make_base, make_scheduled_event, make_user


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """No smooth scrolling (Bootstrap turns it on): Playwright waits for it before every click."""
    return {**browser_context_args, "reduced_motion": "reduce"}


def test_host_writes_and_submits_the_detailed_plan_organiser_approves(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    start = to_shanghai(utcnow()).date() + timedelta(days=100)
    with app.app_context():
        partner = make_base("深圳市南山区", short_name="南山区")
        host_base = make_base("中国航天科工集团有限公司", short_name=None, contact_email="casic@example.com")
        event = make_scheduled_event(start, 2, host_base=host_base, partners=((partner, "储能和电力电子配套企业集聚"),))
        host = make_user(Role.HOST, base=host_base)
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        event_id, host_email, organiser_email = event.id, host.email, organiser.email
    day1, day2 = start.isoformat(), (start + timedelta(days=1)).isoformat()
    page.on("dialog", lambda dialog: dialog.accept())  # confirmations are accepted

    # ---- the host opens its theme day ----
    login(page, base_url, host_email)
    page.locator("#mainnav").get_by_role("link", name="活动方案").click()
    expect(page.locator("#my-events")).to_contain_text("融通创新主题日")
    expect(page.locator(f"[data-event='{event_id}'] [data-countdown]")).to_contain_text("还剩")
    page.locator(f"#open-plan-{event_id}").click()
    expect(page.locator("#plan-title")).to_have_text("融通创新主题日活动方案")
    expect(page.locator("#countdown")).to_contain_text("还剩")
    expect(page.locator("#bases")).to_contain_text("南山区")  # pre-filled from the preliminary plan

    # The short name is missing: fill it in (it goes to the registry).
    page.locator("#save-short-name").click()
    expect(page.locator("#short-name-form")).to_contain_text("请填写基地简称")
    page.fill("#short_name", "航天科工")
    page.locator("#save-short-name").click()
    expect(page.locator("#plan-title")).to_have_text("航天科工融通创新主题日活动方案")

    # ---- text sections ----
    fill_text_section(page, "goals", "围绕航天材料与智能制造产业链，促成 20 项以上合作，发布一批技术需求。")
    fill_text_section(page, "venue", "北京市海淀区阜成路 8 号 航天科工大厦")
    fill_text_section(page, "emergency", "设立医疗点与应急疏散通道；遇极端天气改为线上举办；专人负责突发事件处置。")
    expect(page.locator("#emergency")).to_contain_text("应急疏散通道")

    # ---- agenda: a refused session keeps what was typed, then four content types over three sessions ----
    page.locator("#edit-sessions").click()
    page.fill("#title", "开幕式")
    page.select_option("#kind", "opening")
    page.fill("#day", day1)
    page.fill("#start_time", "10:00")
    page.fill("#end_time", "09:00")
    page.fill("#online_url", "live.example.cn")
    page.locator("#save").click()
    expect(page.locator("#section-form")).to_contain_text("结束时间应晚于开始时间")
    expect(page.locator("#section-form")).to_contain_text("线上链接应为以 http:// 或 https:// 开头的完整网址")
    expect(page.locator("#title")).to_have_value("开幕式")
    page.screenshot(path=str(screenshot_dir / f"detail-1-session-errors-{backend}.png"), full_page=True)
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "10:00")
    page.fill("#online_url", "https://live.example.cn/casic")
    page.fill("#venue", "一号报告厅")
    page.check("#content_types-matchmaking")
    page.locator("#save").click()
    expect(page.locator("#sessions-table")).to_contain_text("开幕式")

    add_session(page, "实验室与应用场景开放", "exhibition", day1, "10:30", "12:00", ["resources"], venue="展厅")
    add_session(page, "揭榜挂帅与项目路演", "roadshow", day2, "09:00", "11:30", ["joint_rd", "roadshow"], venue="二号厅")
    expect(page.locator("#coverage")).to_contain_text("主题内容涵盖 4 / 5 类")

    # ---- technology need ----
    page.locator("#edit-needs").click()
    page.fill("#title", "耐高温复合材料连接工艺")
    page.fill("#field", "新材料")
    page.fill("#description", "面向航天结构件，寻求 800℃ 以上耐高温复合材料的可靠连接工艺。")
    page.fill("#expected_result", "完成样件试制并通过热循环试验")
    page.fill("#budget_min", "100")
    page.fill("#budget_max", "300")
    page.fill("#response_deadline", day1)
    page.locator("#save").click()
    expect(page.locator("#needs-list")).to_contain_text("耐高温复合材料连接工艺")
    expect(page.locator("#needs-list")).to_contain_text("100–300 万元")

    # Registration still missing: the submit page says so, with a link to the section.
    page.locator("#submit-plan").click()
    expect(page.locator("#problems")).to_contain_text("请填写报名人数上限")
    page.locator("#problems").get_by_role("link", name="报名设置").first.click()
    expect(page).to_have_url(re.compile(r"#registration$"))

    page.locator("#edit-registration").click()
    page.fill("#capacity", "300")
    page.fill("#opens_at", f"{(start - timedelta(days=30)).isoformat()}T09:00")
    page.fill("#closes_at", f"{day1}T08:00")
    page.check("#approval_mode-moderated")
    page.locator("#save").click()
    expect(page.locator("#registration")).to_contain_text("承办方审核")
    expect(page.locator("#problems")).to_have_count(0)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#plan-title")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / f"detail-2-plan-phone-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator("#submit-plan").click()
    page.locator("#confirm-submit").click()
    expect(page.locator("#plan-status")).to_have_text("待审核")
    expect(page.locator("#locked")).to_contain_text("第 1 版")
    expect(page.locator("#edit-goals")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / f"detail-3-submitted-{backend}.png"), full_page=True)
    logout(page)

    # ---- the organiser reviews and approves ----
    login(page, base_url, organiser_email)
    open_review(page, event_id)
    expect(page.locator("#shown-version")).to_have_text("第 1 版")
    expect(page.locator("#snap-title")).to_have_text("航天科工融通创新主题日活动方案")
    expect(page.locator(".snap-sessions")).to_contain_text("揭榜挂帅与项目路演")
    page.locator("#approve").click()  # without the confirmation box: refused
    expect(page.locator("main")).to_contain_text("请勾选确认后再提交审核决定")
    page.fill("#comment", "方案完整，同意。")
    page.check("#confirm")
    page.screenshot(path=str(screenshot_dir / f"detail-4-review-{backend}.png"), full_page=True)
    page.locator("#approve").click()
    expect(page.locator("#plan-status")).to_have_text("已批准")
    expect(page.locator("main")).to_contain_text("公开版本：第 1 版")
    page.screenshot(path=str(screenshot_dir / f"detail-5-approved-{backend}.png"), full_page=True)

    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == event_id))
        assert plan.status == "approved" and plan.approved_version_number == 1 and not plan.late
        public = content.publication(db.session.get(Event, event_id))
        assert public.title == "航天科工融通创新主题日活动方案"
        assert [s.title for s in public.sessions] == ["开幕式", "实验室与应用场景开放", "揭榜挂帅与项目路演"]
        assert len(public.content_types) == 4 and [n.title for n in public.needs] == ["耐高温复合材料连接工艺"]
        assert public.registration_capacity == 300 and public.approval_mode == "moderated"
