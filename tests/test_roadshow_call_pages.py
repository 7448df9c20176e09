"""项目征集 pages: the public call (states, form errors kept, honeypot, rate limit, CSRF), the private
page (headers, wrong token 404, edit, withdraw), and the host's pages (settings, list with filters,
pagination and counts, XLSX, detail with screening, the deck) — with another host always 404.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.roadshow import calls
from eventhub.roadshow.models import ProjectApplication, ProjectCall
from tests.factories import login, make_user, user_and_login
from tests.test_roadshow_calls import application_data, call_event, submit, the_call, tiny_pdf

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def form_data(ids: dict[str, Any], n: int = 0, **overrides: Any) -> dict[str, Any]:
    """The application as the browser posts it (parallel presenter / unavailable lists, the PDF)."""
    data = application_data(ids, n)
    posted: dict[str, Any] = {k: v for k, v in data.items() if k not in ("presenters", "unavailable", "need_ids")}
    posted["presenter_name"] = [p["name"] for p in data["presenters"]] + ["", ""]
    posted["presenter_mobile"] = [p["mobile"] for p in data["presenters"]] + ["", ""]
    posted["presenter_email"] = [p["email"] for p in data["presenters"]] + ["", ""]
    posted["presenter_position"] = [p["position"] for p in data["presenters"]] + ["", ""]
    posted["need_ids"] = data["need_ids"]
    posted["unavail_date"] = [r["date"] for r in data["unavailable"]] + [""]
    posted["unavail_start"] = [r["start"] for r in data["unavailable"]] + [""]
    posted["unavail_end"] = [r["end"] for r in data["unavailable"]] + [""]
    posted["deck"] = (io.BytesIO(tiny_pdf()), "deck.pdf")
    posted.update(overrides)
    return posted


def url(ids: dict[str, Any]) -> str:
    return f"/theme-days/{ids['event_id']}/projects"


def token_of(response: Any) -> str:
    match = re.search(r"/projects/([A-Za-z0-9_-]{43})$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProjectApplication)) or 0


# ---- the public call -------------------------------------------------------------------------


def test_the_call_page_submits_and_the_private_page_is_private(app, client, backend):
    with app.app_context():
        ids = call_event()
        page = client.get(url(ids))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "征集新能源、先进制造领域的创新项目。" in html and 'name="website"' in html and "高温合金叶片无损检测技术" in html
        assert 'enctype="multipart/form-data"' in html
        response = client.post(url(ids), data=form_data(ids), content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        token = token_of(response)
        application = calls.find_by_token(token)
        assert application.project_name == "叶片在线检测装备0" and application.deck_file is not None
        private = client.get(f"/projects/{token}")
        assert private.status_code == 200
        assert private.headers["Cache-Control"] == "no-store" and private.headers["Referrer-Policy"] == "no-referrer"
        assert "noindex" in private.headers["X-Robots-Tag"]
        text = private.get_data(as_text=True)
        assert "已提交" in text and "139****0000" in text and "叶片在线检测装备0" in text and "edit-application" in text
        # wrong tokens and listing
        assert client.get(f"/projects/{token[:-2]}xx").status_code == 404
        assert client.get("/projects/" + "A" * 43).status_code == 404
        assert client.get("/projects/").status_code == 404
        assert client.get("/projects").status_code == 404
        assert client.get(f"/projects/{token}/edit".replace(token, "B" * 43)).status_code == 404


def test_errors_keep_what_was_typed_and_ask_for_the_deck_again(app, client, backend):
    with app.app_context():
        ids = call_event()
        data = form_data(ids, uscc="91350100M000100Y40", contact_mobile="1234")
        data["presenter_name"] = ["李四", "王五", "", ""]
        data["presenter_mobile"] = ["13700000000", "", "", ""]
        data["presenter_email"] = ["li0@example.com", "wang@example.com", "", ""]
        data["presenter_position"] = ["CTO", "", "", ""]
        response = client.post(url(ids), data=data, content_type="multipart/form-data")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "校验位错误" in html and "手机号码格式不正确" in html
        assert 'value="福州精测科技有限公司"' in html and 'value="王五"' in html and 'value="wang@example.com"' in html
        assert "请填写路演人手机号码" in html  # the second presenter's error, next to its row
        assert "路演材料（PDF）不会保留，请重新选择文件" in html
        assert "本项目研发面向高温合金叶片" in html  # the summary kept
        assert f'value="{ids["days"][0].isoformat()}" selected' in html and 'value="09:00"' in html
        assert count() == 0


def test_not_yet_open_closed_and_missing_calls(app, client, backend):
    with app.app_context():
        later = to_shanghai(utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
        ids = call_event(opens_at=later)
        html = client.get(url(ids)).get_data(as_text=True)
        assert 'id="not-open"' in html and "application-form" not in html
        assert client.post(url(ids), data=form_data(ids), content_type="multipart/form-data").status_code == 400
        call = the_call(ids)
        call.opens_at = utcnow() - timedelta(days=3)
        call.closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        html = client.get(url(ids)).get_data(as_text=True)
        assert 'id="closed"' in html and "application-form" not in html
        assert count() == 0
        other = db.session.get(Event, call_event()["event_id"])
        db.session.delete(calls.get_call(other))
        db.session.commit()
        assert client.get(f"/theme-days/{other.id}/projects").status_code == 404
        assert client.get("/theme-days/999999/projects").status_code == 404


def test_honeypot_duplicate_and_rate_limit(make_app, backend):
    app = make_app(RATELIMIT_ENABLED=True, ROADSHOW_CALL_RATE_LIMIT="3 per minute")
    client = app.test_client()
    with app.app_context():
        ids = call_event()
        response = client.post(url(ids), data=form_data(ids, website="http://spam.example"), content_type="multipart/form-data")
        assert response.status_code == 400 and 'id="generic-error"' in response.get_data(as_text=True) and count() == 0
        assert client.post(url(ids), data=form_data(ids, 1), content_type="multipart/form-data").status_code == 302
        duplicate = client.post(url(ids), data=form_data(ids, 1), content_type="multipart/form-data")
        assert duplicate.status_code == 400 and "c***@example.com" in duplicate.get_data(as_text=True)
        assert client.post(url(ids), data=form_data(ids, 2), content_type="multipart/form-data").status_code == 429
        assert client.get(url(ids)).status_code == 200  # reading is not limited
        assert count() == 1


def test_csrf_is_checked_and_an_expired_page_keeps_the_typing(make_app, backend):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        ids = call_event()
        response = client.post(url(ids), data=form_data(ids), content_type="multipart/form-data")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "页面已过期" in html and 'value="福州精测科技有限公司"' in html
        assert count() == 0
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url(ids)).get_data(as_text=True)).group(1)
        assert client.post(url(ids), data={**form_data(ids), "csrf_token": token}, content_type="multipart/form-data").status_code == 302


def test_edit_and_withdraw_on_the_private_page(app, client, backend):
    with app.app_context():
        ids = call_event()
        _application, token = submit(ids)
        edit = client.get(f"/projects/{token}/edit")
        assert edit.status_code == 200 and edit.headers["Cache-Control"] == "no-store"
        html = edit.get_data(as_text=True)
        assert 'value="李四"' in html and 'id="current-deck"' in html and "路演材料.pdf" in html
        data = form_data(ids, stage="revenue")
        data.pop("deck")
        assert client.post(f"/projects/{token}/edit", data=data, content_type="multipart/form-data").status_code == 302
        application = calls.find_by_token(token)
        assert application.stage == "revenue" and application.deck_file.original_name == "路演材料.pdf"
        bad = client.post(f"/projects/{token}/edit", data={**data, "summary": "短"}, content_type="multipart/form-data")
        assert bad.status_code == 400 and "至少 100 字" in bad.get_data(as_text=True)

        unconfirmed = client.post(f"/projects/{token}/withdraw", data={})
        assert unconfirmed.status_code == 302 and calls.find_by_token(token).status == "submitted"
        assert client.post(f"/projects/{token}/withdraw", data={"confirm": "y"}).status_code == 302
        assert calls.find_by_token(token).status == "withdrawn"
        page = client.get(f"/projects/{token}").get_data(as_text=True)
        assert "已撤回" in page and "withdraw-application" not in page and "edit-application" not in page
        assert client.get(f"/projects/{token}/edit").status_code == 302


# ---- the host's pages ----------------------------------------------------------------------------


def host_client(app: Any, client: Any, ids: dict[str, Any]) -> None:
    login(client, ids["host_email"])


def test_call_settings_page_opens_and_changes_the_call(app, client, backend):
    with app.app_context():
        ids = call_event()
        event = db.session.get(Event, ids["event_id"])
        db.session.delete(the_call(ids))
        db.session.commit()
        host_client(app, client, ids)
        page = client.get(f"/events/{event.id}/roadshow/call")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'id="no-call"' in html and 'value="先进制造" id="fields-1" checked' in html
        close_day = event.start_date - timedelta(days=3)
        bad = client.post(
            f"/events/{event.id}/roadshow/call", data={"opens_at": "2026-01-01T09:00", "closes_at": "", "summary_min": "100", "summary_max": "800"}
        )
        assert bad.status_code == 400 and "请填写截止时间" in bad.get_data(as_text=True) and "请至少选择或填写一个技术领域" in bad.get_data(as_text=True)
        ok = client.post(
            f"/events/{event.id}/roadshow/call",
            data={
                "opens_at": "2026-01-01T09:00",
                "closes_at": f"{close_day.isoformat()}T23:59:59",
                "intro": "征集说明",
                "fields": ["先进制造"],
                "extra_fields": "新能源、 人工智能",
                "summary_min": "50",
                "summary_max": "600",
            },
        )
        assert ok.status_code == 302
        call = calls.get_call(event)
        assert call.fields == ["先进制造", "新能源", "人工智能"] and call.summary_min == 50
        assert to_shanghai(call.closes_at).strftime("%H:%M:%S") == "23:59:59"
        html = client.get(f"/events/{event.id}/roadshow/call").get_data(as_text=True)
        assert f'value="{close_day.isoformat()}T23:59:59"' in html and f"/theme-days/{event.id}/projects" in html


def test_another_host_gets_404_and_a_participant_403(app, client, backend):
    with app.app_context():
        ids = call_event()
        application, _token = submit(ids)
        paths = [
            f"/events/{ids['event_id']}/roadshow/call",
            f"/events/{ids['event_id']}/roadshow/applications",
            f"/events/{ids['event_id']}/roadshow/applications.xlsx",
            f"/events/{ids['event_id']}/roadshow/applications/{application.id}",
            f"/events/{ids['event_id']}/roadshow/applications/{application.id}/deck",
        ]
        user_and_login(app, client, Role.HOST)
        for path in paths:
            assert client.get(path).status_code == 404, path
        assert client.post(f"/events/{ids['event_id']}/roadshow/applications/{application.id}", data={"action": "shortlist"}).status_code == 404
        assert client.post(f"/events/{ids['event_id']}/roadshow/applications/bulk", data={"action": "shortlist", "ids": [application.id]}).status_code == 404
        assert client.get(f"/roadshow/prescreen/{application.id}").status_code == 403
        client.post("/logout")
        user_and_login(app, client, Role.PARTICIPANT)
        for path in paths:
            assert client.get(path).status_code == 403, path
        assert db.session.get(ProjectApplication, application.id).status == "submitted"


def test_the_list_filters_paginates_counts_and_exports(app, client, backend):
    with app.app_context():
        ids = call_event()
        rows = [submit(ids, n, stage="idea" if n % 2 else "revenue")[0] for n in range(32)]
        calls.screen(rows[0], "shortlist", "", None)
        db.session.commit()
        host_client(app, client, ids)
        base = f"/events/{ids['event_id']}/roadshow/applications"
        first = client.get(base).get_data(as_text=True)
        assert first.count('class="form-check-input row-check"') == 30 and "page=2" in first
        assert re.search(r'data-status="shortlisted">[^<]*<span class="badge text-bg-light">1</span>', first)
        assert "139****0031" in first
        assert client.get(base + "?page=2").get_data(as_text=True).count('class="form-check-input row-check"') == 2
        filtered = client.get(base + "?stage=idea&status=submitted").get_data(as_text=True)
        assert filtered.count('class="form-check-input row-check"') == 16
        assert client.get(base + "?q=装备7").get_data(as_text=True).count('class="form-check-input row-check"') == 1
        assert 'id="no-applications"' in client.get(base + "?q=不存在的项目").get_data(as_text=True)
        export = client.get(f"/events/{ids['event_id']}/roadshow/applications.xlsx?stage=idea")
        assert export.status_code == 200 and export.headers["Content-Disposition"].startswith("attachment")
        sheet = openpyxl.load_workbook(io.BytesIO(export.data)).active
        assert sheet.max_row == 17 and sheet.cell(1, 1).value == "编号"
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_call.export")) == 1


def test_detail_screening_deck_and_bulk_actions(app, client, backend):
    with app.app_context():
        ids = call_event()
        application, _token = submit(ids)
        other, _token2 = submit(ids, 1)
        host_client(app, client, ids)
        path = f"/events/{ids['event_id']}/roadshow/applications/{application.id}"
        html = client.get(path).get_data(as_text=True)
        assert "13900000000" in html and 'id="deck-link"' in html and "action-decline" in html and "confirm(" in html
        deck_response = client.get(path + "/deck")
        assert deck_response.status_code == 200 and deck_response.data.startswith(b"%PDF-") and deck_response.headers["Cache-Control"] == "private, no-store"
        refused = client.post(path, data={"action": "decline", "note": ""})
        assert refused.status_code == 400 and "请填写原因" in refused.get_data(as_text=True)
        assert client.post(path, data={"action": "decline", "note": "方向不符"}).status_code == 302
        assert client.post(path, data={"action": "decline", "note": "方向不符"}).status_code == 302  # unchanged: no second mail
        mails = db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"roadshow-application:{application.id}:status:"))).all()
        assert len(mails) == 1 and mails[0].template == "roadshow_declined"
        bulk = client.post(f"/events/{ids['event_id']}/roadshow/applications/bulk", data={"action": "shortlist", "ids": [str(application.id), str(other.id)]})
        assert bulk.status_code == 302
        db.session.expire_all()
        assert db.session.get(ProjectApplication, other.id).status == "shortlisted"
        assert db.session.get(ProjectApplication, application.id).status == "shortlisted"
        prescreen = client.post(f"/events/{ids['event_id']}/roadshow/applications/bulk", data={"action": "prescreen", "ids": [str(other.id)]})
        assert prescreen.status_code == 302
        db.session.expire_all()
        call = db.session.get(ProjectCall, ids["call_id"])
        assert call.prescreen_round_id is not None
        listing = client.get(f"/events/{ids['event_id']}/roadshow/applications").get_data(as_text=True)
        assert 'id="prescreen-table"' in listing and "评审轮次" in listing


def test_deck_for_assessors_and_prescreen_judges_only(app, client, backend):
    with app.app_context():
        ids = call_event()
        application, _token = submit(ids)
        rnd = calls.send_to_prescreen(the_call(ids), [application], None)
        judge, stranger, assessor = make_user(Role.REVIEWER), make_user(Role.REVIEWER), make_user(Role.ASSESSOR)
        from eventhub.judging import services as judging

        judging.assign(rnd.items[0], judge, None)
        db.session.commit()
        emails = (judge.email, stranger.email, assessor.email)
        app_id, event_id = application.id, ids["event_id"]
    login(client, emails[0])
    page = client.get(f"/roadshow/prescreen/{app_id}")
    assert page.status_code == 200 and "13900000000" not in page.get_data(as_text=True) and "叶片在线检测装备0" in page.get_data(as_text=True)
    assert client.get(f"/roadshow/prescreen/{app_id}/deck").data.startswith(b"%PDF-")
    client.post("/logout")
    login(client, emails[1])
    assert client.get(f"/roadshow/prescreen/{app_id}").status_code == 404
    assert client.get(f"/roadshow/prescreen/{app_id}/deck").status_code == 404
    client.post("/logout")
    login(client, emails[2])
    assert client.get(f"/events/{event_id}/roadshow/applications/{app_id}/deck").status_code == 200
    assert client.get(f"/events/{event_id}/roadshow/applications/{app_id}").status_code == 403  # screening is the host's
