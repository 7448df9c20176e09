"""The organiser's check-in pages: staff and gates, API tokens, signing keys — through real requests and the real API."""

from __future__ import annotations

import re

from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.checkin import services as checkin
from eventhub.checkin.models import ApiToken, Checkin, CheckinList
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import EventKey, Ticket
from tests.event_helpers import add_session, host_of, make_event, make_plan
from tests.factories import login, make_user
from tests.test_checkin_services import scan_id, ticketed


def _world(app, *, with_staff_user: bool = True) -> dict:  # noqa: ANN001
    with app.app_context():
        event = make_event("华润")
        plan = make_plan(event)
        session = add_session(plan, "开幕式")
        organiser = make_user(Role.ORGANISER)
        staff = make_user(Role.CHECKIN) if with_staff_user else None
        host = host_of(event)
        _registration, payload = ticketed(event, name="张三", organisation="华润测试有限公司", sessions=[session.id])
        db.session.commit()
        return {
            "event_id": event.id,
            "session_id": session.id,
            "organiser": organiser.email,
            "staff": staff.email if staff else None,
            "staff_id": staff.id if staff else None,
            "host": host.email,
            "payload": payload,
        }


def test_pages_refuse_everyone_but_organisers(app, client):  # noqa: ANN001
    world = _world(app)
    eid = world["event_id"]
    login(client, world["host"])
    for url in (f"/events/{eid}/checkin/staff", f"/events/{eid}/checkin/keys"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/events/{eid}/checkin/keys/rotate").status_code == 403
    assert client.get("/checkin/tokens").status_code == 403  # hosts do not scan
    client.post("/logout")

    login(client, world["staff"])
    assert client.get(f"/events/{eid}/checkin/staff").status_code == 403
    assert client.get(f"/events/{eid}/checkin/keys").status_code == 403
    assert client.get("/checkin/tokens").status_code == 200
    client.post("/logout")

    login(client, world["organiser"])
    assert client.get(f"/events/{eid}/checkin/staff").status_code == 200
    assert client.get(f"/events/{eid + 999}/checkin/staff").status_code == 404


def test_empty_state_points_to_the_invitation_page(app, client):  # noqa: ANN001
    world = _world(app, with_staff_user=False)
    login(client, world["organiser"])
    html = client.get(f"/events/{world['event_id']}/checkin/staff").get_data(as_text=True)
    assert 'id="no-checkin-users"' in html and "/users/invite?role=checkin" in html
    assert 'id="no-staff"' in html


def test_assign_with_list_and_gate_token_and_api_honour_the_gate(app, client):  # noqa: ANN001
    world = _world(app)
    eid = world["event_id"]
    login(client, world["organiser"])
    page = client.get(f"/events/{eid}/checkin/staff").get_data(as_text=True)
    assert f'value="s{world["session_id"]}"' in page  # the session is offered as a list

    refused = client.post(f"/events/{eid}/checkin/staff", data={"user_id": "", "list_choice": "", "gate": "东门"})
    assert refused.status_code == 400 and "请选择签到人员" in refused.get_data(as_text=True)
    response = client.post(f"/events/{eid}/checkin/staff", data={"user_id": str(world["staff_id"]), "list_choice": f"s{world['session_id']}", "gate": "东门"})
    assert response.status_code == 302
    html = client.get(f"/events/{eid}/checkin/staff").get_data(as_text=True)
    row = re.search(rf'<tr data-user="{world["staff_id"]}">.*?</tr>', html, re.S).group(0)
    assert "开幕式" in row and "东门" in row
    with app.app_context():
        assignment = checkin.staff_assignment(db.session.get(User, world["staff_id"]), db.session.get(Event, eid))
        session_list = db.session.get(CheckinList, assignment.list_id)
        assert (session_list.session_id, assignment.gate) == (world["session_id"], "东门")
    client.post("/logout")

    # The check-in user creates a token: shown once, only its hash stored.
    login(client, world["staff"])
    created = client.post("/checkin/tokens", data={"name": "东门一号扫码枪"})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token" value="([^"]+)"', created.get_data(as_text=True)).group(1)
    assert token.startswith("eh_")
    again = client.get("/checkin/tokens").get_data(as_text=True)
    assert token not in again and "东门一号扫码枪" in again and "从未使用" in again
    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world["staff_id"]))
        assert row.name == "东门一号扫码枪" and token not in row.token_hash
    client.post("/logout")

    # The scanner device uses it as a bearer token; with no gate sent, the assigned gate and list count.
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    keys = api.get(f"/api/v1/events/{eid}/keys", headers=headers)
    assert keys.status_code == 200 and keys.get_json()["keys"]
    scanned = api.post(f"/api/v1/events/{eid}/checkins", json={"payload": world["payload"], "scan_id": scan_id()}, headers=headers)
    assert scanned.status_code == 201, scanned.get_json()
    with app.app_context():
        done = db.session.scalar(select(Checkin).where(Checkin.event_id == eid))
        assert done.gate == "东门" and done.list_id == session_list.id
        assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == world["staff_id"])).last_used_at is not None

    # The organiser sees the token on the staff page (last used) and revokes it there, with confirmation.
    login(client, world["organiser"])
    html = client.get(f"/events/{eid}/checkin/staff").get_data(as_text=True)
    token_id = int(re.search(r'id="revoke-token-(\d+)"', html).group(1))
    confirm_url = f"/checkin/tokens/{token_id}/revoke?event_id={eid}"
    assert "立即无法签到" in client.get(confirm_url).get_data(as_text=True)
    client.post(confirm_url, data={})  # box not ticked: nothing happens
    assert api.get(f"/api/v1/events/{eid}/keys", headers=headers).status_code == 200
    done = client.post(confirm_url, data={"confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/events/{eid}/checkin/staff")
    refused = api.get(f"/api/v1/events/{eid}/keys", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["reason"] == "invalid_token"


def test_tokens_of_others_are_hidden_from_check_in_users(app, client):  # noqa: ANN001
    world = _world(app)
    with app.app_context():
        other = make_user(Role.CHECKIN)
        checkin.create_token(other, "别人的设备")
        db.session.commit()
        other_token = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == other.id))
    login(client, world["staff"])
    assert "别人的设备" not in client.get("/checkin/tokens").get_data(as_text=True)
    assert client.get(f"/checkin/tokens/{other_token}/revoke").status_code == 404
    assert client.post(f"/checkin/tokens/{other_token}/revoke", data={"confirm": "y"}).status_code == 404
    client.post("/logout")
    login(client, world["organiser"])
    html = client.get("/checkin/tokens").get_data(as_text=True)
    assert 'id="all-tokens"' in html and "别人的设备" in html  # organisers see every token
    assert client.post(f"/checkin/tokens/{other_token}/revoke", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, other_token).revoked_at is not None


