"""Campaign pages: list, detail, create and edit (organisers only), errors next to fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from eventhub.campaigns import services
from eventhub.campaigns.models import Campaign
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import user_and_login

FORM = {
    "year": "2026",
    "title": "2026 年“融通创新”主题日",
    "description": "",
    "plan_deadline": "2026-06-30T23:59:59",
    "target_hosts": "5",
    "detail_lead_months": "1",
    "zishu_target": "800",
    "zishu_min": "300",
    "zishu_max": "1000",
    "status": "planning",
}


def _make_campaign(app, **values) -> int:
    with app.app_context():
        campaign = services.create_campaign({"year": 2026, "title": "2026 年主题日", **values})
        db.session.commit()
        return campaign.id


def _field_errors(html: str, name: str) -> list[str]:
    """The invalid-feedback texts right after the input/select named ``name``."""
    match = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>(.*?)(?=<div class="mb-3"|</form>|<div class="col)', html, re.S)
    assert match, f"no field {name}"
    return re.findall(r'<div class="invalid-feedback">([^<]*)</div>', match.group(1))


def _input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


# ---- create --------------------------------------------------------------------------


def test_new_form_is_prefilled_with_the_notice_defaults(app, client):
    user_and_login(app, client)
    html = client.get("/campaigns/new").get_data(as_text=True)
    year = services.next_campaign_year()
    assert _input_value(html, "year") == str(year)
    assert _input_value(html, "plan_deadline") == f"{year}-06-30T23:59:59"
    assert 'type="datetime-local"' in html
    assert _input_value(html, "target_hosts") == "5"
    assert _input_value(html, "detail_lead_months") == "1"
    assert (_input_value(html, "zishu_min"), _input_value(html, "zishu_target"), _input_value(html, "zishu_max")) == ("300", "800", "1000")
    assert "北京时间" in html
    assert 'name="csrf_token"' in html


def test_organiser_creates_a_campaign(app, client):
    uid = user_and_login(app, client)
    response = client.post("/campaigns/new", data=FORM)
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.year == 2026))
        assert campaign.plan_deadline == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)  # typed in Beijing time
        assert campaign.status == "planning"
        assert response.headers["Location"].endswith(f"/campaigns/{campaign.id}")
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign.create"))
        assert audit.actor_id == uid
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建 2026 年度工作" in page


def test_deadline_without_seconds_is_read_as_beijing_time(app, client):
    user_and_login(app, client)
    response = client.post("/campaigns/new", data={**FORM, "plan_deadline": "2026-07-15T18:00"})
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert campaign.plan_deadline == datetime(2026, 7, 15, 10, 0, tzinfo=UTC)


def test_duplicate_year_is_refused_next_to_the_year_and_input_kept(app, client):
    user_and_login(app, client)
    _make_campaign(app)
    response = client.post("/campaigns/new", data={**FORM, "title": "我输入的标题", "target_hosts": "7"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert any("2026 年已有年度工作" in e for e in _field_errors(html, "year"))
    assert _input_value(html, "title") == "我输入的标题"
    assert _input_value(html, "target_hosts") == "7"
    with app.app_context():
        assert len(services.list_campaigns()) == 1


def test_typed_input_is_kept_and_errors_are_chinese(app, client):
    user_and_login(app, client)
    data = {**FORM, "title": "保留我", "target_hosts": "五家", "plan_deadline": "6月30日", "zishu_max": ""}
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _field_errors(html, "target_hosts") == ["请输入整数"]
    assert "北京时间" in _field_errors(html, "plan_deadline")[0]
    assert _field_errors(html, "zishu_max") == ["请填写此项"]
    assert _input_value(html, "title") == "保留我"
    assert _input_value(html, "target_hosts") == "五家"
    assert _input_value(html, "plan_deadline") == "6月30日"
    assert "表单有错误" in html
    with app.app_context():
        assert services.list_campaigns() == []


def test_zishu_order_error_is_shown_next_to_the_target(app, client):
    user_and_login(app, client)
    response = client.post("/campaigns/new", data={**FORM, "zishu_min": "900"})
    html = response.get_data(as_text=True)
    assert any("下限 ≤ 目标 ≤ 上限" in e for e in _field_errors(html, "zishu_target"))
    assert re.search(r'<input[^>]*is-invalid[^>]*name="zishu_target"', html)
    assert _input_value(html, "zishu_min") == "900"


def test_out_of_range_numbers_are_refused(app, client):
    user_and_login(app, client)
    html = client.post("/campaigns/new", data={**FORM, "detail_lead_months": "13", "target_hosts": "0"}).get_data(as_text=True)
    assert _field_errors(html, "detail_lead_months") == ["活动方案提前量应在 0–12 个月之间"]
    assert _field_errors(html, "target_hosts")


# ---- edit ------------------------------------------------------------------------------


def test_edit_form_shows_beijing_time_and_saves(app, client):
    uid = user_and_login(app, client)
    campaign_id = _make_campaign(app)
    html = client.get(f"/campaigns/{campaign_id}/edit").get_data(as_text=True)
    assert _input_value(html, "plan_deadline") == "2026-06-30T23:59:59"
    assert _input_value(html, "title") == "2026 年主题日"
    response = client.post(f"/campaigns/{campaign_id}/edit", data={**FORM, "title": "改过的标题", "target_hosts": "6", "plan_deadline": "2026-06-20T17:30"})
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert (campaign.title, campaign.target_hosts) == ("改过的标题", 6)
        assert campaign.plan_deadline == datetime(2026, 6, 20, 9, 30, tzinfo=UTC)
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign.update"))
        assert audit.actor_id == uid
        assert audit.before["title"] == "2026 年主题日"
        assert audit.after["title"] == "改过的标题"


def test_edit_to_a_taken_year_is_refused(app, client):
    user_and_login(app, client)
    _make_campaign(app)
    other = _make_campaign(app, year=2027, title="2027")
    response = client.post(f"/campaigns/{other}/edit", data={**FORM, "year": "2026", "title": "想改成 2026"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert any("已有年度工作" in e for e in _field_errors(html, "year"))
    assert _input_value(html, "title") == "想改成 2026"
    with app.app_context():
        assert db.session.get(Campaign, other).year == 2027


def test_edit_unknown_campaign_is_404(app, client):
    user_and_login(app, client)
    assert client.get("/campaigns/999/edit").status_code == 404
    assert client.get("/campaigns/999").status_code == 404


# ---- list and detail -----------------------------------------------------------------------


def test_list_and_detail_show_deadline_in_beijing_time_with_time_left(app, client):
    user_and_login(app, client)
    year = services.next_campaign_year()
    campaign_id = _make_campaign(app, year=year, title="明年的主题日", status="planning")
    html = client.get("/campaigns/").get_data(as_text=True)
    assert "明年的主题日" in html
    assert f"{year}-06-30 23:59:59" in html
    assert "北京时间" in html
    assert "还剩" in html
    html = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert f"{year}年06月30日 23:59:59" in html
    assert "（北京时间）" in html
    assert "还剩" in html
    assert "提交活动初步计划" in html and "第三方评估" in html  # the timeline
    assert "修改记录" in html


def test_past_deadline_says_closed(app, client):
    user_and_login(app, client)
    campaign_id = _make_campaign(app, year=2020, title="往年", status="closed")
    html = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "已截止" in html


@pytest.mark.parametrize("role", [Role.HOST, Role.REVIEWER, Role.ASSESSOR])
def test_viewers_see_published_campaigns_but_not_drafts_or_edit_links(app, client, role):
    published = _make_campaign(app, status="planning", title="已发布")
    draft = _make_campaign(app, year=2027, title="还在筹备")
    user_and_login(app, client, role)
    html = client.get("/campaigns/").get_data(as_text=True)
    assert "已发布" in html
    assert "还在筹备" not in html
    assert "/campaigns/new" not in html
    detail = client.get(f"/campaigns/{published}")
    assert detail.status_code == 200
    assert f"/campaigns/{published}/edit" not in detail.get_data(as_text=True)
    assert "修改记录" not in detail.get_data(as_text=True)
    assert client.get(f"/campaigns/{draft}").status_code == 404


def test_host_gets_403_on_create_and_edit(app, client):
    campaign_id = _make_campaign(app)
    user_and_login(app, client, Role.HOST)
    assert client.get("/campaigns/new").status_code == 403
    assert client.post("/campaigns/new", data={**FORM, "year": "2030"}).status_code == 403
    assert client.get(f"/campaigns/{campaign_id}/edit").status_code == 403
    assert client.post(f"/campaigns/{campaign_id}/edit", data={**FORM, "title": "篡改"}).status_code == 403
    with app.app_context():
        assert db.session.get(Campaign, campaign_id).title == "2026 年主题日"
        assert db.session.scalar(select(Campaign).where(Campaign.year == 2030)) is None


def test_participant_cannot_see_campaign_pages(app, client):
    campaign_id = _make_campaign(app, status="planning")
    user_and_login(app, client, Role.PARTICIPANT)
    assert client.get("/campaigns/").status_code == 403
    assert client.get(f"/campaigns/{campaign_id}").status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    for path in ("/campaigns/", "/campaigns/new", "/campaigns/1", "/campaigns/1/edit"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_csrf_is_required_when_enabled(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        from tests.factories import make_user

        user = make_user()
        db.session.commit()
        email = user.email
    # log in with a token taken from the log-in page
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    token_value = next(g for g in token.groups() if g)
    assert client.post("/login", data={"email": email, "password": "Test-pass-2026", "csrf_token": token_value}).status_code == 302
    assert client.post("/campaigns/new", data=FORM).status_code == 400
    form_page = client.get("/campaigns/new").get_data(as_text=True)
    token_value = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form_page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', form_page)
    assert client.post("/campaigns/new", data={**FORM, "csrf_token": token_value.group(1)}).status_code == 302
