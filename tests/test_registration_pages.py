"""Public registration pages: the form, the private page, the ticket QR and cancelling.

Real database, real outbox, real QR decoding (zxingcpp) and one real Chromium on a phone.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import PIL.Image
import pytest
import zxingcpp
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from eventhub.core.timeutil import utcnow
from eventhub.extensions import db
from eventhub.registration import questions as q
from eventhub.registration import services as rs
from eventhub.registration import tickets
from eventhub.registration.models import Registration
from tests.event_helpers import VALID_USCC
from tests.test_registration_services import event_of, reg_event

PHONE = {"width": 390, "height": 844}


def form_data(ids: dict[str, Any], n: int = 0, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "张三",
        "organisation": "福州精测科技有限公司",
        "org_type": "sme",
        "uscc": VALID_USCC,
        "position": "技术总监",
        "mobile": f"138{n:08d}",
        "email": f"p{n}@example.com",
        "session_ids": [str(ids["session_ids"][0])],
        "need_ids": [str(ids["need_id"])],
        "resource_ids": [],
    }
    data.update(overrides)
    return data


def url(ids: dict[str, Any]) -> str:
    return f"/theme-days/{ids['event_id']}/register"


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Registration)) or 0


def token_of(response: Any) -> str:
    match = re.search(r"/registrations/([A-Za-z0-9_-]{43})$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_form_registers_and_the_private_page_shows_the_ticket(app, client, backend):
    with app.app_context():
        ids = reg_event()
        question = q.define_question(event_of(ids), "是否需要午餐", "yesno", required=True)
        db.session.commit()
        page = client.get(url(ids))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "开幕式" in html and "是否需要午餐" in html and 'name="website"' in html
        response = client.post(url(ids), data={**form_data(ids), q.field_name(question): "yes"})
        assert response.status_code == 302
        token = token_of(response)
        reg = rs.find_by_token(token)
        assert reg.status == "confirmed" and reg.session_ids == [ids["session_ids"][0]]
        assert reg.interests["needs"] == [ids["need_id"]] and reg.answers == {str(question.id): True}
        private = client.get(f"/registrations/{token}")
        assert private.status_code == 200
        assert private.headers["Cache-Control"] == "no-store" and private.headers["Referrer-Policy"] == "no-referrer"
        text = private.get_data(as_text=True)
        assert 'data-status="confirmed"' in text and "已确认" in text and "开幕式" in text and reg.ticket.code in text
        png = client.get(f"/registrations/{token}/ticket.png")
        assert png.status_code == 200 and png.mimetype == "image/png" and png.headers["Cache-Control"] == "no-store"
        decoded = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png.data)))
        assert [b.text for b in decoded] == [tickets.ticket_payload(reg.ticket)]
        svg = client.get(f"/registrations/{token}/ticket.svg")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_field_errors_are_chinese_and_keep_what_was_typed(app, client):
    with app.app_context():
        ids = reg_event()
        question = q.define_question(event_of(ids), "参会人数", "number", required=True)
        db.session.commit()
        data = form_data(ids, name="", uscc="", mobile="12345", organisation="福州某某有限公司")
        response = client.post(url(ids), data={**data, q.field_name(question): "很多"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "请填写姓名。" in html and "企业请填写统一社会信用代码。" in html and "手机号码格式不正确" in html
        assert "“参会人数”请填写数字。" in html
        assert 'value="福州某某有限公司"' in html and 'value="12345"' in html and 'value="p0@example.com"' in html and ">很多<" not in html
        assert 'value="很多"' in html
        assert f'value="{ids["session_ids"][0]}" id="session_ids-{ids["session_ids"][0]}" checked' in html
        assert count() == 0


def test_honeypot_stores_nothing(app, client):
    with app.app_context():
        ids = reg_event()
        response = client.post(url(ids), data={**form_data(ids), "website": "http://spam.example"})
        assert response.status_code == 400
        assert "提交未成功，请稍后重试。" in response.get_data(as_text=True)
        assert count() == 0


def test_closed_and_not_yet_open_windows_show_a_page_instead_of_the_form(app, client):
    with app.app_context():
        closed = reg_event(opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() - timedelta(days=1))
        later = reg_event(opens_at=utcnow() + timedelta(days=2), closes_at=utcnow() + timedelta(days=5))
        html = client.get(url(closed)).get_data(as_text=True)
        assert "报名已于" in html and "截止" in html and 'id="registration-form"' not in html
        html = client.get(url(later)).get_data(as_text=True)
        assert "报名尚未开始" in html and 'id="registration-form"' not in html
        response = client.post(url(closed), data=form_data(closed))
        assert response.status_code == 400 and count() == 0
        assert client.get("/theme-days/999999/register").status_code == 404


def test_duplicate_is_refused_with_a_message(app, client):
    with app.app_context():
        ids = reg_event()
        assert client.post(url(ids), data=form_data(ids)).status_code == 302
        response = client.post(url(ids), data=form_data(ids, email="other@example.com"))
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "该手机号码已报名本活动。" in html and "专属链接" in html
        assert 'value="other@example.com"' in html
        assert count() == 1


def test_posting_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        ids = reg_event()
        codes = [client.post(url(ids), data=form_data(ids, n)).status_code for n in range(7)]
        assert codes[:5] == [302] * 5 and codes[-1] == 429
        assert client.get(url(ids)).status_code == 200  # reading the form is not limited


def test_cancel_frees_the_place_and_promotes_the_waiting_list(app, client):
    with app.app_context():
        ids = reg_event(capacity=1)
        first = token_of(client.post(url(ids), data=form_data(ids, 1)))
        second = token_of(client.post(url(ids), data=form_data(ids, 2)))
        html = client.get(f"/registrations/{second}").get_data(as_text=True)
        assert 'data-status="waitlisted"' in html and 'id="ticket-qr"' not in html
        assert client.get(f"/registrations/{second}/ticket.png").status_code == 404
        # without the box ticked nothing happens
        client.post(f"/registrations/{first}/cancel", data={})
        assert rs.find_by_token(first).status == "confirmed"
        response = client.post(f"/registrations/{first}/cancel", data={"confirm": "y"})
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/registrations/{first}")
        db.session.expire_all()
        assert rs.find_by_token(first).status == "cancelled"
        assert rs.find_by_token(second).status == "confirmed"
        html = client.get(f"/registrations/{first}").get_data(as_text=True)
        assert 'data-status="cancelled"' in html and 'id="cancel-form"' not in html
        assert 'data-status="confirmed"' in client.get(f"/registrations/{second}").get_data(as_text=True)


def test_wrong_token_is_404(app, client):
    with app.app_context():
        reg_event()
        for path in ("/registrations/nope", "/registrations/" + "A" * 43, "/registrations/" + "A" * 43 + "/ticket.png"):
            assert client.get(path).status_code == 404
        assert client.post("/registrations/" + "A" * 43 + "/cancel", data={"confirm": "y"}).status_code == 404


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": PHONE, "is_mobile": True, "has_touch": True, "reduced_motion": "reduce"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_phone_registers_and_sees_the_ticket(live_server, page: Page, backend: str):
    app, base_url = live_server
    with app.app_context():
        ids = reg_event()
    page.goto(f"{base_url}/theme-days/{ids['event_id']}/register")
    page.fill("#name", "李四")
    page.fill("#organisation", "福州精测科技有限公司")
    page.select_option("#org_type", "sme")
    page.fill("#uscc", VALID_USCC)
    page.fill("#position", "工程师")
    page.fill("#mobile", "13900000001")
    page.fill("#email", "li@example.com")
    page.check(f"#session_ids-{ids['session_ids'][0]}")
    page.click("#submit-registration")
    expect(page.locator("#status")).to_have_attribute("data-status", "confirmed")
    qr = page.locator("#ticket-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("() => document.getElementById('ticket-qr').complete")
    assert qr.evaluate("img => img.naturalWidth") > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_public_page_links_to_the_registration_form(app, client):
    with app.app_context():
        ids = reg_event()
        db.session.commit()
        event_id = event_of(ids).id
    html = client.get(f"/theme-days/{event_id}").get_data(as_text=True)
    assert f'href="/theme-days/{event_id}/register"' in html and "报名参加" in html
