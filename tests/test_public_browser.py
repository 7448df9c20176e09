"""In Chromium on a phone-sized screen: the public page of an approved theme day, an SME answers a need, the host sees it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from eventhub.extensions import db
from tests.browser_helpers import PHONE, decide_answer, login, no_horizontal_scroll
from tests.event_helpers import VALID_USCC, approved_event

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PROPOSAL = (
    "我公司专注超声相控阵无损检测十余年，已为多家航空发动机企业提供叶片在线检测方案。"
    "拟采用相控阵加机器视觉的组合方案，六个月内交付样机，并在贵司产线完成验证，检测精度优于 0.1 mm。"
)


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """A phone: 390×844, touch, mobile viewport meta honoured."""
    return {**browser_context_args, "viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2, "reduced_motion": "reduce"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_phone_public_page_sme_answers_host_sees_it(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    with app.app_context():
        ids = approved_event("华润", days=2)
        db.session.commit()

    page.goto(f"{base_url}/calendar")
    page.locator(f"#event-{ids['event_id']} a").first.click()
    expect(page).to_have_url(f"{base_url}/theme-days/{ids['event_id']}")
    expect(page.locator("#event-title")).to_have_text("华润融通创新主题日")
    expect(page.locator("#agenda")).to_contain_text("开幕式暨技术需求发布")
    expect(page.locator("#agenda")).to_contain_text("09:00")
    expect(page.locator("#agenda")).to_contain_text("仅限受邀")
    expect(page.locator(f"#need-{ids['need_id']}")).to_contain_text("高温合金叶片无损检测技术")
    expect(page.locator(f"#need-{ids['need_id']}")).to_contain_text("50–200 万元")
    expect(page.locator("#qr-image")).to_be_visible()
    assert page.evaluate("() => document.getElementById('qr-image').naturalWidth") > 0
    no_horizontal_scroll(page)
    button = page.locator(f"#need-{ids['need_id']} a.respond")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target
    page.screenshot(path=str(screenshot_dir / f"public-page-phone-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    no_horizontal_scroll(page)
    page.set_viewport_size(PHONE)

    button.tap()
    expect(page).to_have_url(re.compile(rf"/theme-days/{ids['event_id']}/needs/{ids['need_id']}/respond$"))
    no_horizontal_scroll(page)
    page.fill("#org_name", "福州精测科技有限公司")
    page.fill("#uscc", VALID_USCC)
    page.fill("#contact_name", "林工")
    page.fill("#contact_mobile", "13812345678")
    page.fill("#contact_email", "lin@jingce.example.com")
    page.fill("#proposal", "太短")
    expect(page.locator("#zishu-count")).to_contain_text("2")
    page.fill("#proposal", PROPOSAL)
    expect(page.locator("#zishu-count")).to_contain_text(str(_zishu(PROPOSAL)))
    page.set_input_files("#attachment", files=[{"name": "技术方案.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.check("#consent")
    page.screenshot(path=str(screenshot_dir / f"respond-form-phone-{backend}.png"), full_page=True)
    page.locator("#submit-response").tap()

    expect(page).to_have_url(re.compile(r"/responses/[A-Za-z0-9_-]{43,}$"))
    expect(page.locator("#status-label")).to_have_text("已提交，待承办方处理")
    expect(page.locator("#answer-org")).to_have_text("福州精测科技有限公司")
    expect(page.locator("#own-attachment")).to_have_text("技术方案.pdf")
    assert page.locator("#own-url").input_value() == page.url
    no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_dir / f"respond-status-phone-{backend}.png"), full_page=True)
    status_url = page.url

    host = page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    login(host, base_url, ids["host_email"])
    host.goto(f"{base_url}/events/{ids['event_id']}/needs")
    expect(host.locator(f"tr[data-need='{ids['need_id']}'] .total")).to_have_text("1")
    host.locator(f"tr[data-need='{ids['need_id']}'] a").click()
    expect(host.locator("#responses-table")).to_contain_text("福州精测科技有限公司")
    expect(host.locator("#responses-table")).to_contain_text("138****5678")
    decide_answer(host, "福州精测科技有限公司", "请于下周一前提交详细方案。")
    expect(host.locator("#proposal")).to_contain_text("相控阵")
    host.screenshot(path=str(screenshot_dir / f"need-response-host-{backend}.png"), full_page=True)
    host.close()

    page.goto(status_url)
    expect(page.locator("#status-label")).to_have_text("入围")
    expect(page.locator("#host-note")).to_have_text("请于下周一前提交详细方案。")


def _zishu(text: str) -> int:
    from eventhub.core.wordcount import count_zishu

    return count_zishu(text)
