"""In Chromium on a phone-sized viewport: an SME submits a road-show project with a real PDF on the
public call page (after one mistake, choosing the deck again), lands on its private page, and the
host shortlists it (with the confirmation dialog); the private page then shows 入围.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from eventhub.extensions import db
from eventhub.roadshow import calls
from eventhub.roadshow.models import ProjectApplication
from tests.browser_helpers import login, no_horizontal_scroll, phone_context_args
from tests.event_helpers import VALID_USCC
from tests.test_roadshow_calls import SUMMARY, call_event, tiny_pdf


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sme_submits_on_a_phone_and_the_host_shortlists(live_server, browser: Browser, backend: str, screenshot_dir):
    app, base_url = live_server
    with app.app_context():
        ids = call_event()
    pdf = {"name": "路演材料.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("Roadshow deck")}

    phone = browser.new_context(**phone_context_args())
    page = phone.new_page()
    page.goto(f"{base_url}/theme-days/{ids['event_id']}/projects")
    expect(page.locator("#call-intro")).to_contain_text("征集新能源")
    no_horizontal_scroll(page)
    page.fill("#org_name", "福州精测科技有限公司")
    page.select_option("#org_type", "sme")
    page.fill("#uscc", VALID_USCC[:-1] + "0")  # a typo in the check character
    page.fill("#contact_name", "张三")
    page.fill("#contact_mobile", "13900000001")
    page.fill("#contact_email", "zhang@example.com")
    page.fill("#presenter_name-0", "李四")
    page.fill("#presenter_mobile-0", "13700000001")
    page.fill("#presenter_email-0", "li@example.com")
    page.click("#add-presenter")
    expect(page.locator("#presenter_name-1")).to_be_visible()
    page.fill("#presenter_name-1", "王五")
    page.fill("#presenter_mobile-1", "13700000002")
    page.fill("#presenter_email-1", "wang@example.com")
    page.fill("#project_name", "叶片在线检测装备")
    page.select_option("#field", "先进制造")
    page.check(f"#need_ids-{ids['need_id']}")
    page.select_option("#stage", "prototype")
    page.fill("#seeking", "拟融资 500 万元，寻求中试场地。")
    page.fill("#summary", SUMMARY)
    expect(page.locator("#zishu-count")).to_contain_text("字数")
    page.select_option("#unavail_date-0", ids["days"][1].isoformat())
    page.fill("#unavail_start-0", "14:00")
    page.fill("#unavail_end-0", "15:30")
    page.set_input_files("#deck", files=[pdf])
    page.click("#submit-application")

    expect(page.locator("#form-errors")).to_contain_text("重新选择文件")
    expect(page.locator("#uscc")).to_have_class("form-control is-invalid")
    expect(page.locator("#presenter_name-1")).to_have_value("王五")  # what was typed is kept
    expect(page.locator("#unavail_start-0")).to_have_value("14:00")
    no_horizontal_scroll(page)
    page.fill("#uscc", VALID_USCC)
    page.set_input_files("#deck", files=[pdf])
    page.click("#submit-application")

    expect(page.locator("#application-status")).to_have_text("已提交")
    assert "/projects/" in page.url
    expect(page.locator("main")).to_contain_text("路演材料.pdf")
    expect(page.locator("main")).to_contain_text("14:00–15:30")
    no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_dir / "roadshow-call-private-phone.png"), full_page=True)
    private_url = page.url

    with app.app_context():
        application = db.session.query(ProjectApplication).one()
        assert [p["name"] for p in application.presenters] == ["李四", "王五"] and application.deck_file.kind == "pdf"
        application_id = application.id

    host = browser.new_context(**phone_context_args())
    host_page = host.new_page()
    login(host_page, base_url, ids["host_email"])
    host_page.goto(f"{base_url}/events/{ids['event_id']}/roadshow/applications")
    expect(host_page.locator("#applications-table")).to_contain_text("叶片在线检测装备")
    host_page.locator(f"tr[data-application='{application_id}'] a").click()
    with host_page.expect_download() as download:
        host_page.click("#deck-link")
    assert download.value.path().read_bytes().startswith(b"%PDF-")
    host_page.once("dialog", lambda dialog: dialog.accept())
    host_page.click("#action-shortlist")
    expect(host_page.locator("#application-status")).to_have_text("入围")
    no_horizontal_scroll(host_page)

    page.goto(private_url)
    expect(page.locator("#application-status")).to_have_text("入围")
    with app.app_context():
        assert calls.find_by_token(private_url.rsplit("/", 1)[1]).status == "shortlisted"
    phone.close()
    host.close()
