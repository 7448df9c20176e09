"""In Chromium (CSRF on): the organiser decides, types a date and sees the live warning, publishes;
the public calendar shows the theme day on a phone."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect

from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import PASSWORD, make_user
from tests.test_selection_services import make_campaign, make_plan


def test_organiser_selects_dates_and_publishes(live_server, page: Page, screenshot_dir):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        campaign = make_campaign(2027, target_hosts=1)
        plan = make_plan(campaign, "华润", [(date(2027, 9, 1), date(2027, 10, 31), 1)])
        email = make_user(Role.ORGANISER).email
        db.session.commit()
        cid, pid = campaign.id, plan.id

    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))

    page.goto(f"{base_url}/selection/?campaign_id={cid}")
    card = page.locator(f"#plan-{pid}")
    card.get_by_label("入选", exact=True).check()
    card.locator("textarea[name=rationale]").fill("产业链带动作用突出")
    card.get_by_role("button", name="保存决定").click()
    expect(page.locator(f"#plan-{pid} .decision")).to_contain_text("产业链带动作用突出")
    expect(page.locator("#count")).to_contain_text("已入选 1 家 / 拟确定 1 家")

    # 2027: chinese-calendar has no data; the organiser enters National Day, and the page says so.
    page.goto(f"{base_url}/selection/{cid}/dates")
    expect(page.locator(".holiday-source[data-year='2027']")).to_contain_text("没有数据")
    page.fill("#cal-day", "2027-10-01")
    page.fill("#cal-until", "2027-10-07")
    page.select_option("#cal-kind", "holiday")
    page.fill("#cal-name", "国庆节")
    page.locator("#calendar-form button[type=submit]").click()
    expect(page.locator(".holiday-source[data-year='2027']")).to_contain_text("组织方录入")

    # Typing a holiday shows a warning without saving (live check over fetch, CSRF header).
    page.fill(f"#start-{pid}", "2027-10-03")
    page.locator(f"#host-{pid} .js-check").click()
    expect(page.locator(f"#warnings-{pid}")).to_contain_text("节假日")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "selection-dates-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.fill(f"#start-{pid}", "2027-10-12")
    page.locator(f"#host-{pid} .js-check").click()
    expect(page.locator(f"#warnings-{pid}")).not_to_contain_text("节假日")
    page.locator(f"#host-{pid}").get_by_role("button", name="保存日期").click()
    expect(page.locator(f"#start-{pid}")).to_have_value("2027-10-12")

    page.goto(f"{base_url}/selection/{cid}/publish")
    page.check("#confirm")
    page.click("#publish")
    expect(page).to_have_url(re.compile(r"/calendar\?year=2027"))

    # Anyone, on a phone, without logging in.
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(f"{base_url}/calendar?year=2027")
    expect(phone.locator("#events")).to_contain_text("华润融通创新主题日")
    expect(phone.locator("#events")).to_contain_text("2027-10-12")
    phone.screenshot(path=str(screenshot_dir / "events-calendar-phone.png"), full_page=True)
    context.close()
