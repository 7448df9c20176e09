"""Chromium: a member answers the mechanism follow-up on a phone from its mail link; the host
records a mechanism through the real form (CSRF on) and sees who answered what."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from eventhub.assessment import mechanisms as svc
from eventhub.assessment.models import Mechanism, MechanismCheck
from eventhub.core.mail import MailMessage
from eventhub.extensions import db
from tests.browser_helpers import login, no_horizontal_scroll, phone_context_args
from tests.event_helpers import host_of
from tests.test_assessment_mechanisms import past_event


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_host_records_member_answers_on_a_phone_host_sees_it(live_server, browser: Browser, backend: str, screenshot_dir):  # noqa: ANN001
    app, base_url = live_server
    app.config["PUBLIC_BASE_URL"] = base_url
    with app.app_context():
        event = past_event(4)  # ended four months ago: the 3-month wave is open
        host = host_of(event)
        db.session.commit()
        event_id, host_email, formed = event.id, host.email, event.end_date.isoformat()

    desk = browser.new_context()
    page = desk.new_page()
    login(page, base_url, host_email)
    page.goto(f"{base_url}/events/{event_id}/mechanisms")
    expect(page.locator("#no-mechanisms")).to_be_visible()
    page.locator("#new-mechanism").click()
    page.fill("#name", "新能源产业链创新联盟")
    page.select_option("#kind", "alliance")
    page.fill("#formed_on", formed)
    page.fill("#members", "福州精测科技有限公司，王五，wangwu@example.com")
    page.locator("#save-mechanism").click()
    expect(page.locator("#members + .invalid-feedback, .invalid-feedback")).to_contain_text("至少需要 2 家")
    expect(page.locator("#name")).to_have_value("新能源产业链创新联盟")  # typed values kept
    page.fill("#members", "福州精测科技有限公司，王五，wangwu@example.com\n厦门新材料研究院，赵六，zhaoliu@example.com")
    page.locator("#save-mechanism").click()
    expect(page.locator(".member-row")).to_have_count(2)

    with app.app_context():
        assert svc.send_due_checks().startswith("2 member(s)")
        mail = db.session.scalar(select(MailMessage).where(MailMessage.recipient == "wangwu@example.com"))
        link = re.search(r"https?://\S+/mechanisms/check/[A-Za-z0-9_-]{43}", mail.body).group(0)

    phone = browser.new_context(**phone_context_args())
    member = phone.new_page()
    member.goto(link)
    expect(member.locator("#mechanism-name")).to_have_text("新能源产业链创新联盟")
    no_horizontal_scroll(member)
    box = member.locator("#answer-active").bounding_box()
    assert box["height"] >= 44, box
    member.fill("#note", "每季度召开一次供需对接会")
    member.locator("#answer-active").click()
    expect(member.locator("#current-answer")).to_contain_text("仍在运行")
    expect(member.locator("#current-answer")).to_contain_text("每季度召开一次供需对接会")
    member.screenshot(path=str(screenshot_dir / "mechanism_check_phone.png"), full_page=True)
    with app.app_context():
        check = db.session.scalar(select(MechanismCheck).where(MechanismCheck.active.is_not(None)))
        assert check.active is True and check.wave == 3

    page.goto(f"{base_url}/events/{event_id}/mechanisms")
    row = page.locator(".member-row", has_text="福州精测科技有限公司")
    expect(row.locator(".answer-3")).to_contain_text("仍在运行")
    expect(row.locator(".answer-3")).to_contain_text("每季度召开一次供需对接会")
    expect(page.locator(".member-row", has_text="厦门新材料研究院").locator(".answer-3")).to_contain_text("未答复")
    expect(page.locator("#mechanism-figures .share-3")).to_have_text("100%")
    page.screenshot(path=str(screenshot_dir / "mechanism_list_host.png"), full_page=True)
    with app.app_context():
        assert db.session.scalar(select(Mechanism.name)) == "新能源产业链创新联盟"
    phone.close()
    desk.close()