def test_unassign_asks_first_and_the_api_then_refuses(app, client):  # noqa: ANN001
    world = _world(app)
    eid = world["event_id"]
    with app.app_context():
        staff = db.session.get(User, world["staff_id"])
        checkin.assign_staff(db.session.get(Event, eid), staff, gate="西门", actor=None)
        token = checkin.create_token(staff, "手机")
        db.session.commit()
    login(client, world["organiser"])
    url = f"/events/{eid}/checkin/staff/{world['staff_id']}/remove"
    page = client.get(url)
    assert page.status_code == 200 and "已完成的签到记录会保留" in page.get_data(as_text=True)
    assert client.post(url, data={}).status_code == 200  # not ticked: still assigned
    with app.app_context():
        assert checkin.is_staff(db.session.get(User, world["staff_id"]), db.session.get(Event, eid))
    assert client.post(url, data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert not checkin.is_staff(db.session.get(User, world["staff_id"]), db.session.get(Event, eid))
        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "checkin_staff.unassign")) is not None
    assert client.get(url).status_code == 404  # nothing left to remove
    response = app.test_client().post(
        f"/api/v1/events/{eid}/checkins", json={"payload": world["payload"], "scan_id": scan_id()}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403 and response.get_json()["reason"] == "not_staff"


def test_rotate_and_revoke_keys_through_the_page(app, client):  # noqa: ANN001
    world = _world(app)
    eid = world["event_id"]
    with app.app_context():
        first = db.session.scalar(select(EventKey).where(EventKey.event_id == eid))
        first_kid, first_id = first.kid, first.id
    login(client, world["organiser"])
    html = client.get(f"/events/{eid}/checkin/keys").get_data(as_text=True)
    assert first_kid in html and "1 张有效" in html

    assert client.post(f"/events/{eid}/checkin/keys/rotate").status_code == 302
    with app.app_context():
        keys = {k.kid: k.status for k in db.session.scalars(select(EventKey).where(EventKey.event_id == eid))}
    assert len(keys) == 2 and keys[first_kid] == "retired"
    assert list(keys.values()).count("active") == 1
    api = app.test_client()
    staff_token = None
    with app.app_context():
        staff_token = checkin.create_token(db.session.get(User, world["staff_id"]), "x")
        checkin.assign_staff(db.session.get(Event, eid), db.session.get(User, world["staff_id"]), actor=None)
        db.session.commit()
    headers = {"Authorization": f"Bearer {staff_token}"}
    # a retired key's ticket still checks in
    ok = api.post(f"/api/v1/events/{eid}/checkins", json={"payload": world["payload"], "scan_id": scan_id()}, headers=headers)
    assert ok.status_code == 201

    url = f"/events/{eid}/checkin/keys/{first_id}/revoke"
    page = client.get(url).get_data(as_text=True)
    assert "不可撤销" in page and "1 张电子票将立即作废" in page
    wrong = client.post(url, data={"kid": "XXXX", "confirm": "y"})
    assert wrong.status_code == 400 and "不一致" in wrong.get_data(as_text=True)
    unticked = client.post(url, data={"kid": first_kid})
    assert unticked.status_code == 400
    with app.app_context():
        assert db.session.get(EventKey, first_id).status == "retired"
    done = client.post(url, data={"kid": first_kid.lower(), "confirm": "y"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(EventKey, first_id).status == "revoked"
        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "event_key.revoke")) is not None
        old_ticket_valid = db.session.scalar(select(Ticket.id).where(Ticket.event_id == eid, Ticket.kid == first_kid, Ticket.revoked_at.is_(None)))
        assert old_ticket_valid is None
    assert "已吊销" in client.get(f"/events/{eid}/checkin/keys").get_data(as_text=True)
    refused = api.post(f"/api/v1/events/{eid}/checkins", json={"payload": world["payload"], "scan_id": scan_id()}, headers=headers)
    assert refused.status_code == 422 and refused.get_json()["reason"] == "revoked"
