"""Chromium: an SME answers the satisfaction survey on a phone-sized viewport, from the link in its mail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from eventhub.assessment import surveys
from eventhub.assessment.models import SurveyResponse
from eventhub.core.mail import MailMessage
from eventhub.core.timeutil import utcnow
from eventhub.extensions import db
from eventhub.registration.models import OrgType
from tests.browser_helpers import no_horizontal_scroll, phone_context_args
from tests.event_helpers import make_event
from tests.test_assessment_surveys import check_in
from tests.test_checkin_services import ticketed


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sme_answers_the_survey_on_a_phone(live_server, browser: Browser, backend: str, screenshot_dir):  # noqa: ANN001
    app, base_url = live_server
    app.config["PUBLIC_BASE_URL"] = base_url
    with app.app_context():
        two_days_ago = (utcnow() + timedelta(hours=8)).date() - timedelta(days=2)  # links go out 09:00 the day after
        event = make_event("华润", start=two_days_ago)
        _registration, payload = ticketed(event, org_type=OrgType.SME.value, name="王五", organisation="福州精测科技有限公司")
        check_in(event, payload)
        db.session.commit()
        assert "1 invitation(s) sent" in surveys.send_invitations()
        mail = db.session.scalar(select(MailMessage).where(MailMessage.template == "assessment_survey_invitation"))
        link = re.search(r"https?://\S+/survey/[A-Za-z0-9_-]{43}", mail.body).group(0)
        db.session.commit()

    phone = browser.new_context(**phone_context_args())
    page = phone.new_page()
    page.goto(link)
    expect(page.locator("h1")).to_have_text("融通创新主题日满意度调查")
    no_horizontal_scroll(page)
    # Thumb-sized targets: every score button at least 44 px high, the 0–10 scale fits without scrolling sideways.
    boxes = [page.locator(f"label[for$='-{n}']").first.bounding_box() for n in (1, 5)]
    assert all(box["height"] >= 44 and box["width"] >= 44 for box in boxes), boxes

    questions = page.locator("#survey-form fieldset")
    expect(questions).to_have_count(6)
    questions.nth(0).get_by_text("4", exact=True).click()
    questions.nth(1).get_by_text("5", exact=True).click()
    questions.nth(3).get_by_text("9", exact=True).click()  # the road-show question left out
    questions.nth(4).get_by_text("不确定", exact=True).click()
    page.fill("#survey-form textarea", "希望提前公布对接名单")
    page.locator("#submit-survey").click()

    expect(page.locator("#form-errors")).to_contain_text("1 道题")
    expect(questions.nth(2).locator(".field-error")).to_have_text("请选择一项。")
    expect(page.locator("#survey-form textarea")).to_have_value("希望提前公布对接名单")  # what was typed is kept
    expect(questions.nth(0).locator("input[value='4']")).to_be_checked()
    no_horizontal_scroll(page)
    questions.nth(2).get_by_text("3", exact=True).click()
    page.locator("#submit-survey").click()

    expect(page.locator("#thanks")).to_contain_text("感谢您的反馈")
    expect(page.locator("#my-answers")).to_contain_text("希望提前公布对接名单")
    page.screenshot(path=str(screenshot_dir / "survey-phone-thanks.png"), full_page=True)

    # Editable until the survey closes: change the overall score.
    page.locator("#edit-answers").click()
    expect(page.locator("#submit-survey")).to_have_text("保存修改")
    page.locator("#survey-form fieldset").nth(0).get_by_text("5", exact=True).click()
    page.locator("#submit-survey").click()
    expect(page.locator("#thanks")).to_contain_text("您的修改已保存")
    phone.close()

    with app.app_context():
        rows = list(db.session.scalars(select(SurveyResponse)))
        assert len(rows) == 1
        figures = surveys.survey_figures(event_of(rows[0]))
        assert figures["overall_mean"] == 5 and figures["nps"] == 100.0 and figures["response_rate"] == 1.0


def event_of(response: SurveyResponse):  # noqa: ANN201
    from eventhub.events.models import Event

    return db.session.get(Event, response.event_id)
