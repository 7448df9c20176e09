"""The road show end to end in Chromium (CSRF on): an SME submits a project on the public call page
(phone), the host shortlists it, auto-schedules and publishes on the schedule page, starts the live
scoring, a panel judge scores the pitch on a phone-sized viewport, and the public agenda shows the
slot; the host's results page then counts the sheet.
"""

from __future__ import annotations

from datetime import time

import pytest
from playwright.sync_api import Browser, expect

from eventhub.core.permissions import Role
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.roadshow import live
from eventhub.roadshow.models import PanelMember, ProjectApplication, RoadshowSession
from tests.browser_helpers import login, no_horizontal_scroll, phone_context_args
from tests.event_helpers import VALID_USCC
from tests.factories import make_user
from tests.test_roadshow_calls import SUMMARY, call_event, tiny_pdf


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sme_submits_host_schedules_judge_scores_on_a_phone_agenda_shows_the_slot(live_server, browser: Browser, backend: str, screenshot_dir):
    app, base_url = live_server
    with app.app_context():
        ids = call_event()
        event = db.session.get(Event, ids["event_id"])
        session = RoadshowSession(
            event_id=event.id,
            title="先进制造路演专场",
            room="一号路演厅",
            track="先进制造",
            day=event.start_date,
            start_time=time(9, 0),
            end_time=time(11, 0),
            slot_minutes=20,
        )
        db.session.add(session)
        db.session.flush()
        judge = make_user(Role.REVIEWER)
        db.session.add(PanelMember(session_id=session.id, user_id=judge.id, role="judge"))
        db.session.commit()
        session_id, judge_email = session.id, judge.email

    # 1. the SME applies on its phone
    phone = browser.new_context(**phone_context_args())
    page = phone.new_page()
    page.goto(f"{base_url}/theme-days/{ids['event_id']}/projects")
    page.fill("#org_name", "福州精测科技有限公司")
    page.select_option("#org_type", "sme")
    page.fill("#uscc", VALID_USCC)
    page.fill("#contact_name", "张三")
    page.fill("#contact_mobile", "13900000001")
    page.fill("#contact_email", "zhang@example.com")
    page.fill("#presenter_name-0", "李四")
    page.fill("#presenter_mobile-0", "13700000001")
    page.fill("#presenter_email-0", "li@example.com")
    page.fill("#project_name", "叶片在线检测装备")
    page.select_option("#field", "先进制造")
    page.select_option("#stage", "prototype")
    page.fill("#seeking", "拟融资 500 万元，寻求中试场地。")
    page.fill("#summary", SUMMARY)
    page.set_input_files("#deck", files=[{"name": "路演材料.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("Deck")}])
    page.click("#submit-application")
    expect(page.locator("#application-status")).to_have_text("已提交")
    with app.app_context():
        application_id = db.session.query(ProjectApplication).one().id

    # 2. the host shortlists, auto-schedules and publishes, then opens the live scoring
    host = browser.new_context()
    host_page = host.new_page()
    login(host_page, base_url, ids["host_email"])
    host_page.goto(f"{base_url}/events/{ids['event_id']}/roadshow/applications/{application_id}")
    host_page.once("dialog", lambda dialog: dialog.accept())
    host_page.click("#action-shortlist")
    expect(host_page.locator("#application-status")).to_have_text("入围")
    host_page.goto(f"{base_url}/events/{ids['event_id']}/roadshow/schedule")
    host_page.click("#auto-schedule")
    expect(host_page.locator(f"#grid-session-{session_id}")).to_contain_text("叶片在线检测装备")
    host_page.click("#publish-link")
    host_page.check("#confirm")
    host_page.click("#confirm-publish")
    expect(host_page.locator("#version-state")).to_contain_text("1")
    host_page.goto(f"{base_url}/events/{ids['event_id']}/roadshow/rubric")
    expect(host_page.locator("#rubric-form input[name=crit_name]").first).to_have_value("技术先进性")
    host_page.once("dialog", lambda dialog: dialog.accept())
    host_page.click("#start-scoring")
    expect(host_page.locator("#round-status")).to_have_text("评分中")

    # 3. the judge scores on a phone
    judge_ctx = browser.new_context(**phone_context_args())
    jpage = judge_ctx.new_page()
    login(jpage, base_url, judge_email)
    jpage.goto(f"{base_url}/roadshow/panel")
    jpage.click(f"#seat-{session_id}")
    pitch = jpage.locator(f"#pitch-{application_id}")
    expect(pitch).to_contain_text("叶片在线检测装备")
    inputs = pitch.locator("input.score-input")
    expect(inputs).to_have_count(4)
    box = inputs.first.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target
    no_horizontal_scroll(jpage)
    for index, value in enumerate(("8", "7.5", "9", "8")):
        inputs.nth(index).fill(value)
    pitch.locator("button[value=save]").click()
    expect(jpage.locator(f"#pitch-{application_id}")).to_contain_text("草稿已保存")
    expect(jpage.locator(f"#pitch-{application_id} input.score-input").nth(1)).to_have_value("7.5")
    jpage.once("dialog", lambda dialog: dialog.accept())
    jpage.locator(f"#pitch-{application_id} button[value=submit]").click()
    expect(jpage.locator(f"#pitch-{application_id} .sheet-submitted")).to_contain_text("已提交评分")
    jpage.screenshot(path=str(screenshot_dir / "roadshow-live-judge-phone.png"), full_page=True)
    with app.app_context():
        rnd = live.live_round(db.session.get(Event, ids["event_id"]))
        result = judging.aggregate(rnd)[0]
        assert (result.item.ref_id, result.submitted, result.raw_mean) == (application_id, 1, pytest.approx(8.125))

    # 4. the public agenda shows the slot; the host's results count the sheet
    page.goto(f"{base_url}/theme-days/{ids['event_id']}/roadshow")
    expect(page.locator("main")).to_contain_text("叶片在线检测装备")
    expect(page.locator("main")).to_contain_text("09:00")
    no_horizontal_scroll(page)
    host_page.goto(f"{base_url}/events/{ids['event_id']}/roadshow/results")
    expect(host_page.locator(f"#result-{application_id}")).to_contain_text("1 / 1")
    phone.close()
    host.close()
    judge_ctx.close()
