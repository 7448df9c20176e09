"""Deal pages: the host records (form with evidence checked by content, prefilled from an answer or a
lead), edits, withdraws with a confirmation; the list counts confirmed vs unconfirmed, filters, pages
and exports (audited); access control (another host 404, assessor read-only, organiser/assessor
disputed list); the counterparty's link page shows only its deal, confirms or disputes, wrong token 404,
private headers. Real app, real database, real files.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventhub.assessment import deals
from eventhub.assessment.models import Deal, DealStatus
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.event_helpers import VALID_USCC
from tests.factories import login, make_base, make_user, user_and_login
from tests.test_assessment_deals import EXE, PDF, PNG, USCC_B, data, make_lead, make_response, past_event, token_in

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # page tests; the service runs on both


def scene(app) -> dict:  # noqa: ANN001
    """A past event of base 华润 with a host user, one deal with a PDF, and a second host of another base."""
    with app.app_context():
        event = past_event()
        host = make_user(Role.HOST, base=event.host_base)
        other_host = make_user(Role.HOST, base=make_base("中国石油天然气集团有限公司", short_name="中石油"))
        deal, token = deals.record_deal(event, data(), [(PDF, "签约页.pdf")], actor=host)
        other_deal, _t = deals.record_deal(event, data(counterparty_name="厦门秘密合作方有限公司", counterparty_uscc=USCC_B, kind="investment", amount_wan="9"))
        db.session.commit()
        return {
            "event_id": event.id,
            "host": host.email,
            "other_host": other_host.email,
            "deal_id": deal.id,
            "token": token,
            "other_deal_id": other_deal.id,
            "evidence_id": deal.evidence[0].id,
        }


def urls(s: dict) -> dict[str, str]:
    e, d = s["event_id"], s["deal_id"]
    return {
        "list": f"/events/{e}/deals",
        "export": f"/events/{e}/deals.xlsx",
        "detail": f"/events/{e}/deals/{d}",
        "evidence": f"/events/{e}/deals/{d}/evidence/{s['evidence_id']}",
        "new": f"/events/{e}/deals/new",
        "edit": f"/events/{e}/deals/{d}/edit",
        "withdraw": f"/events/{e}/deals/{d}/withdraw",
        "from_answer": f"/events/{e}/deals/from-answer",
        "from_lead": f"/events/{e}/deals/from-lead",
    }


# ---- the counterparty's link ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_counterparty_confirms_by_link_and_sees_only_its_deal(app, client, backend):
    s = scene(app)
    url = f"/deals/confirm/{s['token']}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer" and "noindex" in page.headers["X-Robots-Tag"]
    assert "福州精测科技有限公司" in html and "120.5 万元" in html and 'id="confirm-deal"' in html
    assert "厦门秘密合作方有限公司" not in html and "zhang@jingce.example.com" not in html  # no other deal, no contact internals
    assert client.get(f"/deals/confirm/{s['token'][:-2]}xx").status_code == 404
    assert client.get("/deals/confirm/nonsense").status_code == 404

    response = client.post(url, data={"action": "confirm", "note": ""})
    assert response.status_code == 302 and "saved=confirm" in response.headers["Location"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "感谢确认" in html and 'data-status="confirmed"' in html and 'id="answer-form"' not in html
    with app.app_context():
        assert db.session.get(Deal, s["deal_id"]).status == DealStatus.CONFIRMED.value
        assert deals.deal_figures(db.session.get(Deal, s["deal_id"]).event)["confirmed"] == 1
    again = client.post(url, data={"action": "dispute", "note": "改主意了"})  # locked once answered
    assert again.status_code == 400 and "您已答复过" in again.get_data(as_text=True)


@SQLITE
def test_counterparty_dispute_needs_a_reason_and_keeps_it(app, client):
    s = scene(app)
    url = f"/deals/confirm/{s['token']}"
    response = client.post(url, data={"action": "dispute", "note": ""})
    assert response.status_code == 400 and "提出异议时请说明理由" in response.get_data(as_text=True)
    response = client.post(url, data={"action": "dispute", "note": "没有签约，只是交流。"})
    assert response.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'data-status="disputed"' in html and "没有签约，只是交流。" in html
    with app.app_context():
        assert db.session.get(Deal, s["deal_id"]).status == DealStatus.DISPUTED.value

    user_and_login(app, client, Role.ASSESSOR)
    html = client.get("/assessment/deals/disputed").get_data(as_text=True)
    assert "福州精测科技有限公司" in html and "没有签约，只是交流。" in html


@SQLITE
def test_withdrawn_deal_link_says_so(app, client):
    s = scene(app)
    with app.app_context():
        deals.withdraw_deal(db.session.get(Deal, s["deal_id"]))
    html = client.get(f"/deals/confirm/{s['token']}").get_data(as_text=True)
    assert 'data-status="withdrawn"' in html and 'id="answer-form"' not in html


# ---- access control ----------------------------------------------------------------------------------


@SQLITE
def test_another_host_gets_404_everywhere(app, client):
    s = scene(app)
    login(client, s["other_host"])
    for name, url in urls(s).items():
        assert client.get(url).status_code == 404, name
    assert client.post(urls(s)["withdraw"]).status_code == 404
    assert client.post(f"/events/{s['event_id']}/deals/{s['deal_id']}/reask").status_code == 404
    assert client.get("/assessment/deals/disputed").status_code == 403


@SQLITE
def test_assessor_reads_but_cannot_change(app, client):
    s = scene(app)
    user_and_login(app, client, Role.ASSESSOR)
    u = urls(s)
    assert client.get(u["list"]).status_code == 200
    html = client.get(u["detail"]).get_data(as_text=True)
    assert "福州精测科技有限公司" in html and 'id="edit-deal"' not in html and 'id="withdraw-deal"' not in html
    evidence = client.get(u["evidence"])
    assert evidence.status_code == 200 and evidence.data == PDF and evidence.headers["Cache-Control"] == "private, no-store"
    for name in ("new", "edit", "withdraw", "from_answer", "from_lead"):
        assert client.get(u[name]).status_code == 403, name
    assert client.post(u["withdraw"]).status_code == 403
    assert client.get("/assessment/deals/disputed").status_code == 200


@SQLITE
def test_participant_and_anonymous_cannot_read(app, client):
    s = scene(app)
    assert client.get(urls(s)["evidence"]).status_code in (302, 401)
    user_and_login(app, client, Role.PARTICIPANT)
    assert client.get(urls(s)["list"]).status_code == 403
    assert client.get(urls(s)["evidence"]).status_code == 403


# ---- the host's pages --------------------------------------------------------------------------------


@SQLITE
def test_list_counts_filters_and_audited_export(app, client):
    s = scene(app)
    with app.app_context():
        deals.respond(db.session.get(Deal, s["deal_id"]), "confirm")
    login(client, s["host"])
    html = client.get(urls(s)["list"]).get_data(as_text=True)
    assert re.search(r'id="count-confirmed">1<', html) and re.search(r'id="count-unconfirmed">1<', html)
    assert html.count('class="deal-row"') == 2
    html = client.get(urls(s)["list"] + "?status=confirmed").get_data(as_text=True)
    assert html.count('class="deal-row"') == 1 and "厦门秘密合作方有限公司" not in html
    html = client.get(urls(s)["list"] + "?q=不存在的单位").get_data(as_text=True)
    assert 'id="no-deals"' in html

    response = client.get(urls(s)["export"] + "?kind=investment")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][4] == "厦门秘密合作方有限公司"
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "deal.export"))
        assert entry is not None and entry.after == {"rows": 1}


@SQLITE
def test_empty_list_says_what_to_do(app, client):
    with app.app_context():
        event = past_event()
        host = make_user(Role.HOST, base=event.host_base)
        db.session.commit()
        event_id, email = event.id, host.email
    login(client, email)
    html = client.get(f"/events/{event_id}/deals").get_data(as_text=True)
    assert 'id="no-deals"' in html and "从揭榜响应或路演对接意向开始" in html


def form_post(**overrides) -> dict:  # noqa: ANN003
    values = data(**overrides)
    return {k: v for k, v in values.items() if v is not None}


@SQLITE
def test_host_records_a_deal_with_evidence_checked_by_content(app, client):
    s = scene(app)
    login(client, s["host"])
    new = urls(s)["new"]
    page = client.get(new).get_data(as_text=True)
    assert "中国华润有限公司" in page  # the lead party starts as the host base

    refused = client.post(
        new,
        data={**form_post(counterparty_name="上海智造有限公司", counterparty_uscc=VALID_USCC[:-1] + "0"), "evidence": (io.BytesIO(EXE), "签约页.pdf")},
        content_type="multipart/form-data",
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "校验位错误" in html and "内容不是允许的文件类型" in html
    assert "上海智造有限公司" in html  # what was typed is kept

    saved = client.post(
        new,
        data={
            **form_post(counterparty_name="上海智造有限公司", kind="procurement"),
            "evidence": [(io.BytesIO(PNG), "合影.png"), (io.BytesIO(PDF), "合同.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    html = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'data-status="unconfirmed"' in html and "合影.png" in html and "合同.pdf" in html
    with app.app_context():
        deal = db.session.scalar(select(Deal).where(Deal.counterparty_name == "上海智造有限公司"))
        assert deal.created_by_id is not None and len(deal.evidence) == 2
        mail = db.session.scalar(select(MailMessage).where(MailMessage.key.startswith(f"deal-confirm:{deal.id}:")))
        assert deals.find_by_token(token_in(mail)).id == deal.id


@SQLITE
def test_oversize_evidence_is_refused_on_the_page(make_app):
    app = make_app(UPLOAD_MAX_BYTES=1024)
    client = app.test_client()
    s = scene(app)
    login(client, s["host"])
    response = client.post(
        urls(s)["new"], data={**form_post(kind="joint_lab"), "evidence": (io.BytesIO(PDF + b"x" * 4096), "大文件.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "超过" in response.get_data(as_text=True)


@SQLITE
def test_duplicate_is_shown_as_a_warning(app, client):
    s = scene(app)
    login(client, s["host"])
    response = client.post(urls(s)["new"], data=form_post(counterparty_name="福州精测科技股份有限公司"), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "疑似重复" in html and 'id="duplicate-warning"' in html
    assert f"第 {s['deal_id']} 号" in html


@SQLITE
def test_edit_of_a_confirmed_deal_warns_and_reasks(app, client):
    s = scene(app)
    with app.app_context():
        deals.respond(db.session.get(Deal, s["deal_id"]), "confirm")
    login(client, s["host"])
    page = client.get(urls(s)["edit"]).get_data(as_text=True)
    assert 'id="reask-warning"' in page and "120.5" in page and "签约页.pdf" in page
    response = client.post(urls(s)["edit"], data=form_post(amount_wan="150"), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已重新请合作方确认" in html and 'data-status="unconfirmed"' in html
    assert client.get(f"/deals/confirm/{s['token']}").status_code == 404  # the old link stopped working


@SQLITE
def test_withdraw_asks_for_confirmation_first(app, client):
    s = scene(app)
    login(client, s["host"])
    page = client.get(urls(s)["withdraw"])
    assert page.status_code == 200 and 'id="confirm-withdraw"' in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Deal, s["deal_id"]).status == DealStatus.UNCONFIRMED.value
    response = client.post(urls(s)["withdraw"])
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Deal, s["deal_id"]).status == DealStatus.WITHDRAWN.value
    assert client.get(urls(s)["edit"]).status_code == 302


@SQLITE
def test_reask_sends_a_new_link(app, client):
    s = scene(app)
    login(client, s["host"])
    response = client.post(f"/events/{s['event_id']}/deals/{s['deal_id']}/reask", follow_redirects=True)
    assert "已重新发送确认邮件" in response.get_data(as_text=True)
    assert client.get(f"/deals/confirm/{s['token']}").status_code == 404


@SQLITE
def test_start_from_an_answer_and_from_a_lead(app, client):
    s = scene(app)
    with app.app_context():
        from eventhub.events.models import Event

        event = db.session.get(Event, s["event_id"])
        answer_id = make_response(event, org="南京新材料有限公司").id
        lead_id = make_lead(event).id
        elsewhere = past_event("中石化")
        foreign_answer = make_response(elsewhere, org="别家单位有限公司").id
    login(client, s["host"])
    html = client.get(urls(s)["from_answer"]).get_data(as_text=True)
    assert "南京新材料有限公司" in html and "别家单位有限公司" not in html
    html = client.get(f"{urls(s)['new']}?response={answer_id}").get_data(as_text=True)
    assert 'value="南京新材料有限公司"' in html and f'value="{USCC_B}"' in html and 'id="deal-source"' in html
    assert client.get(f"{urls(s)['new']}?response={foreign_answer}").status_code == 404

    html = client.get(urls(s)["from_lead"]).get_data(as_text=True)
    assert "微型光谱仪" in html
    html = client.get(f"{urls(s)['new']}?lead={lead_id}").get_data(as_text=True)
    assert 'value="深圳光电有限公司"' in html and 'value="华润创业投资有限公司"' in html

    response = client.post(
        urls(s)["new"],
        data={
            **form_post(counterparty_name="南京新材料有限公司", counterparty_uscc=USCC_B, kind="technology", stage="intent", amount_wan=""),
            "source_type": "need_response",
            "source_id": str(answer_id),
        },
    )
    assert response.status_code == 302
    html = client.get(urls(s)["from_answer"]).get_data(as_text=True)
    assert "已登记第" in html


@SQLITE
def test_past_dates_help_and_today_limit_are_shown(app, client):
    s = scene(app)
    login(client, s["host"])
    tomorrow = (deals.today_local() + timedelta(days=1)).isoformat()
    response = client.post(urls(s)["new"], data=form_post(deal_date=tomorrow, counterparty_name="新单位有限公司"))
    assert response.status_code == 400 and "日期不能晚于今天" in response.get_data(as_text=True)


# ---- in Chromium (CSRF on) ----------------------------------------------------------------------------


@SQLITE
def test_chromium_host_records_and_the_counterparty_confirms_on_a_phone(live_server, browser, backend, screenshot_dir, tmp_path):  # noqa: ANN001
    from playwright.sync_api import expect

    from tests.browser_helpers import PHONE, phone_context_args
    from tests.browser_helpers import login as browser_login

    app, base_url = live_server
    with app.app_context():
        event = past_event()
        host = make_user(Role.HOST, base=event.host_base)
        db.session.commit()
        event_id, email = event.id, host.email
    evidence = tmp_path / "签约页.pdf"
    evidence.write_bytes(PDF)

    context = browser.new_context()
    page = context.new_page()
    browser_login(page, base_url, email)
    page.goto(f"{base_url}/events/{event_id}/deals")
    expect(page.locator("#no-deals")).to_be_visible()
    page.click("#new-deal")
    values = data()
    for name in ("counterparty_name", "counterparty_uscc", "counterparty_contact", "counterparty_email", "amount_wan", "description"):
        page.fill(f"#{name}", values[name])
    page.select_option("#counterparty_type", "sme")
    page.select_option("#kind", "technology")
    page.select_option("#stage", "signed")
    page.fill("#deal_date", values["deal_date"])
    page.set_input_files("#evidence", str(evidence))
    page.click("#save-deal")
    expect(page.locator("#deal-status")).to_have_attribute("data-status", "unconfirmed")
    expect(page.locator("#evidence")).to_contain_text("签约页.pdf")
    context.close()

    with app.app_context():
        deal = db.session.scalar(select(Deal).where(Deal.event_id == event_id))
        mail = db.session.scalar(select(MailMessage).where(MailMessage.key.startswith(f"deal-confirm:{deal.id}:")))
        link = re.search(r"https?://\S+/deals/confirm/[A-Za-z0-9_-]{43}", mail.body).group(0)
        deal_id = deal.id
    phone = browser.new_context(**phone_context_args())
    page = phone.new_page()
    page.goto(base_url + link[link.index("/deals/confirm/") :])
    expect(page.locator("#fact-party")).to_contain_text("福州精测科技有限公司")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("#dispute-deal")  # no reason: refused, nothing changes
    expect(page.locator("#note")).to_have_class(re.compile("is-invalid"))
    page.click("#confirm-deal")
    expect(page.locator("#answer-state")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("#saved")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "deal-confirmed-phone.png"), full_page=True)
    phone.close()
    with app.app_context():
        assert db.session.get(Deal, deal_id).status == DealStatus.CONFIRMED.value
