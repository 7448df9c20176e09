"""Manual check-in by ticket code (the scanner page's search by name): judged like a scan but
without a signature, the same answers and reasons, idempotent per scan id, recorded as
``manual:CODE`` — online and through the offline sync — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from eventhub.checkin.models import Checkin, CheckinScan
from eventhub.core.audit import AuditLog
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import tickets
from eventhub.registration.models import RegistrationStatus
from tests.test_api_checkins import bearer, world  # noqa: F401  (the fixture)
from tests.test_checkin_services import ticketed


def code_of(payload: str) -> str:
    return payload.split(".")[3]


def manual(client, world, code: str, scan_id: str, token: str | None = None, **extra: object):  # noqa: ANN001, ANN201, F811
    return client.post(
        f"/api/v1/events/{world['event_id']}/checkins",
        json={"ticket": code, "manual": True, "scan_id": scan_id, **extra},
        headers=bearer(token or world["token"]),
    )


def test_manual_ok_already_and_idempotent(app, client, world):  # noqa: ANN001, F811
    code = code_of(world["payload"])
    response = manual(client, world, code.lower(), "m1")  # typed in lower case: the same code
    assert response.status_code == 201, response.json
    assert response.json["result"] == "ok" and response.json["name"] == "张三" and response.json["ticket"] == code

    replay = manual(client, world, code, "m1")
    assert replay.status_code == 201 and replay.json["replayed"] is True and replay.json["checked_in_at"] == response.json["checked_in_at"]

    again = manual(client, world, code, "m2", gate="西门")
    assert again.status_code == 200 and again.json["result"] == "already"
    assert again.json["first"]["gate"] == "东门" and again.json["first"]["at"] == response.json["checked_in_at"]

    # A scanned QR of the same ticket afterwards is "already" too: one check-in per ticket and list.
    scanned = client.post(f"/api/v1/events/{world['event_id']}/checkins", json={"payload": world["payload"], "scan_id": "q1"}, headers=bearer(world["token"]))
    assert scanned.status_code == 200 and scanned.json["result"] == "already"

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        scans = dict(db.session.execute(select(CheckinScan.scan_id, CheckinScan.payload)).all())
        assert scans["m1"] == f"manual:{code}" and scans["m2"] == f"manual:{code}" and scans["q1"] == world["payload"]
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "checkin.ok"))
        assert audit.after["manual"] is True and audit.after["scan_id"] == "m1"


def test_manual_refusals(app, client, world):  # noqa: ANN001, F811
    with app.app_context():
        event = db.session.get(Event, world["event_id"])
        cancelled, cancelled_payload = ticketed(event, name="李四")
        cancelled.status = RegistrationStatus.CANCELLED.value
        tickets.revoke_ticket(cancelled.ticket, "cancelled")
        pending, pending_payload = ticketed(event, name="王五")
        pending.status = RegistrationStatus.PENDING.value
        db.session.commit()

    cases = {
        "cancelled": code_of(cancelled_payload),
        "not_approved": code_of(pending_payload),
        "not_found": "ZZZZZZZZZZ",
        "malformed": "not a code",
    }
    for reason, code in cases.items():
        response = manual(client, world, code, f"m-{reason}")
        assert (response.status_code, response.json.get("reason")) == (422, reason), (reason, response.json)
    assert manual(client, world, cases["cancelled"], "m-x").json["name"] == "李四"  # staff can tell the person why

    # Another event's ticket code is not this event's ticket: not found (no signature to tell "other event").
    other = manual(client, world, code_of(world["other_payload"]), "m-other")
    assert (other.status_code, other.json["reason"]) == (422, "not_found")
    wrong = manual(client, world, code_of(world["payload"]), "m-wrong", list_id=world["closed_list"])
    assert (wrong.status_code, wrong.json["reason"]) == (422, "wrong_session")

    # A check-in user of another event may not check anyone in here, manual or not.
    stranger = manual(client, world, code_of(world["payload"]), "m-stranger", token=world["stranger_token"])
    assert (stranger.status_code, stranger.json["reason"]) == (403, "not_staff")
    # "manual" must be exactly true, and needs a ticket code.
    url = f"/api/v1/events/{world['event_id']}/checkins"
    for body in ({"manual": True, "scan_id": "a"}, {"manual": True, "ticket": 5, "scan_id": "a"}, {"manual": "yes", "ticket": "AAAAAAAAAA", "scan_id": "a"}):
        response = client.post(url, json=body, headers=bearer(world["token"]))
        assert (response.status_code, response.json["reason"]) == (400, "invalid_request"), body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 0
        assert db.session.scalar(select(CheckinScan.result).where(CheckinScan.scan_id == "m-stranger")) is None  # refused requests record nothing


def test_manual_scans_recorded_offline_sync(app, client, world):  # noqa: ANN001, F811
    code = code_of(world["payload"])
    now = utcnow()
    later = client.post(f"/api/v1/events/{world['event_id']}/checkins", json={"payload": world["payload"], "scan_id": "live"}, headers=bearer(world["token"]))
    assert later.status_code == 201
    body = {
        "scans": [
            {"scan_id": "off-1", "ticket": code, "manual": True, "scanned_at": (now - timedelta(minutes=5)).isoformat(), "gate": "南门"},
            {"scan_id": "off-2", "ticket": "ZZZZZZZZZZ", "manual": True, "scanned_at": (now - timedelta(minutes=4)).isoformat()},
        ]
    }
    response = client.post(f"/api/v1/events/{world['event_id']}/checkins/sync", json=body, headers=bearer(world["token"]))
    assert response.status_code == 200, response.json
    results = {r["scan_id"]: r for r in response.json["results"]}
    assert results["off-1"]["status"] == 201 and results["off-1"]["conflict"]["resolution"] == "earlier_wins"  # the earlier manual scan wins
    assert results["off-2"]["status"] == 422 and results["off-2"]["reason"] == "not_found"
    assert [c["scan_id"] for c in response.json["conflicts"]] == ["off-1"]
    again = client.post(f"/api/v1/events/{world['event_id']}/checkins/sync", json=body, headers=bearer(world["token"]))
    assert all(r["replayed"] for r in again.json["results"])  # resending the batch changes nothing
    with app.app_context():
        row = db.session.scalar(select(Checkin))
        assert (row.scan_id, row.gate) == ("off-1", "南门")
        assert db.session.scalar(select(CheckinScan.payload).where(CheckinScan.scan_id == "off-1")) == f"manual:{code}"
        assert db.session.scalar(select(CheckinScan.offline).where(CheckinScan.scan_id == "off-1")) is True
