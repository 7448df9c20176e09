"""Detailed plan pages: object checks on every route, section forms (errors in Chinese next to the
field, typed values kept), submit / withdraw / revise, the organiser's list and review, attachments."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events import content
from eventhub.events import detail_plans as dp
from eventhub.events.models import DetailPlan, Event, EventSession, TechNeed, TechNeedResponse
from eventhub.extensions import db
from tests.factories import fill_detail_plan, login, make_base, make_scheduled_event, make_user

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def today():  # noqa: ANN201
    return to_shanghai(utcnow()).date()


@pytest.fixture
def world(app):
    """Host A's event (90 days ahead) with a complete plan and one of everything; host B's event."""
    with app.app_context():
        partner = make_base("深圳市南山区", short_name="南山区")
        event_a = make_scheduled_event(today() + timedelta(days=90), 2, short_name="华润", partners=((partner, "开放检测平台"),))
        event_b = make_scheduled_event(today() + timedelta(days=120), short_name="中石油")
        users = {
            "host_a": make_user(Role.HOST, base=event_a.host_base),
            "host_b": make_user(Role.HOST, base=event_b.host_base),
            "organiser": make_user(Role.ORGANISER),
            "assessor": make_user(Role.ASSESSOR),
            "reviewer": make_user(Role.REVIEWER),
        }
        plan = fill_detail_plan(event_a, users["host_a"])
        dp.add_resource(plan, dp.ResourceData(name="检测中心", kind="lab"), None)
        attachment = dp.add_attachment(plan, _file(PDF, "议程.pdf"), "活动议程", users["host_a"])
        db.session.commit()
        ids = {
            "a": event_a.id,
            "b": event_b.id,
            "partner": partner.id,
            "session": plan.sessions[0].id,
            "need": plan.needs[0].id,
            "resource": plan.resources[0].id,
            "row": plan.bases[0].id,
            "attachment": attachment.id,
            "file": attachment.file_id,
            "emails": {k: u.email for k, u in users.items()},
        }
    return ids  # outside the app context: each request gets its own (and its own logged-in user)


def _file(data: bytes, name: str):  # noqa: ANN202
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/octet-stream")


def as_user(app: Flask, world: dict, who: str) -> FlaskClient:
    client = app.test_client()
    login(client, world["emails"][who])
    return client


def host_urls(w: dict) -> list[tuple[str, str]]:
    a = w["a"]
    return [
        ("get", f"/events/{a}/plan"),
        ("post", f"/events/{a}/plan/short-name"),
        ("get", f"/events/{a}/plan/text/goals"),
        ("post", f"/events/{a}/plan/text/goals"),
        ("get", f"/events/{a}/plan/sessions/new"),
        ("post", f"/events/{a}/plan/sessions/new"),
        ("get", f"/events/{a}/plan/sessions/{w['session']}"),
        ("post", f"/events/{a}/plan/sessions/{w['session']}"),
        ("post", f"/events/{a}/plan/sessions/{w['session']}/delete"),
        ("get", f"/events/{a}/plan/bases"),
        ("post", f"/events/{a}/plan/bases"),
        ("post", f"/events/{a}/plan/bases/{w['row']}"),
        ("post", f"/events/{a}/plan/bases/{w['row']}/delete"),
        ("get", f"/events/{a}/plan/needs/new"),
        ("post", f"/events/{a}/plan/needs/new"),
        ("get", f"/events/{a}/plan/needs/{w['need']}"),
        ("post", f"/events/{a}/plan/needs/{w['need']}"),
        ("post", f"/events/{a}/plan/needs/{w['need']}/delete"),
        ("get", f"/events/{a}/plan/resources/new"),
        ("post", f"/events/{a}/plan/resources/new"),
        ("get", f"/events/{a}/plan/resources/{w['resource']}"),
        ("post", f"/events/{a}/plan/resources/{w['resource']}"),
        ("post", f"/events/{a}/plan/resources/{w['resource']}/delete"),
        ("get", f"/events/{a}/plan/registration"),
        ("post", f"/events/{a}/plan/registration"),
        ("get", f"/events/{a}/plan/attachments"),
        ("post", f"/events/{a}/plan/attachments"),
        ("post", f"/events/{a}/plan/attachments/{w['attachment']}/delete"),
        ("get", f"/events/{a}/plan/submit"),
        ("post", f"/events/{a}/plan/submit"),
        ("post", f"/events/{a}/plan/withdraw"),
        ("post", f"/events/{a}/plan/revise"),
    ]


def reader_urls(w: dict) -> list[tuple[str, str]]:
    """Login-only routes with the object check (host of the base, organiser, assessor)."""
    return [("get", f"/events/{w['a']}/plan/files/{w['file']}"), ("get", f"/events/{w['a']}/plan/versions/1")]


def organiser_urls(w: dict) -> list[tuple[str, str]]:
    return [("post", f"/events/{w['a']}/plan/review/approve"), ("post", f"/events/{w['a']}/plan/review/request-changes")]


def viewer_urls(w: dict) -> list[tuple[str, str]]:
    return [("get", "/events/plans"), ("get", f"/events/{w['a']}/plan/review")]


def _submit(app: Flask, event_id: int) -> None:
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == event_id))
        dp.submit(plan, None)
        db.session.commit()


# ---- access control ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in_everywhere(app, client, world):
    urls = [*host_urls(world), *reader_urls(world), *organiser_urls(world), *viewer_urls(world), ("get", "/events/mine")]
    for method, url in urls:
        response = client.open(url, method=method.upper())
        assert response.status_code == 302 and "/login" in response.headers["Location"], f"{method} {url}"


def test_other_host_gets_404_for_every_url_of_host_a(app, world):
    _submit(app, world["a"])
    client = as_user(app, world, "host_b")
    for method, url in [*host_urls(world), *reader_urls(world)]:
        assert client.open(url, method=method.upper()).status_code == 404, f"{method} {url}"
    for method, url in [*organiser_urls(world), *viewer_urls(world)]:
        assert client.open(url, method=method.upper()).status_code == 403, f"{method} {url}"
    assert "华润" not in client.get("/events/mine").get_data(as_text=True)
    # Nothing was changed by any of those requests.
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == world["a"]))
        assert plan.status == "submitted" and len(plan.sessions) == 4 and len(plan.attachments) == 1


@pytest.mark.parametrize("who", ["reviewer", "organiser", "assessor"])
def test_non_hosts_cannot_use_host_pages(app, world, who):
    client = as_user(app, world, who)
    for method, url in [*host_urls(world), ("get", "/events/mine")]:
        assert client.open(url, method=method.upper()).status_code == 403, f"{who} {method} {url}"


def test_reviewer_cannot_read_and_assessor_reads_only(app, world):
    _submit(app, world["a"])
    reviewer = as_user(app, world, "reviewer")
    for method, url in [*reader_urls(world), *organiser_urls(world), *viewer_urls(world)]:  # the role holds no events permission
        assert reviewer.open(url, method=method.upper()).status_code == 403
    assessor = as_user(app, world, "assessor")
    for method, url in [*viewer_urls(world), *reader_urls(world)]:
        assert assessor.open(url, method=method.upper()).status_code == 200, url
    page = assessor.get(f"/events/{world['a']}/plan/review").get_data(as_text=True)
    assert 'id="decision-form"' not in page and "只读：审核决定由组织方作出。" in page
    for method, url in organiser_urls(world):
        assert assessor.open(url, method=method.upper(), data={"version": "1", "confirm": "y", "comment": "x"}).status_code == 403


def test_attachment_download_only_for_allowed_users(app, client, world):
    url = f"/events/{world['a']}/plan/files/{world['file']}"
    for who in ("host_a", "organiser", "assessor"):
        response = as_user(app, world, who).get(url)
        assert response.status_code == 200 and response.data == PDF, who
        assert response.headers["Content-Type"] == "application/pdf" and "private" in response.headers["Cache-Control"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert as_user(app, world, "host_b").get(url).status_code == 404  # another host: not even its existence
    assert as_user(app, world, "reviewer").get(url).status_code == 403  # a role without access to events
    assert client.get(url).status_code == 302
    # A file id that is not this plan's is not served through it either.
    assert as_user(app, world, "host_a").get(f"/events/{world['b']}/plan/files/{world['file']}").status_code == 404


# ---- host pages -------------------------------------------------------------------------------


def test_my_events_and_plan_page(app, world):
    client = as_user(app, world, "host_a")
    page = client.get("/events/mine").get_data(as_text=True)
    assert "华润融通创新主题日" in page and "中石油" not in page and "还剩" in page and 'data-countdown="' in page
    page = client.get(f"/events/{world['a']}/plan").get_data(as_text=True)
    assert 'id="plan-title">华润融通创新主题日活动方案<' in page
    assert "提交截止时间" in page and re.search(
        r'id="countdown" data-countdown="\d+">还剩 (5[89]|6[01]) 天 \d+ 小时<', page
    )  # due: 90 days ahead minus a month
    assert "南山区" in page and "开放检测平台" in page  # pre-filled from the preliminary plan
    assert "主题内容涵盖 4 / 5 类" in page and 'id="problems"' not in page


def test_overdue_page_says_submission_is_still_possible_and_marked_late(app, world):
    with app.app_context():
        event = make_scheduled_event(today() + timedelta(days=10), short_name="航天")
        host = make_user(Role.HOST, base=event.host_base)
        fill_detail_plan(event, host)
        db.session.commit()
        event_id, email = event.id, host.email
    client = app.test_client()
    login(client, email)
    page = client.get(f"/events/{event_id}/plan").get_data(as_text=True)
    assert "已过截止时间。仍可提交，但将标记为逾期提交，组织方可见。" in page
    assert "现在提交将标记为逾期提交" in client.get(f"/events/{event_id}/plan/submit").get_data(as_text=True)
    response = client.post(f"/events/{event_id}/plan/submit", follow_redirects=True)
    assert "已标记为逾期提交" in response.get_data(as_text=True) and 'id="late-badge"' in response.get_data(as_text=True)

    _submit(app, world["a"])  # on time, possibly in another campaign (year) than the late one
    organiser = as_user(app, world, "organiser")
    with app.app_context():
        campaigns = {e: db.session.get(Event, e).campaign_id for e in (event_id, world["a"])}
    listing = organiser.get(f"/events/plans?campaign_id={campaigns[event_id]}").get_data(as_text=True)
    row = re.search(rf'<tr data-event="{event_id}">.*?</tr>', listing, re.S).group(0)
    assert "逾期提交" in row and "待审核" in row
    listing = organiser.get(f"/events/plans?campaign_id={campaigns[world['a']]}").get_data(as_text=True)
    other = re.search(rf'<tr data-event="{world["a"]}">.*?</tr>', listing, re.S).group(0)
    assert "待审核" in other and "逾期提交" not in other
    late_only = organiser.get(f"/events/plans?campaign_id={campaigns[event_id]}&late=1").get_data(as_text=True)
    assert f'data-event="{event_id}"' in late_only and late_only.count('<tr data-event="') == 1
    late_only = organiser.get(f"/events/plans?campaign_id={campaigns[world['a']]}&late=1").get_data(as_text=True)
    assert f'data-event="{world["a"]}"' not in late_only
    assert 'id="late-badge"' in organiser.get(f"/events/{event_id}/plan/review").get_data(as_text=True)


def test_short_name_is_filled_in_on_the_plan_page(app, world):
    with app.app_context():
        event = make_scheduled_event(today() + timedelta(days=90), short_name=None)
        host = make_user(Role.HOST, base=event.host_base)
        db.session.commit()
        event_id, email, base_id = event.id, host.email, event.host_base_id
    client = app.test_client()
    login(client, email)
    page = client.get(f"/events/{event_id}/plan").get_data(as_text=True)
    assert 'id="plan-title">融通创新主题日活动方案<' in page and 'id="short-name-form"' in page
    assert "请先填写本基地简称" in page
    response = client.post(f"/events/{event_id}/plan/short-name", data={"short_name": ""})
    assert response.status_code == 422 and "请填写基地简称" in response.get_data(as_text=True)
    response = client.post(f"/events/{event_id}/plan/short-name", data={"short_name": "航天科工"}, follow_redirects=True)
    assert "航天科工融通创新主题日活动方案" in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "bases.update", AuditLog.object_id == str(base_id)))
        assert row.after == {"short_name": "航天科工"}


def test_session_form_keeps_typed_values_and_shows_chinese_errors(app, world):
    client = as_user(app, world, "host_a")
    url = f"/events/{world['a']}/plan/sessions/new"
    form = client.get(url).get_data(as_text=True)
    assert 'type="date"' in form and 'type="time"' in form and "创新团队对接路演" in form
    day = (today() + timedelta(days=90)).isoformat()
    bad = {
        "title": "技术路演专场",
        "kind": "roadshow",
        "day": (today() + timedelta(days=95)).isoformat(),
        "start_time": "15:00",
        "end_time": "14:00",
        "venue": "",
        "online_url": "live.example.cn/room",
        "access": "invitation",
        "content_types": ["roadshow", "commercialisation"],
        "capacity": "abc",
    }
    response = client.post(url, data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("日期应在活动日期", "结束时间应晚于开始时间", "线上链接应为以 http:// 或 https:// 开头的完整网址", "请输入整数"):
        assert message in page, message
    assert 'value="技术路演专场"' in page and 'value="live.example.cn/room"' in page and 'value="15:00"' in page and 'value="abc"' in page
    assert re.search(r'value="invitation"\s+checked', page) and re.search(r'value="commercialisation"\s+checked', page)
    response = client.post(url, data={"day": "2027-13-45", "start_time": "9点"})
    page = response.get_data(as_text=True)
    assert "请按“年-月-日”填写日期" in page and "请按“时:分”填写时间" in page and "请填写场次名称" in page

    good = {**bad, "day": day, "start_time": "14:00", "end_time": "15:30", "online_url": "https://live.example.cn/room", "capacity": "120"}
    response = client.post(url, data=good)
    assert response.status_code == 302 and response.headers["Location"].endswith("#sessions")
    with app.app_context():
        session = db.session.scalar(select(EventSession).where(EventSession.title == "技术路演专场"))
        assert session.capacity == 120 and session.access == "invitation" and session.content_types == ["commercialisation", "roadshow"]
        session_id = session.id
    edit = client.get(f"/events/{world['a']}/plan/sessions/{session_id}").get_data(as_text=True)
    assert 'value="技术路演专场"' in edit and 'value="14:00"' in edit
    response = client.post(f"/events/{world['a']}/plan/sessions/{session_id}/delete", follow_redirects=True)
    assert "已删除场次：技术路演专场" in response.get_data(as_text=True)


def test_text_need_resource_registration_and_bases_forms(app, world):
    client = as_user(app, world, "host_a")
    a = world["a"]
    assert client.get(f"/events/{a}/plan/text/budget").status_code == 404
    response = client.post(f"/events/{a}/plan/text/goals", data={"text": "促成 20 项合作"}, follow_redirects=True)
    assert "促成 20 项合作" in response.get_data(as_text=True)

    response = client.post(
        f"/events/{a}/plan/needs/new", data={"title": "氢能储运", "field": "能源", "description": "", "budget_min": "300", "budget_max": "100"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "请填写需求描述" in page and "预算上限不能低于下限" in page and "请填写揭榜截止日期" in page
    assert 'value="氢能储运"' in page and 'value="300"' in page
    deadline = (today() + timedelta(days=80)).isoformat()
    response = client.post(f"/events/{a}/plan/needs/new", data={"title": "氢能储运", "field": "能源", "description": "储运装备", "response_deadline": deadline})
    assert response.status_code == 302

    response = client.post(f"/events/{a}/plan/resources/new", data={"name": "", "kind": ""})
    assert response.status_code == 422 and "请填写资源名称" in response.get_data(as_text=True) and "请选择资源类型" in response.get_data(as_text=True)

    end = (today() + timedelta(days=91)).isoformat()
    response = client.post(f"/events/{a}/plan/registration", data={"capacity": "0", "opens_at": f"{end}T09:00", "closes_at": f"{end}T23:59:59"})
    page = response.get_data(as_text=True)
    assert "报名人数上限应为不小于 1 的整数" in page
    response = client.post(f"/events/{a}/plan/registration", data={"capacity": "500", "opens_at": f"{end}T09:00", "closes_at": f"{end}T08:00"})
    assert "报名截止时间应晚于开始时间" in response.get_data(as_text=True)
    after = (today() + timedelta(days=92)).isoformat()
    response = client.post(f"/events/{a}/plan/registration", data={"capacity": "500", "opens_at": f"{end}T07:00", "closes_at": f"{after}T00:00"})
    assert "报名截止时间不能晚于活动结束时间" in response.get_data(as_text=True)
    response = client.post(
        f"/events/{a}/plan/registration", data={"capacity": "500", "opens_at": f"{end}T07:00", "closes_at": f"{end}T23:59:59", "approval_mode": "moderated"}
    )
    assert response.status_code == 302

    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == a))
        assert plan.registration_capacity == 500 and plan.approval_mode == "moderated"
        host_base_id = plan.event.host_base_id
        other = make_base("清华大学", short_name="清华")
        db.session.commit()
        other_id = other.id
    response = client.post(f"/events/{a}/plan/bases", data={"base_id": str(host_base_id), "role": "主办"})
    assert response.status_code == 422 and "承办基地本身不能作为参与基地" in response.get_data(as_text=True)
    response = client.post(f"/events/{a}/plan/bases", data={"base_id": str(world["partner"]), "role": "再来一次"})
    assert "南山区 已在参与基地名单中" in response.get_data(as_text=True)
    page = client.get(f"/events/{a}/plan/bases").get_data(as_text=True)
    assert f'<option value="{other_id}">' in page and f'<option value="{host_base_id}">' not in page and f'<option value="{world["partner"]}">' not in page
    assert client.post(f"/events/{a}/plan/bases", data={"base_id": str(other_id), "role": "联合攻关"}).status_code == 302
    response = client.post(f"/events/{a}/plan/bases/{world['row']}", data={f"row{world['row']}-role": ""})
    assert response.status_code == 422 and "请填写该基地在活动中的分工" in response.get_data(as_text=True)
    assert client.post(f"/events/{a}/plan/bases/{world['row']}", data={f"row{world['row']}-role": "开放检测平台，发布场景"}).status_code == 302
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == a))
        assert {(b.base_id, b.role) for b in plan.bases} == {(world["partner"], "开放检测平台，发布场景"), (other_id, "联合攻关")}


def test_need_with_responses_cannot_be_deleted_from_the_page(app, world):
    with app.app_context():
        need = db.session.get(TechNeed, world["need"])
        db.session.add(
            TechNeedResponse(
                need_id=need.id,
                event_id=need.event_id,
                org_name="某科技有限公司",
                uscc="91350100M000100Y43",
                contact_name="李四",
                contact_mobile="13812345678",
                contact_email="li@example.com",
                proposal="方案",
                token_hash="b" * 64,
            )
        )
        db.session.commit()
    client = as_user(app, world, "host_a")
    response = client.post(f"/events/{world['a']}/plan/needs/{world['need']}/delete", follow_redirects=True)
    assert "已收到 1 份揭榜响应，不能删除" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TechNeed, world["need"]) is not None


def test_attachment_upload_refusals_are_shown_at_the_field(app, world):
    client = as_user(app, world, "host_a")
    url = f"/events/{world['a']}/plan/attachments"
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500
    response = client.post(url, data={"file": (io.BytesIO(exe), "方案.pdf"), "title": "方案"}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "“方案.pdf”的内容不是允许的文件类型" in page and "invalid-feedback" in page
    big = PDF + b"0" * (20 * 1024 * 1024 + 1 - len(PDF))
    response = client.post(url, data={"file": (io.BytesIO(big), "大文件.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "“大文件.pdf”超过 20 MB 的上限" in response.get_data(as_text=True)
    response = client.post(url, data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要上传的文件" in response.get_data(as_text=True)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 3000
    response = client.post(
        url, data={"file": (io.BytesIO(png), "场地图.png"), "title": "场地平面图"}, content_type="multipart/form-data", follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "场地平面图" in page and "活动议程" in page and "2 KB" in page
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == world["a"]))
        assert [a.file.original_name for a in plan.attachments] == ["议程.pdf", "场地图.png"]
        new_id = plan.attachments[1].id
    response = client.post(f"{url}/{new_id}/delete", follow_redirects=True)
    assert "已删除附件：场地图.png" in response.get_data(as_text=True)


def test_submit_lists_problems_with_links_then_locks_withdraws_and_revises(app, world):
    client = as_user(app, world, "host_a")
    a = world["a"]
    client.post(f"/events/{a}/plan/text/goals", data={"text": ""})
    client.post(f"/events/{a}/plan/text/emergency", data={"text": "  "})
    page = client.get(f"/events/{a}/plan/submit").get_data(as_text=True)
    assert f'href="/events/{a}/plan#goals">活动目标</a>：请填写活动目标' in page
    assert f'href="/events/{a}/plan#emergency">防控与应急预案</a>：请填写防控与应急预案' in page
    assert 'id="confirm-submit"' not in page
    response = client.post(f"/events/{a}/plan/submit", follow_redirects=True)
    assert "活动方案尚不完整，不能提交" in response.get_data(as_text=True)
    plan_page = client.get(f"/events/{a}/plan").get_data(as_text=True)
    assert 'id="problems"' in plan_page and 'href="#goals"' in plan_page

    client.post(f"/events/{a}/plan/text/goals", data={"text": "促成合作"})
    client.post(f"/events/{a}/plan/text/emergency", data={"text": "应急预案"})
    response = client.post(f"/events/{a}/plan/submit", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已提交第 1 版，等待组织方审核" in page and 'id="locked"' in page and 'id="withdraw"' in page and 'id="edit-goals"' not in page

    # Locked: form pages send back with the reason; posts change nothing.
    response = client.get(f"/events/{a}/plan/sessions/new", follow_redirects=True)
    assert "活动方案已提交，正在等待组织方审核，不能修改" in response.get_data(as_text=True)
    client.post(f"/events/{a}/plan/text/goals", data={"text": "偷偷修改"})
    client.post(f"/events/{a}/plan/sessions/{world['session']}/delete")
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == a))
        assert plan.goals == "促成合作" and len(plan.sessions) == 4

    response = client.post(f"/events/{a}/plan/withdraw", follow_redirects=True)
    assert "已撤回提交" in response.get_data(as_text=True)
    client.post(f"/events/{a}/plan/text/goals", data={"text": "促成 30 项合作"})
    client.post(f"/events/{a}/plan/submit")

    organiser = as_user(app, world, "organiser")
    organiser.post(f"/events/{a}/plan/review/approve", data={"version": "2", "confirm": "y"})
    page = client.get(f"/events/{a}/plan").get_data(as_text=True)
    assert 'id="approved"' in page and 'id="revise"' in page
    response = client.post(f"/events/{a}/plan/revise", follow_redirects=True)
    assert "新版本批准前，公开页面仍显示第 2 版" in response.get_data(as_text=True) and 'id="revising"' in response.get_data(as_text=True)
    client.post(f"/events/{a}/plan/text/goals", data={"text": "修订草稿"})
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == a))
        assert content.publication(plan.event).goals == "促成 30 项合作"
        actions = list(
            db.session.scalars(
                select(AuditLog.action).where(AuditLog.action.in_(["detail_plan.submit", "detail_plan.withdraw", "detail_plan.revise"])).order_by(AuditLog.id)
            )
        )
        assert actions == ["detail_plan.submit", "detail_plan.withdraw", "detail_plan.submit", "detail_plan.revise"]


# ---- organiser ---------------------------------------------------------------------------------


def test_review_diff_history_and_decisions(app, world):
    host = as_user(app, world, "host_a")
    a = world["a"]
    host.post(f"/events/{a}/plan/submit")
    organiser = as_user(app, world, "organiser")
    page = organiser.get(f"/events/{a}/plan/review").get_data(as_text=True)
    assert 'id="shown-version">第 1 版<' in page and 'id="decision-form"' in page and "围绕产业链上下游" in page and "高效储能材料" in page
    assert 'id="diff-table"' not in page  # nothing to compare with yet

    # Request changes: a comment is required; the confirmation box too.
    response = organiser.post(f"/events/{a}/plan/review/request-changes", data={"version": "1", "comment": "请补充", "confirm": ""}, follow_redirects=True)
    assert "请勾选确认后再提交审核决定" in response.get_data(as_text=True)
    response = organiser.post(f"/events/{a}/plan/review/request-changes", data={"version": "1", "comment": " ", "confirm": "y"}, follow_redirects=True)
    assert "请填写修改意见" in response.get_data(as_text=True)
    response = organiser.post(
        f"/events/{a}/plan/review/request-changes", data={"version": "1", "comment": "请补充路演项目", "confirm": "y"}, follow_redirects=True
    )
    assert "已退回第 1 版" in response.get_data(as_text=True)
    page = host.get(f"/events/{a}/plan").get_data(as_text=True)
    assert 'id="review-comment"' in page and "请补充路演项目" in page

    host.post(f"/events/{a}/plan/text/goals", data={"text": "围绕产业链上下游开展融通创新对接，组织 10 个路演项目。"})
    host.post(f"/events/{a}/plan/submit")
    page = organiser.get(f"/events/{a}/plan/review").get_data(as_text=True)
    assert 'id="shown-version">第 2 版<' in page and "与第 1 版相比" in page
    goals_row = re.search(r'<tr class="table-warning" data-section="活动目标" data-changed="1">.*?</tr>', page, re.S).group(0)
    assert "<ins>" in goals_row and "10 个路演项目" in goals_row
    assert 'data-section="活动议程" data-changed="0"' in page
    assert page.count('data-version="') == 2 and "退回修改" in page
    old = organiser.get(f"/events/{a}/plan/versions/1").get_data(as_text=True)
    assert 'id="shown-version">第 1 版<' in old and "请补充路演项目" in old
    assert host.get(f"/events/{a}/plan/versions/2").status_code == 200
    assert organiser.get(f"/events/{a}/plan/versions/3").status_code == 404

    # A stale page cannot decide an older version.
    response = organiser.post(f"/events/{a}/plan/review/approve", data={"version": "1", "confirm": "y"}, follow_redirects=True)
    assert "只能审核最新提交的版本（第 2 版）" in response.get_data(as_text=True)
    response = organiser.post(f"/events/{a}/plan/review/approve", data={"version": "2", "confirm": "y", "comment": "同意"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已批准第 2 版" in page and "公开版本：第 2 版" in page and 'id="decision-form"' not in page
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == a))
        assert plan.status == "approved" and plan.approved_version_number == 2 and plan.versions[1].decision_comment == "同意"


def test_list_filters_counts_and_pagination(app, world):
    with app.app_context():
        start = today() + timedelta(days=90)
        for n in range(30):
            make_scheduled_event(start + timedelta(days=n % 3), short_name=f"基地{n:02d}")
        db.session.commit()
    organiser = as_user(app, world, "organiser")
    page = organiser.get("/events/plans").get_data(as_text=True)
    assert "共 32 条，第 1 / 2 页" in page and page.count('<tr data-event="') == 25
    assert 'id="status-counts"' in page and "未开始 31" in page and "草稿 1" in page
    second = organiser.get("/events/plans?page=2").get_data(as_text=True)
    assert second.count('<tr data-event="') == 7
    drafts = organiser.get("/events/plans?status=draft").get_data(as_text=True)
    assert f'data-event="{world["a"]}"' in drafts and drafts.count('<tr data-event="') == 1
    none = organiser.get("/events/plans?status=none&q=基地0").get_data(as_text=True)
    assert none.count('<tr data-event="') == 10


def test_a_refused_form_on_the_first_visit_keeps_the_new_working_copy(app, world):
    client = as_user(app, world, "host_b")  # host B never opened its plan
    response = client.post(f"/events/{world['b']}/plan/sessions/new", data={"title": "", "kind": "forum"})
    assert response.status_code == 422 and "请填写场次名称" in response.get_data(as_text=True)
    with app.app_context():
        plan = db.session.scalar(select(DetailPlan).where(DetailPlan.event_id == world["b"]))
        assert plan is not None and plan.sessions == []
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "detail_plan.create", AuditLog.object_id == str(plan.id)))
