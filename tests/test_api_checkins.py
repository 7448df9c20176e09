"""The scanners' JSON API: every reason code, bearer-token authentication, staff of another event,
idempotent resend, offline sync, keys, revocations since a cursor, roster, and 50 concurrent
check-ins of one ticket through a real threaded server — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.checkin import services as checkin
from eventhub.checkin.models import Checkin, CheckinScan
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import tickets
from eventhub.registration.models import Registration, RegistrationStatus, Ticket
from tests.event_helpers import add_session, make_event, make_plan
from tests.factories import make_user
from tests.test_checkin_services import concurrent_app, ticketed


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app):  # noqa: ANN001, ANN201
    """Two events; a check-in user of the first (with a token), one of the second, a host; tickets."""
    with app.app_context():
        event = make_event("华润")
        plan = make_plan(event)
        opening, closed = add_session(plan, "开幕式"), add_session(plan, "闭门对接", start="10:00", end="11:00")
        organiser = make_user(Role.ORGANISER)
        staff, stranger = make_user(Role.CHECKIN), make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="东门", actor=organiser)
        other = make_event("国网")
        checkin.assign_staff(other, stranger, actor=organiser)
        host = make_user(Role.HOST, base=event.host_base)
        registration, payload = ticketed(event, name="张三", organisation="华润测试有限公司", mobile="13812345678", sessions=[opening.id])
        _other_reg, other_payload = ticketed(other)
        data = {
            "event_id": event.id,
            "other_event_id": other.id,
            "opening_list": checkin.session_list(event, opening.id).id,
            "closed_list": checkin.session_list(event, closed.id).id,
            "staff_id": staff.id,
            "token": checkin.create_token(staff, "一号机"),
            "stranger_token": checkin.create_token(stranger, "国网"),
            "host_token": checkin.create_token(host, "host"),
            "organiser_token": checkin.create_token(organiser, "organiser"),
            "payload": payload,
            "other_payload": other_payload,
            "registration_id": registration.id,
        }
        db.session.commit()
        return data


def post_checkin(client, world, payload: str, scan_id: str, token: str | None = None, **extra: object):  # noqa: ANN001, ANN201
    return client.post(
        f"/api/v1/events/{world['event_id']}/checkins", json={"payload": payload, "scan_id": scan_id, **extra}, headers=bearer(token or world["token"])
    )


def test_ok_already_and_idempotent_resend(client, world):  # noqa: ANN001
    response = post_checkin(client, world, world["payload"], "s1")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["result"] == "ok" and body["name"] == "张三" and body["organisation"] == "华润测试有限公司"
    assert body["checked_in_at"].endswith("+08:00") and body["ticket"] == world["payload"].split(".")[3]

    again = post_checkin(client, world, world["payload"], "s1")
    assert again.status_code == 201 and again.json["replayed"] is True and again.json["checked_in_at"] == body["checked_in_at"]

    already = post_checkin(client, world, world["payload"], "s2", gate="西门")
    assert already.status_code == 200, already.json
    first = already.json["first"]
    assert already.json["result"] == "already" and first["at"] == body["checked_in_at"] and first["gate"] == "东门" and first["staff"]
    replay = post_checkin(client, world, world["payload"], "s2")
    assert replay.status_code == 200 and replay.json["replayed"] and replay.json["first"] == first


def _sign(event_id: int, code: str) -> str:
    """A validly signed payload for a code the server never issued."""
    key = tickets.active_key(db.session.get(Event, event_id))
    message = tickets.signed_message(key.kid, event_id, code)
    return f"{message}.{tickets.b32encode(tickets._private_key(key).sign(message.encode('ascii')))}"


def _flip(payload: str) -> str:
    """The same payload with one signature character changed (still canonical base32)."""
    i = len(payload) - 20
    return payload[:i] + ("B" if payload[i] != "B" else "C") + payload[i + 1 :]


def test_every_reason_code(app, client, world):  # noqa: ANN001
    with app.app_context():
        event = db.session.get(Event, world["event_id"])
        kid = world["payload"].split(".")[1]
        unknown_kid = "AAAA" if kid != "AAAA" else "BBBB"
        cases: dict[str, str] = {
            "malformed": "hello world",
            "unsupported_version": "EH2." + world["payload"][4:],
            "unknown_key": world["payload"].replace(f".{kid}.", f".{unknown_kid}.", 1),
            "invalid_signature": _flip(world["payload"]),
            "other_event": world["other_payload"],
            "not_found": _sign(event.id, "ZZZZZZZZZZ"),
        }
        _r, cases["revoked"] = ticketed(event)  # re-issued under a new code: the old QR is revoked
        revoked_reg = db.session.scalar(select(Registration).order_by(Registration.id.desc()))
        tickets.revoke_ticket(revoked_reg.ticket, "key_revoked")
        cancelled, cases["cancelled"] = ticketed(event)
        cancelled.status = RegistrationStatus.CANCELLED.value
        tickets.revoke_ticket(cancelled.ticket, "cancelled")
        pending, cases["not_approved"] = ticketed(event)
        pending.status = RegistrationStatus.PENDING.value
        db.session.commit()

    for reason, payload in cases.items():
        response = post_checkin(client, world, payload, f"scan-{reason}")
        assert response.status_code == 422, (reason, response.json)
        assert response.json["result"] == "refused" and response.json["reason"] == reason, (reason, response.json)
    assert post_checkin(client, world, cases["cancelled"], "x1").json["name"]  # a known person: staff can say why

    wrong = post_checkin(client, world, world["payload"], "scan-wrong-session", list_id=world["closed_list"])
    assert (wrong.status_code, wrong.json["reason"]) == (422, "wrong_session")
    right = post_checkin(client, world, world["payload"], "scan-session", list_id=world["opening_list"])
    assert right.status_code == 201 and right.json["list_id"] == world["opening_list"]

    with app.app_context():
        results = dict(db.session.execute(select(CheckinScan.scan_id, CheckinScan.result)).all())
        assert results[f"scan-{reason}"] == reason  # every scan is recorded with its result
        assert results["scan-wrong-session"] == "wrong_session" and results["scan-session"] == "ok"

    # Requests the API cannot read.
    assert post_checkin(client, world, world["payload"], "s", list_id=world["closed_list"] + 999).json["reason"] == "invalid_list"
    url = f"/api/v1/events/{world['event_id']}/checkins"
    for body in (None, {"payload": world["payload"]}, {"scan_id": "a"}, {"payload": 1, "scan_id": "a"}, {"payload": "x", "scan_id": "a" * 65}):
        response = (
            client.post(url, json=body, headers=bearer(world["token"])) if body is not None else client.post(url, data="x", headers=bearer(world["token"]))
        )
        assert (response.status_code, response.json["reason"]) == (400, "invalid_request"), body
    # A scan id used for another event cannot be replayed here.
    other = client.post(
        f"/api/v1/events/{world['other_event_id']}/checkins",
        json={"payload": world["other_payload"], "scan_id": "s-shared"},
        headers=bearer(world["organiser_token"]),
    )
    assert other.status_code == 201
    assert post_checkin(client, world, world["payload"], "s-shared").status_code == 409


def test_authentication_and_staff(app, client, world):  # noqa: ANN001
    url = f"/api/v1/events/{world['event_id']}/checkins"
    body = {"payload": world["payload"], "scan_id": "auth"}
    for headers, reason in (({}, "missing_token"), (bearer("eh_wrong"), "invalid_token"), ({"Authorization": f"Basic {world['token']}"}, "invalid_token")):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 401 and response.json["reason"] == reason, response.json
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Location" not in response.headers  # never the HTML log-in page

    for path in ("keys", "revocations", "roster"):
        assert client.get(f"/api/v1/events/{world['event_id']}/{path}").status_code == 401
        stranger = client.get(f"/api/v1/events/{world['event_id']}/{path}", headers=bearer(world["stranger_token"]))
        assert (stranger.status_code, stranger.json["reason"]) == (403, "not_staff")
    assert client.post(f"{url}/sync", json={"scans": []}).status_code == 401

    refused = client.post(url, json=body, headers=bearer(world["stranger_token"]))  # check-in user of another event
    assert (refused.status_code, refused.json["reason"]) == (403, "not_staff")
    host = client.post(url, json=body, headers=bearer(world["host_token"]))  # the host itself does not scan
    assert (host.status_code, host.json["reason"]) == (403, "not_staff")
    assert client.post("/api/v1/events/999999/checkins", json=body, headers=bearer(world["token"])).json["reason"] == "event_not_found"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 0  # refused requests record nothing

    # Revoking the token (or unassigning its user) closes the door.
    assert client.post(url, json=body, headers=bearer(world["token"])).status_code == 201
    with app.app_context():
        from eventhub.checkin.models import ApiToken

        staff = db.session.get(User, world["staff_id"])
        assert db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == staff.id)) is not None
        checkin.revoke_token(db.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id)), actor=staff)
        db.session.commit()
    response = client.post(url, json={**body, "scan_id": "after-revoke"}, headers=bearer(world["token"]))
    assert (response.status_code, response.json["reason"]) == (401, "invalid_token")
    # Organisers may scan any event.
    assert client.post(url, json={**body, "scan_id": "org"}, headers=bearer(world["organiser_token"])).status_code == 200


def test_offline_sync_conflict_through_the_api(app, client, world):  # noqa: ANN001
    now = utcnow()
    live = post_checkin(client, world, world["payload"], "live-1")
    assert live.status_code == 201
    sync_url = f"/api/v1/events/{world['event_id']}/checkins/sync"
    batch = {
        "scans": [
            {"scan_id": "off-1", "payload": world["payload"], "scanned_at": (now - timedelta(minutes=10)).isoformat(), "gate": "北门"},
            {"scan_id": "off-2", "payload": world["payload"], "scanned_at": (now - timedelta(minutes=9)).isoformat(), "gate": "北门"},
            {"scan_id": "off-3", "payload": world["other_payload"], "scanned_at": (now - timedelta(minutes=8)).isoformat()},
        ]
    }
    response = client.post(sync_url, json=batch, headers=bearer(world["token"]))
    assert response.status_code == 200, response.json
    results = {r["scan_id"]: r for r in response.json["results"]}
    assert results["off-1"]["status"] == 201 and results["off-1"]["conflict"]["resolution"] == "earlier_wins"
    assert results["off-1"]["conflict"]["replaced"]["scan_id"] == "live-1"
    assert results["off-1"]["checked_in_at"].endswith("+08:00")
    assert results["off-2"]["status"] == 200 and results["off-2"]["first"]["gate"] == "北门"
    assert results["off-3"]["status"] == 422 and results["off-3"]["reason"] == "other_event"
    assert [c["scan_id"] for c in response.json["conflicts"]] == ["off-1", "off-2"]

    # The live scan now answers as the check-in it made, marked superseded; a new scan sees the offline time.
    assert post_checkin(client, world, world["payload"], "live-1").json.get("superseded") is True
    assert post_checkin(client, world, world["payload"], "live-2").json["first"]["at"] == results["off-1"]["checked_in_at"]
    # A resent batch changes nothing.
    resent = client.post(sync_url, json=batch, headers=bearer(world["token"]))
    assert all(r["replayed"] for r in resent.json["results"]) and resent.json["conflicts"] == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(CheckinScan.result).where(CheckinScan.scan_id == "live-1")) == "superseded"

    assert client.post(sync_url, json={"scans": "x"}, headers=bearer(world["token"])).json["reason"] == "invalid_request"
    assert client.post(sync_url, json={"scans": [{"scan_id": "z", "payload": "x"}]}, headers=bearer(world["token"])).json["reason"] == "invalid_request"
    too_many = {"scans": [{"scan_id": str(i), "payload": "x", "scanned_at": now.isoformat()} for i in range(501)]}
    assert client.post(sync_url, json=too_many, headers=bearer(world["token"])).json["reason"] == "batch_too_large"


def test_keys_revocations_and_roster(app, client, world):  # noqa: ANN001
    base = f"/api/v1/events/{world['event_id']}"
    keys = client.get(f"{base}/keys", headers=bearer(world["token"])).json
    kid = world["payload"].split(".")[1]
    assert [k["kid"] for k in keys["keys"]] == [kid] and keys["keys"][0]["public_key"]

    empty = client.get(f"{base}/revocations", headers=bearer(world["token"])).json
    assert empty["revocations"] == [] and empty["cursor"] == 0
    with app.app_context():
        event = db.session.get(Event, world["event_id"])
        first, _p = ticketed(event)
        second, _p = ticketed(event)
        tickets.revoke_ticket(first.ticket, "cancelled")
        db.session.commit()
        first_code, second_id = first.ticket.code, second.id
    page = client.get(f"{base}/revocations?since=0", headers=bearer(world["token"])).json
    assert [r["ticket"] for r in page["revocations"]] == [first_code] and page["revocations"][0]["revoked_at"].endswith("+08:00")
    cursor = page["cursor"]
    with app.app_context():
        second = db.session.get(Registration, second_id)
        tickets.revoke_ticket(second.ticket, "declined")
        db.session.commit()
        second_code = second.ticket.code
    later = client.get(f"{base}/revocations?since={cursor}", headers=bearer(world["token"])).json
    assert [(r["ticket"], r["reason"]) for r in later["revocations"]] == [(second_code, "declined")] and later["cursor"] > cursor
    assert client.get(f"{base}/revocations?since={later['cursor']}", headers=bearer(world["token"])).json["revocations"] == []
    assert client.get(f"{base}/revocations?since=abc", headers=bearer(world["token"])).status_code == 400

    roster = client.get(f"{base}/roster", headers=bearer(world["token"])).json
    people = {t["ticket"]: t for t in roster["tickets"]}
    assert first_code not in people and second_code not in people  # revoked tickets are not shown
    me = people[world["payload"].split(".")[3]]
    assert (me["name"], me["organisation"], me["mobile"]) == ("张三", "华润测试有限公司", "138****5678")
    assert "email" not in me
    assert {lst["id"] for lst in roster["lists"]} >= {world["opening_list"], world["closed_list"]}


def test_fifty_concurrent_checkins_through_a_real_server(make_app, world):  # noqa: ANN001
    from werkzeug.serving import make_server

    app = concurrent_app(make_app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/events/{world['event_id']}/checkins"
    barrier = threading.Barrier(50)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def scan(i: int) -> None:
        request = urllib.request.Request(
            url,
            data=json.dumps({"payload": world["payload"], "scan_id": f"http-{i}", "gate": f"门{i}"}).encode(),
            headers={**bearer(world["token"]), "Content-Type": "application/json"},
            method="POST",
        )
        try:
            barrier.wait(timeout=30)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                    status, body = response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                status, body = exc.code, json.loads(exc.read())
            with lock:
                answers.append((status, body["result"]))
        except BaseException as exc:  # noqa: BLE001
            with lock:
                errors.append(exc)

    try:
        threads = [threading.Thread(target=scan, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    finally:
        server.shutdown()
        thread.join(5)
    assert not errors, errors[:3]
    assert sorted(answers).count((201, "ok")) == 1
    assert answers.count((200, "already")) == 49
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 50
        ticket = db.session.scalar(select(Ticket).where(Ticket.event_id == world["event_id"]))
        assert db.session.scalar(select(Checkin.ticket_id)) == ticket.id
        db.session.remove()
