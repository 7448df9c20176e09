"""Selection pages: organiser only, rationale required in the form, live check JSON, calendar days, publish."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.selection.models import CalendarDay, SelectionDecision
from tests.factories import user_and_login
from tests.test_selection_services import make_campaign, make_plan


@pytest.fixture
def setup(app):
    with app.app_context():
        campaign = make_campaign(target_hosts=2)
        a = make_plan(campaign, "华润", [(date(2026, 9, 1), date(2026, 9, 30), 1)])
        b = make_plan(campaign, "国网", [(date(2026, 10, 8), date(2026, 11, 30), 1)])
        db.session.commit()
        return {"campaign": campaign.id, "a": a.id, "b": b.id}


def _urls(s):  # noqa: ANN001
    c = s["campaign"]
    return [
        ("get", "/selection/"),
        ("get", f"/selection/{c}/dates"),
        ("get", f"/selection/{c}/publish"),
        ("post", f"/selection/{c}/plans/{s['a']}/decide"),
        ("post", f"/selection/{c}/dates/suggest"),
        ("post", f"/selection/{c}/dates/check"),
        ("post", f"/selection/{c}/publish"),
    ]


@pytest.mark.parametrize("role", [Role.HOST, Role.REVIEWER, Role.PARTICIPANT])
def test_non_organisers_get_403(app, client, setup, role):
    user_and_login(app, client, role)
    for method, url in _urls(setup):
        assert getattr(client, method)(url).status_code == 403, url


def test_anonymous_is_sent_to_login_but_calendar_is_public(app, client, setup):
    for method, url in _urls(setup):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/calendar").status_code == 200
    assert client.get("/calendar.ics").status_code == 200


def test_overview_decide_requires_rationale_and_audits(app, client, setup):
    user_and_login(app, client)
    c = setup["campaign"]
    page = client.get(f"/selection/?campaign_id={c}").get_data(as_text=True)
    assert "华润集团有限公司" in page and "尚无评分" in page and "已入选 0 家 / 拟确定 2 家" in page

    response = client.post(f"/selection/{c}/plans/{setup['a']}/decide", data={"decision": "select", "rationale": "  "})
    assert response.status_code == 422 and "请填写入选理由" in response.get_data(as_text=True)
    response = client.post(f"/selection/{c}/plans/{setup['a']}/decide", data={"decision": "reject", "rationale": ""})
    assert response.status_code == 422 and "请填写未入选理由" in response.get_data(as_text=True)

    response = client.post(f"/selection/{c}/plans/{setup['a']}/decide", data={"decision": "select", "rationale": "示范带动作用强"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "示范带动作用强" in html and "已选 1 家，与拟确定的 2 家不一致" in html
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "selection.select")) == 1


def test_dates_suggest_check_and_publish(app, client, setup):
    user_and_login(app, client)
    c = setup["campaign"]
    for key in ("a", "b"):
        client.post(f"/selection/{c}/plans/{setup[key]}/decide", data={"decision": "select", "rationale": "入选"})
    page = client.get(f"/selection/{c}/dates").get_data(as_text=True)
    assert "chinese-calendar" in page and "周末可以安排" in page

    # Set dates by hand (the suggestion depends on today's date), then check them live.
    assert client.post(f"/selection/{c}/dates/{setup['a']}", data={"start_date": "2026-09-10", "duration_days": "1"}).status_code == 302
    response = client.post(f"/selection/{c}/dates/check", data={f"start_{setup['b']}": "2026-10-01", f"duration_{setup['b']}": "1"})
    data = response.get_json()
    assert not data["ok"]
    messages = " ".join(data["warnings"][str(setup["b"])])
    assert "节假日" in messages and "时间窗口" in messages
    response = client.post(f"/selection/{c}/dates/check", data={f"start_{setup['b']}": "2026-10-09", f"duration_{setup['b']}": "1"})
    # Inside its window, off the holidays, 39 days after 华润: at most the earliest-date rule (which moves with today).
    assert all("最早" in w for w in response.get_json()["warnings"][str(setup["b"])])

    response = client.post(f"/selection/{c}/dates/suggest")
    assert response.status_code == 200 and 'id="report"' in response.get_data(as_text=True)

    with app.app_context():
        for d in db.session.scalars(select(SelectionDecision)):
            d.start_date = date(2026, 9, 10) if d.plan_id == setup["a"] else date(2026, 10, 20)
            d.duration_days = 1
        db.session.commit()
    page = client.get(f"/selection/{c}/publish").get_data(as_text=True)
    assert "2026-09-10" in page and "2026-10-20" in page
    response = client.post(f"/selection/{c}/publish", data={})
    assert response.status_code == 302  # not confirmed: back to the page
    with app.app_context():
        assert db.session.scalar(select(func.count(Event.id))) == 0
    response = client.post(f"/selection/{c}/publish", data={"confirm": "yes"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "华润融通创新主题日" in html and "新建 2 个" in html


def test_calendar_days_editor_for_a_year_without_library_data(app, client):
    user_and_login(app, client)
    with app.app_context():
        campaign = make_campaign(2027)
        plan = make_plan(campaign, "华润", [(date(2027, 9, 1), date(2027, 10, 31), 1)])
        db.session.commit()
        cid, pid = campaign.id, plan.id
    client.post(f"/selection/{cid}/plans/{pid}/decide", data={"decision": "select", "rationale": "入选"})
    page = client.get(f"/selection/{cid}/dates").get_data(as_text=True)
    assert "没有数据" in page and "2027" in page
    response = client.post(f"/selection/{cid}/calendar-days", data={"day": "2027-10-01", "until": "2027-10-07", "kind": "holiday", "name": "国庆节"})
    assert response.status_code == 302
    page = client.get(f"/selection/{cid}/dates").get_data(as_text=True)
    assert "组织方录入的节假日" in page and "国庆节" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(CalendarDay.id))) == 7
        first = db.session.scalar(select(CalendarDay).order_by(CalendarDay.day))
        day_id = first.id
    assert client.post(f"/selection/{cid}/calendar-days/{day_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(CalendarDay.id))) == 6


def test_gap_setting_and_publish_page_after_publishing(app, client, setup):
    user_and_login(app, client)
    c = setup["campaign"]
    assert client.post(f"/selection/{c}/gap", data={"gap_days": "30"}).status_code == 302
    assert "至少相隔 30 天" in client.get(f"/selection/{c}/dates").get_data(as_text=True)
    client.post(f"/selection/{c}/gap", data={"gap_days": "-1"})
    assert "至少相隔 30 天" in client.get(f"/selection/{c}/dates").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "selection.gap")) == 1

    for key, day in (("a", date(2026, 9, 10)), ("b", date(2026, 10, 20))):
        client.post(f"/selection/{c}/plans/{setup[key]}/decide", data={"decision": "select", "rationale": "入选"})
        client.post(f"/selection/{c}/dates/{setup[key]}", data={"start_date": day.isoformat(), "duration_days": "1"})
    client.post(f"/selection/{c}/publish", data={"confirm": "yes"})
    client.post(f"/selection/{c}/plans/{setup['b']}/decide", data={"decision": "reject", "rationale": "撤销"})
    page = client.get(f"/selection/{c}/publish").get_data(as_text=True)
    assert 'id="last-published"' in page and 'id="to-withdraw"' in page and "国网融通创新主题日" in page
    # A typo in a hand-typed date is refused with a message, nothing saved.
    response = client.post(f"/selection/{c}/dates/{setup['a']}", data={"start_date": "2026-13-01", "duration_days": "1"}, follow_redirects=True)
    assert "YYYY-MM-DD" in response.get_data(as_text=True)
