"""The registrant's private page and what hangs off it: the .ics, editing answers, the A6 ticket,
and capacity changes of an approved plan.

Real database (SQLite and PostgreSQL), real iCalendar parsing, real QR decoding (zxingcpp) of the
SVG as Chromium renders it, and the detailed-plan approval itself for capacity changes.
"""

from __future__ import annotations

import io
import re
from typing import Any

import PIL.Image
import pytest
import zxingcpp
from icalendar import Calendar
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.events import detail_plans
from eventhub.events.content import publication
from eventhub.extensions import db
from eventhub.registration import questions as q
from eventhub.registration import services as rs
from eventhub.registration import tickets
from eventhub.registration.models import Registration
from tests.browser_helpers import PHONE, phone_context_args
from tests.event_helpers import submit
from tests.factories import make_user
from tests.test_registration_services import event_of, reg_event, register

SESSIONS = (("开幕式", None, "open"), ("技术需求对接会", None, "open"), ("闭门研讨", None, "open"))


def private(client: Any, token: str, suffix: str = "") -> Any:
    return client.get(f"/registrations/{token}{suffix}")


def fresh(registration_id: int) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, registration_id)


# ---- .ics -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_ics_holds_the_day_and_only_the_chosen_sessions_with_the_public_uids(app, client, backend):
    with app.app_context():
        ids = reg_event(sessions=SESSIONS)
        chosen = [ids["session_ids"][0], ids["session_ids"][2]]
        reg, token = register(ids, session_ids=chosen)
        html = private(client, token).get_data(as_text=True)
        assert f'href="/registrations/{token}/calendar.ics"' in html
        response = private(client, token, "/calendar.ics")
        assert response.status_code == 200 and response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-store" and "attachment" in response.headers["Content-Disposition"]
        cal = Calendar.from_ical(response.data)
        zones = [c for c in cal.walk("VTIMEZONE")]
        assert [str(z["TZID"]) for z in zones] == ["Asia/Shanghai"]
        events = cal.walk("VEVENT")
        event = event_of(ids)
        pub = publication(event)
        wanted = {event.uid} | {pub.session(sid).uid for sid in chosen}
        assert {str(e["UID"]) for e in events} == wanted and len(events) == 3
        timed = [e for e in events if str(e["UID"]) != event.uid]
        assert sorted(str(e["SUMMARY"]) for e in timed) == sorted(f"{pub.session(sid).title}｜{event.title}" for sid in chosen)
        for item in timed:
            assert item["DTSTART"].params["TZID"] == "Asia/Shanghai" and str(item["STATUS"]) == "CONFIRMED"
        # the same UID and SEQUENCE as the public session .ics, so a calendar updates one entry
        public = Calendar.from_ical(client.get(f"/theme-days/{event.id}/sessions/{chosen[0]}.ics").data).walk("VEVENT")[0]
        mine = next(e for e in timed if str(e["UID"]) == str(public["UID"]))
        assert mine["SEQUENCE"] == public["SEQUENCE"] and mine["DTSTART"].dt == public["DTSTART"].dt
        # once cancelled there is no calendar to download
        rs.cancel(fresh(reg.id))
        assert private(client, token, "/calendar.ics").status_code == 404
        assert client.get("/registrations/" + "A" * 43 + "/calendar.ics").status_code == 404


# ---- editing answers --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_edit_answers_prefills_saves_and_keeps_typed_values_on_errors(app, client, backend):
    with app.app_context():
        ids = reg_event()
        event = event_of(ids)
        lunch = q.define_question(event, "是否需要午餐", "yesno", required=True)
        topics = q.define_question(event, "关注方向", "multiple", choices=["新材料", "智能制造", "生物医药"])
        db.session.commit()
        reg, token = register(ids, need_ids=[ids["need_id"]], answers={q.field_name(lunch): "yes", q.field_name(topics): ["新材料"]})
        edit = f"/registrations/{token}/edit"
        assert f'href="{edit}"' in private(client, token).get_data(as_text=True)
        page = client.get(edit)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        html = page.get_data(as_text=True)
        assert 'value="福州精测科技有限公司"' in html and 'value="技术总监"' in html
        assert f'name="need_ids" value="{ids["need_id"]}" id="need_ids-{ids["need_id"]}" checked' in html
        assert f'id="{q.field_name(lunch)}-1" checked' in html and f'value="新材料" id="{q.field_name(topics)}-1" checked' in html
        assert 'name="name"' not in html and 'name="mobile"' not in html and 'name="session_ids"' not in html

        # invalid: every error at its field, everything typed still there, nothing stored
        bad = {
            "organisation": "福州精测二厂",
            "org_type": "large",
            "uscc": "123",
            "position": "",
            "resource_ids": [str(ids["resource_id"])],
            q.field_name(topics): ["智能制造", "生物医药"],
        }
        response = client.post(edit, data=bad)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "请填写职务。" in html and "请回答“是否需要午餐”（必选）。" in html and 'id="form-errors"' in html
        assert 'value="福州精测二厂"' in html and 'value="123"' in html and '<option selected value="large">' in html
        assert f'value="{ids["resource_id"]}" id="resource_ids-{ids["resource_id"]}" checked' in html
        assert f'value="智能制造" id="{q.field_name(topics)}-2" checked' in html and f'value="新材料" id="{q.field_name(topics)}-1">' in html
        assert f'id="need_ids-{ids["need_id"]}" checked' not in html  # it was unticked in this post
        stored = fresh(reg.id)
        assert stored.organisation == "福州精测科技有限公司" and stored.position == "技术总监"

        good = {**bad, "uscc": "", "org_type": "university", "position": "教授", q.field_name(lunch): "no"}
        response = client.post(edit, data=good)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/registrations/{token}")
        stored = fresh(reg.id)
        assert (stored.organisation, stored.org_type, stored.uscc, stored.position) == ("福州精测二厂", "university", None, "教授")
        assert stored.interests == {"needs": [], "resources": [ids["resource_id"]]}
        assert stored.answers == {str(lunch.id): False, str(topics.id): ["智能制造", "生物医药"]}
        assert stored.status == "confirmed" and not stored.needs_reapproval  # automatic mode
        assert "修改已保存。" in private(client, token).get_data(as_text=True)
        # a cancelled registration can no longer be edited
        rs.cancel(stored)
        response = client.post(edit, data={**good, "position": "院长"})
        assert response.status_code == 302 and fresh(reg.id).position == "教授"


