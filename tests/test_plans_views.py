"""Plan pages over HTTP: the host's form (rows, drafts, submission), object rights, organiser pages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.bases.models import BaseType, DemonstrationBase
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.extensions import db
from eventhub.judging.services import round_by_key
from eventhub.plans import services
from eventhub.plans.models import ContentType, DeadlineExtension, PreliminaryPlan
from tests.factories import login, make_base, make_user, user_and_login

BODY = "融通创新" * 100


def make_open_campaign(days_left: float = 30) -> Campaign:
    now = utcnow()
    campaign = Campaign(
        year=to_shanghai(now).year,
        title="本年度“融通创新”主题日",
        plan_deadline=(now + timedelta(days=days_left)).replace(microsecond=0),
        status=CampaignStatus.PLANNING.value,
        zishu_target=800,
        zishu_min=300,
        zishu_max=1000,
    )
    db.session.add(campaign)
    db.session.flush()
    return campaign


def form_data(partner_id: int | str, **overrides: object) -> dict:
    data = {
        "theme": "能源装备融通创新",
        "field": "新能源装备",
        "p_base_id": [str(partner_id)],
        "p_reason": ["供应链上游"],
        "w_earliest": ["2030-09-01"],
        "w_latest": ["2030-10-20"],
        "w_duration": ["2"],
        "event_format": "onsite",
        "prevention_measures": "分时段入场",
        "body": BODY,
        "contact_name": "张三",
        "contact_phone": "13812345678",
        "contact_email": "zhang@example.com",
        "action": "save",
    }
    for c in list(ContentType)[:4]:
        data[f"ct_{c.value}"] = "1"
        data[f"ct_{c.value}_text"] = f"{c.value} 安排"
    data.update(overrides)
    return data


@pytest.fixture
def world(app):
    with app.app_context():
        campaign = make_open_campaign()
        base_a = make_base("中国华润有限公司", short_name="华润")
        base_b = make_base("中国石油天然气集团有限公司", short_name="中国石油")
        partner = make_base("深圳市南山区", BaseType.REGION, short_name="南山区")
        db.session.commit()
        return {"campaign": campaign.id, "a": base_a.id, "b": base_b.id, "partner": partner.id}


def _host(app, client, base_id):
    with app.app_context():
        user = make_user(Role.HOST, base=db.session.get(DemonstrationBase, base_id))
        db.session.commit()
        email = user.email
    login(client, email)


def _plan_id(app, base_id) -> int:
    with app.app_context():
        return db.session.scalar(select(PreliminaryPlan.id).where(PreliminaryPlan.base_id == base_id))


def test_non_enterprise_host_sees_why(app, client, world):
    with app.app_context():
        university = make_base("清华大学", BaseType.UNIVERSITY, short_name="清华")
        db.session.commit()
        uid = university.id
    _host(app, client, uid)
    page = client.get("/plans/").get_data(as_text=True)
    assert "企业类示范基地" in page and 'id="cannot-host"' in page
    assert client.get("/plans/edit").status_code == 302
    assert client.post("/plans/edit", data=form_data(world["partner"])).status_code == 302
    with app.app_context():
        assert db.session.query(PreliminaryPlan).count() == 0


def test_add_and_remove_rows_keep_input(app, client, world):
    _host(app, client, world["a"])
    page = client.get("/plans/edit")
    assert page.status_code == 200 and 'id="zishu-count"' in page.get_data(as_text=True)
    response = client.post("/plans/edit", data=form_data(world["partner"], action="add_participant", theme="我的主题"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('class="row g-2 mb-2 participant-row"') == 2 and 'value="我的主题"' in html and "供应链上游" in html
    response = client.post("/plans/edit", data=form_data(world["partner"], action="remove_participant:0", theme="我的主题"))
    html = response.get_data(as_text=True)
    assert html.count('participant-row"') == 0 and 'value="我的主题"' in html
    response = client.post("/plans/edit", data=form_data(world["partner"], action="add_window"))
    assert response.get_data(as_text=True).count("window-row") == 2
    assert _plan_id(app, world["a"]) is None  # row actions do not save


def test_draft_save_submit_and_resubmit(app, client, world):
    _host(app, client, world["a"])
    invalid = form_data(world["partner"], theme="", contact_phone="123", body="太短")
    assert client.post("/plans/edit", data=invalid).status_code == 302
    plan_id = _plan_id(app, world["a"])
    with app.app_context():
        plan = db.session.get(PreliminaryPlan, plan_id)
        assert (plan.theme, plan.contact_phone, plan.body) == ("", "123", "太短")
    response = client.post("/plans/edit", data={**invalid, "action": "submit"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "请填写活动主题" in html and "少于下限 300 字" in html and 'value="123"' in html

    response = client.post("/plans/edit", data=form_data(world["partner"], action="submit"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/plans/{plan_id}/submit")
    assert "确认提交" in client.get(f"/plans/{plan_id}/submit").get_data(as_text=True)
    assert client.post(f"/plans/{plan_id}/submit").status_code == 302
    assert "已提交" in client.get("/plans/").get_data(as_text=True)

    client.post("/plans/edit", data=form_data(world["partner"], body=BODY + "新增路演", action="submit"))
    client.post(f"/plans/{plan_id}/submit")
    versions = client.get(f"/plans/{plan_id}/versions").get_data(as_text=True)
    assert "第 2 版" in versions and "第 1 版" in versions
    diff = client.get(f"/plans/{plan_id}/diff?a=1&b=2").get_data(as_text=True)
    assert "<ins>新增路演</ins>" in diff
    assert "<ins>新增路演</ins>" in client.get(f"/plans/{plan_id}/diff?a=1&b=2&layout=unified").get_data(as_text=True)
    assert client.get(f"/plans/{plan_id}/versions/1").status_code == 200
    assert client.get(f"/plans/{plan_id}/print").status_code == 200

    assert client.post(f"/plans/{plan_id}/withdraw").status_code == 302
    assert "已撤回" in client.get("/plans/").get_data(as_text=True)


def test_after_the_deadline_edit_and_submit_are_refused(app, client, world):
    _host(app, client, world["a"])
    client.post("/plans/edit", data=form_data(world["partner"]))
    plan_id = _plan_id(app, world["a"])
    with app.app_context():
        campaign = db.session.get(Campaign, world["campaign"])
        campaign.plan_deadline = (utcnow() - timedelta(minutes=1)).replace(microsecond=0)
        db.session.commit()
        expected = f"截止时间为 {to_shanghai(campaign.plan_deadline):%Y-%m-%d %H:%M}（北京时间）"
    response = client.post("/plans/edit", data=form_data(world["partner"], theme="改了"))
    assert response.status_code == 409 and expected in response.get_data(as_text=True)
    response = client.post(f"/plans/{plan_id}/submit", follow_redirects=True)
    assert expected in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PreliminaryPlan, plan_id).theme == "能源装备融通创新"
        assert not db.session.get(PreliminaryPlan, plan_id).versions


def test_host_a_cannot_read_or_edit_host_b_plan(app, client, world):
    _host(app, client, world["b"])
    client.post("/plans/edit", data=form_data(world["partner"], action="submit"))
    plan_b = _plan_id(app, world["b"])
    client.post(f"/plans/{plan_b}/submit")
    client.post("/logout")

    _host(app, client, world["a"])
    for path in [
        f"/plans/{plan_b}",
        f"/plans/{plan_b}?draft=1",
        f"/plans/{plan_b}/versions",
        f"/plans/{plan_b}/versions/1",
        f"/plans/{plan_b}/diff",
        f"/plans/{plan_b}/print",
    ]:
        assert client.get(path).status_code in {403, 404}, path
    for path in [f"/plans/{plan_b}/submit", f"/plans/{plan_b}/withdraw"]:
        assert client.post(path).status_code in {403, 404}, path
        assert client.get(path).status_code in {403, 404}, path
    # Host A's own form never touches B's plan.
    client.post("/plans/edit", data=form_data(world["partner"], theme="A 的计划"))
    with app.app_context():
        plan = db.session.get(PreliminaryPlan, plan_b)
        assert plan.theme == "能源装备融通创新" and plan.status == "submitted" and len(plan.versions) == 1
    assert client.get("/plans/all").status_code == 403
    assert client.get("/plans/export.xlsx").status_code == 403


def test_unassigned_reviewer_cannot_read(app, client, world):
    with app.app_context():
        host = make_user(Role.HOST, base=db.session.get(DemonstrationBase, world["a"]))
        plan = services.get_or_create_plan(db.session.get(Campaign, world["campaign"]), host.base)
        db.session.commit()
        plan_id = plan.id
    user_and_login(app, client, Role.REVIEWER)
    assert client.get(f"/plans/{plan_id}").status_code == 404
    assert client.get(f"/plans/{plan_id}/print").status_code == 404
    assert client.get("/plans/").status_code == 403


def test_organiser_pages(app, client, world):
    _host(app, client, world["a"])
    client.post("/plans/edit", data=form_data(world["partner"], action="submit"))
    plan_id = _plan_id(app, world["a"])
    client.post(f"/plans/{plan_id}/submit")
    client.post("/logout")
    with app.app_context():
        other = make_base("中国建材集团有限公司", short_name="中国建材")
        services.get_or_create_plan(db.session.get(Campaign, world["campaign"]), other)
        db.session.commit()

    user_and_login(app, client, Role.ORGANISER)
    html = client.get("/plans/all").get_data(as_text=True)
    assert "华润" in html and "中国建材" in html and "没有参与基地" in html
    table = client.get("/plans/all?status=submitted").get_data(as_text=True).split('id="plans-table"')[1]
    assert "华润" in table and "中国建材" not in table
    table = client.get("/plans/all?warnings=yes").get_data(as_text=True).split('id="plans-table"')[1]
    assert "中国建材" in table and f'data-plan="{plan_id}"' not in table
    assert "能源装备融通创新" in client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert client.get(f"/plans/{plan_id}/print").status_code == 200

    response = client.get("/plans/export.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3

    until = (to_shanghai(utcnow()) + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S")
    response = client.post("/plans/extensions", data={"base_id": world["a"], "until": until, "reason": ""})
    assert response.status_code == 422 and "请填写延期理由" in response.get_data(as_text=True)
    response = client.post("/plans/extensions", data={"base_id": world["a"], "until": until, "reason": "材料需补充盖章"})
    assert response.status_code == 302
    with app.app_context():
        extension = db.session.scalar(select(DeadlineExtension))
        assert to_shanghai(extension.until).strftime("%Y-%m-%dT%H:%M:%S") == until
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "deadline.extend")) is not None
    assert "材料需补充盖章" in client.get("/plans/all").get_data(as_text=True)


def test_organiser_opens_review(app, client, world):
    _host(app, client, world["a"])
    client.post("/plans/edit", data=form_data(world["partner"], action="submit"))
    plan_id = _plan_id(app, world["a"])
    client.post(f"/plans/{plan_id}/submit")
    client.post("/logout")
    user_and_login(app, client, Role.ORGANISER)
    assert client.post("/plans/review").status_code == 302

    with app.app_context():
        rnd = round_by_key(f"plan-review:{world['campaign']}")
        assert [(i.ref_type, i.ref_id, i.url) for i in rnd.items] == [("plan", plan_id, f"/plans/{plan_id}")]
