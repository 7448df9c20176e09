"""The live check-in dashboard: exact figures for a built scenario on SQLite and PostgreSQL, its JSON,
the attendance XLSX, who may see it, and (Chromium) that it refreshes itself after a new check-in."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.checkin import dashboard
from eventhub.checkin import services as checkin
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import format_local, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import OrgType, RegistrationStatus
from tests.browser_helpers import login as browser_login
from tests.event_helpers import add_session, host_of, make_event, make_plan
from tests.factories import login, make_user
from tests.test_checkin_services import make_registration, scan_id, ticketed


def _quarter(at: datetime) -> datetime:
    return datetime.fromtimestamp(int(at.timestamp()) // 900 * 900, UTC)


def _scenario(app) -> dict:  # noqa: ANN001
    """Five confirmed people of four organisation types, two gates, check-ins in three quarter hours,
    a live double scan, an offline scan that takes a check-in over and an offline scan that lost."""
    with app.app_context():
        event = make_event("华润")
        plan = make_plan(event)
        s1, s2 = add_session(plan, "开幕式"), add_session(plan, "路演", start="10:00", end="11:00")
        organiser = make_user(Role.ORGANISER)
        east, west = make_user(Role.CHECKIN), make_user(Role.CHECKIN)
        checkin.assign_staff(event, east, gate="东门", actor=organiser)
        checkin.assign_staff(event, west, gate="西门", actor=organiser)
        _a, pa = ticketed(event, name="甲", org_type=OrgType.SME.value, sessions=[s1.id])
        _b, pb = ticketed(event, name="乙", org_type=OrgType.SME.value)
        _c, pc = ticketed(event, name="丙", org_type=OrgType.UNIVERSITY.value, sessions=[s1.id])
        _d, pd = ticketed(event, name="丁", org_type=OrgType.INVESTOR.value)
        ticketed(event, name="戊", org_type=OrgType.STARTUP.value, sessions=[s2.id])
        make_registration(event, status=RegistrationStatus.WAITLISTED, org_type=OrgType.SME.value)  # not counted
        make_registration(event, status=RegistrationStatus.CANCELLED, org_type=OrgType.LARGE.value)  # not counted
        db.session.commit()
        base = _quarter(utcnow() - timedelta(hours=3))
        at = lambda minutes: base + timedelta(minutes=minutes)  # noqa: E731

        def scan(payload: str, staff: User, minutes: int, **kw: object) -> checkin.CheckinResult:
            result = checkin.checkin_ticket(event, payload, staff=staff, scan_id=scan_id(), scanned_at=at(minutes), **kw)
            db.session.commit()
            return result

        assert scan(pa, east, 1).ok
        assert scan(pb, east, 5).ok
        assert scan(pc, west, 20).ok
        assert scan(pc, west, 21, list=checkin.session_list(event, s1.id)).ok
        assert scan(pd, west, 50).ok
        assert scan(pb, east, 55).result == checkin.ALREADY  # shown twice at the door
        taken = scan(pd, east, 40, offline=True)  # an offline scan earlier than 丁's check-in takes it over
        assert taken.ok and taken.conflict["resolution"] == "earlier_wins"
        lost = scan(pa, west, 10, offline=True)  # offline, later than 甲's check-in: loses
        assert lost.result == checkin.ALREADY
        assert scan("HELLO", east, 56).result == "malformed"
        host, other_host = host_of(event), host_of(make_event("国网"))
        db.session.commit()
        return {
            "event_id": event.id,
            "base": base,
            "s1": s1.id,
            "s2": s2.id,
            "organiser": organiser.email,
            "east": east.email,
            "host": host.email,
            "other_host": other_host.email,
        }


def test_figures_are_exact(app):  # noqa: ANN001
    world = _scenario(app)
    base = world["base"]
    with app.app_context():
        data = dashboard.snapshot(db.session.get(Event, world["event_id"]))
    assert data["totals"] == {"confirmed": 5, "checked_in": 4, "percent": 80.0, "repeat_scans": 2, "scans": 9, "conflicts": 2}
    orgs = {row["key"]: (row["checked_in"], row["confirmed"]) for row in data["org_types"]}
    assert orgs == {
        "sme": (2, 2),
        "startup": (0, 1),
        "large": (0, 0),
        "university": (1, 1),
        "institute": (0, 0),
        "investor": (1, 1),
        "government": (0, 0),
        "other": (0, 0),
    }
    assert [row["label"] for row in data["org_types"]][:2] == ["中小企业", "初创企业"]
    lists = [(row["name"], row["checked_in"], row["confirmed"], row["percent"]) for row in data["lists"]]
    assert lists == [("全场签到", 4, 5, 80.0), ("开幕式", 1, 2, 50.0), ("路演", 0, 1, 0.0)]
    assert data["lists"][2]["id"] is None  # nobody scanned for 路演 yet: no list, still shown
    gates = [(g["label"], g["checkins"], g["people"], g["bar"]) for g in data["gates"]]
    assert gates == [("东门", 3, 3, 100.0), ("西门", 2, 1, 66.7)]
    buckets = [(b["start"], b["checkins"]) for b in data["buckets"]]
    iso = lambda minutes: format_local(base + timedelta(minutes=minutes), "%Y-%m-%dT%H:%M:%S+08:00")  # noqa: E731
    # 甲 +1, 乙 +5 | 丙 +20 (全场) and +21 (开幕式) | 丁 moved from +50 to +40 by the earlier offline scan
    assert buckets == [(iso(0), 2), (iso(15), 2), (iso(30), 1)]
    assert data["buckets"][0]["label"] == f"{format_local(base, '%m-%d %H:%M')}–{format_local(base + timedelta(minutes=15), '%H:%M')}"
    assert [s["result"] for s in data["scans"]] == ["malformed", "already", "ok", "already", "superseded", "ok", "ok", "ok", "ok"]
    assert data["scans"][1]["offline"] and data["scans"][1]["name"] == "甲" and data["scans"][1]["gate"] == "西门"
    conflicts = {c["name"]: c for c in data["conflicts"]}
    assert set(conflicts) == {"甲", "丁"}
    assert conflicts["丁"]["kind"] == "superseded" and conflicts["丁"]["gate"] == "西门"
    assert conflicts["丁"]["kept"]["gate"] == "东门" and conflicts["丁"]["kept"]["at"] == iso(40)
    assert conflicts["甲"]["kind"] == "double" and conflicts["甲"]["kept"]["gate"] == "东门"


def test_json_endpoint_and_page_permissions(app, client):  # noqa: ANN001
    world = _scenario(app)
    eid = world["event_id"]
    login(client, world["host"])  # the event's own host
    page = client.get(f"/events/{eid}/checkin/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="total-checked-in">4<' in html and "东门" in html and "js/checkin_dashboard.js" in html
    data = client.get(f"/events/{eid}/checkin/dashboard.json")
    assert data.status_code == 200 and data.headers["Cache-Control"] == "no-store"
    body = data.get_json()
    assert body["totals"]["checked_in"] == 4 and body["generated_at"].endswith("+08:00")
    client.post("/logout")

    login(client, world["other_host"])
    for url in (f"/events/{eid}/checkin/dashboard", f"/events/{eid}/checkin/dashboard.json", f"/events/{eid}/checkin/attendance.xlsx"):
        assert client.get(url).status_code == 404, url
    client.post("/logout")
    login(client, world["east"])  # check-in staff: not the dashboard
    assert client.get(f"/events/{eid}/checkin/dashboard.json").status_code == 403
    client.post("/logout")
    login(client, world["organiser"])
    assert client.get(f"/events/{eid}/checkin/dashboard.json").get_json()["totals"]["confirmed"] == 5


def test_attendance_xlsx(app, client):  # noqa: ANN001
    world = _scenario(app)
    eid = world["event_id"]
    login(client, world["organiser"])
    response = client.get(f"/events/{eid}/checkin/attendance.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("报名编号", "姓名", "单位") and rows[0][8] == "是否签到"
    people = {row[1]: row for row in rows[1:]}
    assert set(people) == {"甲", "乙", "丙", "丁", "戊"}  # confirmed only
    base = world["base"]
    assert people["甲"][8] == "是" and people["甲"][9] == format_local(base + timedelta(minutes=1), "%Y-%m-%d %H:%M:%S") and people["甲"][10] == "东门"
    assert people["丁"][9] == format_local(base + timedelta(minutes=40), "%Y-%m-%d %H:%M:%S") and people["丁"][10] == "东门"
    assert people["丙"][12] == "全场签到" and people["丙"][13] == 2 and people["丙"][7] == "开幕式"
    assert people["戊"][8] == "否" and people["戊"][9] in (None, "") and people["戊"][3] == "初创企业"
    assert people["甲"][5].startswith("138")  # full contact data: hence the audit row
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "checkin.attendance_export"))
        assert entry is not None and entry.after == {"rows": 5, "checked_in": 4}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_dashboard_refreshes_itself_in_chromium(live_server, page):  # noqa: ANN001
    app, url = live_server
    with app.app_context():
        event = make_event("华润")
        make_plan(event)
        organiser, staff = make_user(Role.ORGANISER), make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="南门", actor=organiser)
        _r, payload = ticketed(event, name="王五", organisation="南门测试有限公司")
        ticketed(event, name="赵六")
        db.session.commit()
        eid, email, staff_id = event.id, organiser.email, staff.id
    browser_login(page, url, email)
    page.goto(f"{url}/events/{eid}/checkin/dashboard")
    expect(page.locator("#total-checked-in")).to_have_text("0")
    expect(page.locator("#total-confirmed")).to_have_text("2")
    page.evaluate("() => { window.__noReload = true; }")
    with app.app_context():
        result = checkin.checkin_ticket(db.session.get(Event, eid), payload, staff=db.session.get(User, staff_id), scan_id=scan_id())
        db.session.commit()
        assert result.ok
    expect(page.locator("#total-checked-in")).to_have_text("1", timeout=15_000)
    expect(page.locator("#scans-body")).to_contain_text("王五")
    expect(page.locator("#gates-body")).to_contain_text("南门")
    expect(page.locator("#total-percent")).to_have_text("50.0")
    assert page.evaluate("() => window.__noReload") is True  # the same page, not reloaded