def test_edit_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        ids = reg_event()
        reg, token = register(ids)
        page = client.get(f"/registrations/{token}/edit").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = {"organisation": "福州精测二厂", "org_type": "sme", "uscc": reg.uscc, "position": "总经理"}
        response = client.post(f"/registrations/{token}/edit", data=data)
        assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
        assert 'value="福州精测二厂"' in response.get_data(as_text=True) and fresh(reg.id).organisation == "福州精测科技有限公司"
        assert client.post(f"/registrations/{token}/edit", data={**data, "csrf_token": csrf}).status_code == 302
        assert fresh(reg.id).organisation == "福州精测二厂"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_moderated_edit_after_approval_goes_back_to_the_host(app, client, backend):
    with app.app_context():
        ids = reg_event(mode="moderated")
        reg, token = register(ids)
        assert 'id="reapproval-note"' not in client.get(f"/registrations/{token}/edit").get_data(as_text=True)  # pending: no place yet
        host = db.session.get(User, ids["host_id"])
        rs.approve([fresh(reg.id)], host)
        assert 'id="reapproval-note"' in client.get(f"/registrations/{token}/edit").get_data(as_text=True)
        code = fresh(reg.id).ticket.code
        data = {"organisation": "福州精测科技有限公司", "org_type": "sme", "uscc": reg.uscc, "position": "总经理"}
        response = client.post(f"/registrations/{token}/edit", data=data, follow_redirects=True)
        html = response.get_data(as_text=True)
        assert "需承办方重新审核" in html and 'id="reapproval-pending"' in html and 'data-status="confirmed"' in html
        stored = fresh(reg.id)
        assert stored.needs_reapproval and stored.position == "总经理" and stored.ticket.code == code and stored.ticket.revoked_at is None
        rs.approve([stored], host)
        assert not fresh(reg.id).needs_reapproval
        assert 'id="reapproval-pending"' not in private(client, token).get_data(as_text=True)


# ---- the A6 ticket -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a6_ticket_only_for_a_confirmed_registration(app, client, backend):
    with app.app_context():
        ids = reg_event(capacity=1, sessions=SESSIONS)
        first, first_token = register(ids, 1, session_ids=[ids["session_ids"][1]])
        second, second_token = register(ids, 2)
        assert fresh(second.id).status == "waitlisted"
        html = private(client, first_token).get_data(as_text=True)
        assert f'href="/registrations/{first_token}/ticket"' in html
        response = private(client, first_token, "/ticket")
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        assert "@page { size: A6; size: 105mm 148mm;" in html and "width: 105mm; height: 148mm" in html and "@media print" in html
        assert html.count("<svg") == 1 and "<?xml" not in html
        ticket = fresh(first.id).ticket
        event = event_of(ids)
        for text in (event.title, "张三", "福州精测科技有限公司", "技术需求对接会", ticket.code, "北京市朝阳区示范大厦一层", event.start_date.isoformat()):
            assert text in html
        assert "开幕式" not in html  # only the chosen session
        assert 'id="print-ticket"' in html and 'class="actions no-print"' in html
        # wait-listed, cancelled or unknown: no ticket page
        assert 'id="ticket-page-link"' not in private(client, second_token).get_data(as_text=True)
        assert private(client, second_token, "/ticket").status_code == 404
        rs.cancel(fresh(first.id))
        assert private(client, first_token, "/ticket").status_code == 404
        assert private(client, second_token, "/ticket").status_code == 200  # promoted
        assert client.get("/registrations/" + "A" * 43 + "/ticket").status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_phone_private_page_links_to_the_a6_ticket_whose_svg_qr_decodes(live_server, browser: Browser, backend, screenshot_dir):
    app, base_url = live_server
    with app.app_context():
        ids = reg_event(sessions=SESSIONS)
        reg, token = register(ids, session_ids=[ids["session_ids"][0]])
        reg_id = reg.id
    context = browser.new_context(**phone_context_args())
    page = context.new_page()
    page.goto(f"{base_url}/registrations/{token}")
    expect(page.locator("#status")).to_have_attribute("data-status", "confirmed")
    for link in ("#ticket-page-link", "#ics-link", "#edit-link"):
        expect(page.locator(link)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("#ticket-page-link")
    expect(page.locator("#ticket-number")).to_be_visible()
    expect(page.locator("#print-ticket")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir / "registration-a6-ticket-phone.png"), full_page=True)
    png = page.locator("#ticket-svg svg").screenshot()
    decoded = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    assert len(decoded) == 1
    # printed: the button is hidden and the card is exactly one A6 sheet
    page.emulate_media(media="print")
    expect(page.locator("#print-ticket")).to_be_hidden()
    size = page.evaluate("(() => { const r = document.getElementById('a6-ticket').getBoundingClientRect(); return [r.width, r.height]; })()")
    assert abs(size[0] - 105 / 25.4 * 96) < 2 and abs(size[1] - 148 / 25.4 * 96) < 2
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)
    assert len(boxes) == 1 and abs(float(boxes[0][0]) - 297.64) < 1.5 and abs(float(boxes[0][1]) - 419.53) < 1.5  # one A6 page in points
    context.close()
    with app.app_context():
        verdict, ticket = tickets.verify_ticket(event_of(ids), decoded[0].text)
        assert verdict.ok and ticket.registration_id == reg_id


