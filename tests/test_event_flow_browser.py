"""The whole chain of issue 4 in one Chromium run (real log-in forms, CSRF on, no model shortcuts after set-up):

a host fills the detailed plan through the UI (short name, goals, venue, emergency plan, agenda over
four content types, one technology need, registration) and submits; the organiser, in another
browser context, approves; an anonymous visitor on a phone (WeChat's browser) opens the public page
from the calendar, sees the agenda and the need without sideways scrolling, and answers the need;
the host shortlists the answer with a note; the SME reloads its private page and sees 入围 and the
note. The SME's receipt and status mails are in the outbox under their keys.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.core.wordcount import count_zishu
from eventhub.events.models import TechNeed, TechNeedResponse
from eventhub.events.responses import PROPOSAL_MIN_ZISHU
from eventhub.extensions import db
from tests.browser_helpers import (
    add_need,
    add_session,
    approve_plan,
    decide_answer,
    fill_answer_form,
    fill_registration,
    fill_short_name,
    fill_text_section,
    login,
    no_horizontal_scroll,
    open_detail_plan,
    open_review,
    phone_context_args,
    submit_detail_plan,
)
from tests.event_helpers import VALID_USCC
from tests.factories import make_base, make_scheduled_event, make_user


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """No smooth scrolling (Bootstrap turns it on): Playwright waits for it before every click."""
    return {**browser_context_args, "reduced_motion": "reduce"}


NEED = "高温合金叶片在线无损检测"
SME = "福州精测科技有限公司"
SME_EMAIL = "lin@jingce.example.com"
NOTE = "方案可行，请于下周一前提交详细技术方案。"
PROPOSAL = (
    "我公司专注超声相控阵无损检测十余年，已为多家航空发动机企业提供叶片在线检测方案。"
    "拟采用相控阵加机器视觉的组合方案，六个月内交付样机，并在贵司产线完成验证，检测精度优于 0.1 mm。"
)


def test_host_plans_organiser_approves_phone_visitor_answers_host_shortlists(live_server, page: Page, browser: Browser, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    start = to_shanghai(utcnow()).date() + timedelta(days=100)
    with app.app_context():
        partner = make_base("深圳市南山区", short_name="南山区")
        host_base = make_base("中国航天科工集团有限公司", short_name=None, contact_email="casic@example.com")
        event = make_scheduled_event(start, 2, host_base=host_base, partners=((partner, "航天材料配套企业集聚"),))
        host = make_user(Role.HOST, base=host_base)
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        event_id, host_email, organiser_email = event.id, host.email, organiser.email
    day1, day2 = start.isoformat(), (start + timedelta(days=1)).isoformat()
    assert count_zishu(PROPOSAL) >= PROPOSAL_MIN_ZISHU

    def shot(name: str, on: Page) -> None:
        on.screenshot(path=str(screenshot_dir / f"event-flow-{name}-{backend}.png"), full_page=True)

    # ---- 1. the host writes the detailed plan and submits it ----
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, base_url, host_email)
    open_detail_plan(page, event_id)
    fill_short_name(page, "航天科工")
    fill_text_section(page, "goals", "围绕航天材料与智能制造产业链，促成 20 项以上合作，发布一批技术需求。")
    fill_text_section(page, "venue", "北京市海淀区阜成路 8 号 航天科工大厦")
    fill_text_section(page, "emergency", "设立医疗点与应急疏散通道；遇极端天气改为线上举办；专人负责突发事件处置。")
    add_session(page, "开幕式暨技术需求发布", "opening", day1, "09:00", "10:00", ["matchmaking"], venue="一号报告厅", url="https://live.example.cn/casic")
    add_session(page, "实验室与应用场景开放", "exhibition", day1, "10:30", "12:00", ["resources"], venue="展厅")
    add_session(page, "揭榜挂帅与项目路演", "roadshow", day2, "09:00", "11:30", ["joint_rd", "roadshow"], venue="二号厅")
    expect(page.locator("#coverage")).to_contain_text("主题内容涵盖 4 / 5 类")
    add_need(
        page,
        title=NEED,
        field="先进制造",
        description="需要一种可在产线上在线检测叶片内部缺陷的方法。",
        expected_result="样机一台，检测精度 0.1 mm。",
        budget=("50", "200"),
        deadline=day1,
    )
    fill_registration(page, capacity="300", opens_at=f"{(start - timedelta(days=30)).isoformat()}T09:00", closes_at=f"{day1}T08:00")
    expect(page.locator("#problems")).to_have_count(0)
    shot("1-host-plan", page)
    submit_detail_plan(page)
    expect(page.locator("#locked")).to_contain_text("第 1 版")
    shot("2-host-submitted", page)

    # ---- 2. the organiser approves (own browser context) ----
    organiser_context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    phone_context = browser.new_context(**phone_context_args(reduced_motion="reduce"))
    try:
        org_page = organiser_context.new_page()
        login(org_page, base_url, organiser_email)
        open_review(org_page, event_id)
        expect(org_page.locator("#snap-title")).to_have_text("航天科工融通创新主题日活动方案")
        expect(org_page.locator(".snap-sessions")).to_contain_text("揭榜挂帅与项目路演")
        approve_plan(org_page, "方案完整，同意。")
        expect(org_page.locator("main")).to_contain_text("公开版本：第 1 版")
        shot("3-organiser-approved", org_page)

        with app.app_context():
            need_id = db.session.scalar(select(TechNeed.id).where(TechNeed.event_id == event_id))

        # ---- 3. an anonymous visitor on a phone (WeChat) opens the public page from the calendar ----
        phone = phone_context.new_page()
        assert "MicroMessenger" in phone.evaluate("() => navigator.userAgent")
        phone.goto(f"{base_url}/calendar")
        phone.locator(f"#event-{event_id} a").first.tap()
        expect(phone).to_have_url(f"{base_url}/theme-days/{event_id}")
        expect(phone.locator("#event-title")).to_have_text("航天科工融通创新主题日")  # renamed when the host filled the short name
        expect(phone.locator("#event-venue")).to_have_text("北京市海淀区阜成路 8 号 航天科工大厦")
        expect(phone.locator("#goals")).to_contain_text("促成 20 项以上合作")
        agenda = phone.locator("#agenda")
        for title in ("开幕式暨技术需求发布", "实验室与应用场景开放", "揭榜挂帅与项目路演"):
            expect(agenda).to_contain_text(title)
        expect(agenda).to_contain_text("09:00")
        expect(agenda).to_contain_text(day2)
        need_card = phone.locator(f"#need-{need_id}")
        expect(need_card).to_contain_text(NEED)
        expect(need_card).to_contain_text("50–200 万元")
        expect(phone.locator("#bases")).to_contain_text("南山区")
        expect(phone.locator("#answers-link")).to_have_count(0)  # anonymous: no way to the answers
        no_horizontal_scroll(phone)
        shot("4-public-phone", phone)

        # ---- 4. the SME answers the need ----
        need_card.locator("a.respond").tap()
        expect(phone).to_have_url(re.compile(rf"/theme-days/{event_id}/needs/{need_id}/respond$"))
        no_horizontal_scroll(phone)
        fill_answer_form(phone, org_name=SME, uscc=VALID_USCC, contact_name="林工", mobile="13812345678", email=SME_EMAIL, proposal=PROPOSAL)
        expect(phone.locator("#zishu-count")).to_contain_text(str(count_zishu(PROPOSAL)))
        shot("5-answer-form-phone", phone)
        phone.locator("#submit-response").tap()
        expect(phone).to_have_url(re.compile(r"/responses/[A-Za-z0-9_-]{43,}$"))
        expect(phone.locator("#status-label")).to_have_text("已提交，待承办方处理")
        expect(phone.locator("#answer-org")).to_have_text(SME)
        no_horizontal_scroll(phone)
        shot("6-answer-status-phone", phone)

        # ---- 5. the host sees the answer in the need's list and shortlists it with a note ----
        page.goto(f"{base_url}/theme-days/{event_id}")
        page.locator("#answers-link").click()
        need_row = page.locator(f"#needs-table tr[data-need='{need_id}']")
        expect(need_row.locator(".total")).to_have_text("1")
        need_row.get_by_role("link", name="查看响应").click()
        expect(page.locator("#responses-table")).to_contain_text(SME)
        expect(page.locator("#responses-table")).to_contain_text(VALID_USCC)
        expect(page.locator("#responses-table")).to_contain_text("138****5678")
        decide_answer(page, SME, NOTE)
        shot("7-host-shortlisted", page)

        # ---- 6. the SME reloads its private page ----
        phone.reload()
        expect(phone.locator("#status-label")).to_have_text("入围")
        expect(phone.locator("#host-note")).to_have_text(NOTE)
        no_horizontal_scroll(phone)
        shot("8-answer-shortlisted-phone", phone)
        status_url = phone.url
    finally:
        organiser_context.close()
        phone_context.close()

    with app.app_context():
        answer = db.session.scalar(select(TechNeedResponse).where(TechNeedResponse.need_id == need_id))
        assert answer.status == "shortlisted" and answer.host_note == NOTE and answer.uscc == VALID_USCC
        mails = {m.key: m for m in db.session.scalars(select(MailMessage).where(MailMessage.recipient == SME_EMAIL))}
        received = mails.pop(f"need-response:{answer.id}:received")
        assert received.template == "need_response_received" and status_url in received.body
        (status_key, status_mail), *others = mails.items()
        assert not others, f"unexpected mails to the SME: {list(mails)}"
        assert re.fullmatch(rf"need-response:{answer.id}:status:\d+", status_key)
        assert status_mail.template == "need_response_status" and "入围" in status_mail.body and NOTE in status_mail.body