# ---- capacity changes of the approved plan ----------------------------------------------------------


def _reapprove(ids: dict[str, Any], organiser: User, **changes: Any) -> None:
    """The organiser approves a new version of the plan with ``changes`` (through detail_plans.approve)."""
    plan = event_of(ids).detail_plan
    for name, value in changes.items():
        setattr(plan, name, value)
    submit(plan)
    detail_plans.approve(plan, None, organiser)
    db.session.commit()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_capacity_increase_promotes_the_waiting_list_in_order_and_a_decrease_takes_no_place(app, backend):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        ids = reg_event(capacity=1)
        regs = [register(ids, n)[0] for n in range(4)]
        assert [fresh(r.id).status for r in regs] == ["confirmed", "waitlisted", "waitlisted", "waitlisted"]

        _reapprove(ids, organiser, registration_capacity=3)
        assert [fresh(r.id).status for r in regs] == ["confirmed", "confirmed", "confirmed", "waitlisted"]
        for r in regs[1:3]:
            promoted = fresh(r.id)
            assert promoted.ticket is not None and promoted.ticket.revoked_at is None
            mail = db.session.scalar(select(MailMessage).where(MailMessage.key == f"registration:{r.id}:promoted"))
            assert [a.filename for a in mail.attachments] == [f"ticket-{promoted.ticket.code}.png"]
        assert db.session.scalar(select(MailMessage).where(MailMessage.key == f"registration:{regs[3].id}:promoted")) is None

        # shrinking below the confirmed count: nobody loses the place, newcomers wait
        _reapprove(ids, organiser, registration_capacity=1)
        assert [fresh(r.id).status for r in regs] == ["confirmed", "confirmed", "confirmed", "waitlisted"]
        newcomer, _token = register(ids, 9)
        assert fresh(newcomer.id).status == "waitlisted"
        rs.cancel(fresh(regs[0].id))  # 2 confirmed remain for 1 place: nobody is promoted
        assert fresh(regs[3].id).status == "waitlisted"
        rs.cancel(fresh(regs[1].id))
        rs.cancel(fresh(regs[2].id))  # now the place is free: the first in line gets it
        assert fresh(regs[3].id).status == "confirmed" and fresh(newcomer.id).status == "waitlisted"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_larger_session_capacity_promotes_the_waiting_list(app, backend):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        ids = reg_event(capacity=None, sessions=(("开幕式", 1, "open"),))
        sid = ids["session_ids"][0]
        first, _ = register(ids, 1, session_ids=[sid])
        with pytest.raises(rs.RegistrationError):  # a full session is refused (no per-session waiting list)
            register(ids, 2, session_ids=[sid])
        session = db.session.get(type(event_of(ids).detail_plan.sessions[0]), sid)
        session.capacity = 2
        _reapprove(ids, organiser)
        second, _ = register(ids, 2, session_ids=[sid])
        assert fresh(first.id).status == fresh(second.id).status == "confirmed"


def test_private_page_mail_link_for_rows_made_before_derived_tokens(app):
    """A registration whose token was random (before links were derived) still works; its mails carry no link."""
    with app.app_context():
        ids = reg_event()
        reg, token = register(ids)
        assert rs.token_for(reg) == token and rs.find_by_token(token).id == reg.id
        reg.token_hash = rs.hash_token(rs.new_token())
        db.session.commit()
        assert rs.token_for(reg) is None
