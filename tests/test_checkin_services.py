"""Check-in services: staff and lists, API tokens, one winner per ticket under real concurrency, offline merge."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.checkin import services as checkin
from eventhub.checkin.models import ApiToken, Checkin, CheckinList, CheckinScan
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event, EventSession
from eventhub.extensions import db
from eventhub.registration import tickets
from eventhub.registration.models import OrgType, Registration, RegistrationStatus
from tests.event_helpers import add_session, make_event, make_plan
from tests.factories import make_user

_n = iter(range(10_000_000))


def make_registration(
    event: Event, *, status: RegistrationStatus = RegistrationStatus.CONFIRMED, sessions: list[int] | None = None, **kw: object
) -> Registration:
    """A registration row as the registration service would leave it (no form, no quota)."""
    n = next(_n)
    registration = Registration(
        event_id=event.id,
        name=kw.pop("name", f"参会人{n}"),
        organisation=kw.pop("organisation", f"测试科技有限公司{n}"),
        org_type=kw.pop("org_type", OrgType.SME.value),
        mobile=kw.pop("mobile", f"138{n:08d}"),
        email=kw.pop("email", f"p{n}@example.com"),
        session_ids=sessions or [],
        status=status.value,
        confirmed_at=utcnow() if status is RegistrationStatus.CONFIRMED else None,
        token_hash=secrets.token_hex(32),
        **kw,
    )
    db.session.add(registration)
    db.session.flush()
    return registration


def ticketed(event: Event, **kw: object) -> tuple[Registration, str]:
    """A confirmed registration with its ticket; returns the registration and the QR payload."""
    registration = make_registration(event, **kw)
    ticket = tickets.issue_ticket(registration)
    return registration, tickets.ticket_payload(ticket)


def scan_id() -> str:
    return secrets.token_hex(8)


@pytest.fixture
def setup(app):  # noqa: ANN001, ANN201
    """An event with one session, an organiser, an assigned check-in user and one ticket."""
    with app.app_context():
        event = make_event("华润")
        plan = make_plan(event)
        session = add_session(plan, "开幕式")
        organiser = make_user(Role.ORGANISER)
        staff = make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="东门", actor=organiser)
        registration, payload = ticketed(event, name="张三", organisation="华润测试有限公司", sessions=[session.id])
        db.session.commit()
        yield {
            "event_id": event.id,
            "session_id": session.id,
            "organiser_id": organiser.id,
            "staff_id": staff.id,
            "payload": payload,
            "registration_id": registration.id,
        }


def test_staff_assignment_rules(app, setup):  # noqa: ANN001
    with app.app_context():
        event = db.session.get(Event, setup["event_id"])
        organiser = db.session.get(User, setup["organiser_id"])
        staff = db.session.get(User, setup["staff_id"])
        assert checkin.is_staff(staff, event)
        assert checkin.can_scan(staff, event)
        assert checkin.can_scan(organiser, event)  # organisers scan every event
        assert not checkin.is_staff(organiser, event)

        host = make_user(Role.HOST)
        with pytest.raises(checkin.CheckinError):
            checkin.assign_staff(event, host, actor=organiser)
        assert not checkin.can_scan(host, event)

        # The whole-event list exists once, however often it is asked for.
        first = checkin.default_list(event)
        assert checkin.default_list(event).id == first.id
        assert db.session.scalar(select(func.count()).select_from(CheckinList).where(CheckinList.event_id == event.id, CheckinList.session_id.is_(None))) == 1
        lst = checkin.session_list(event, setup["session_id"])
        assert lst.session_id == setup["session_id"] and checkin.session_list(event, setup["session_id"]).id == lst.id

        other = make_event("国网")
        other_session = add_session(make_plan(other), "路演")
        with pytest.raises(checkin.CheckinError):
            checkin.session_list(event, other_session.id)
        with pytest.raises(checkin.CheckinError):
            checkin.assign_staff(event, staff, list=checkin.default_list(other), actor=organiser)

        # Re-assigning moves the staff member to the session list and gate; unassigning removes them.
        checkin.assign_staff(event, staff, list=lst, gate="二号厅", actor=organiser)
        assignment = checkin.staff_assignment(staff, event)
        assert (assignment.list_id, assignment.gate) == (lst.id, "二号厅")
        assert checkin.unassign(event, staff, actor=organiser)
        assert not checkin.unassign(event, staff, actor=organiser)
        assert not checkin.is_staff(staff, event) and not checkin.can_scan(staff, event)
        db.session.commit()
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("checkin_staff.%")).order_by(AuditLog.id)))
        assert actions == ["checkin_staff.assign", "checkin_staff.assign", "checkin_staff.unassign"]


def test_api_tokens(app, setup):  # noqa: ANN001
    with app.app_context():
        staff = db.session.get(User, setup["staff_id"])
        token = checkin.create_token(staff, "一号扫码枪")
        db.session.commit()
        row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id))
        assert token not in row.token_hash and len(row.token_hash) == 64  # only the SHA-256 is stored
        assert row.last_used_at is None

        assert checkin.user_for_bearer(f"Bearer {token}").id == staff.id
        assert checkin.user_for_bearer(f"bearer   {token}  ").id == staff.id
        db.session.commit()
        assert db.session.get(ApiToken, row.id).last_used_at is not None
        for header in (None, "", token, f"Basic {token}", f"Bearer {token}x", "Bearer ", "Bearer " + "x" * 500):
            assert checkin.user_for_bearer(header) is None, header

        staff.active = False
        assert checkin.user_for_bearer(f"Bearer {token}") is None
        staff.active = True
        checkin.revoke_token(db.session.get(ApiToken, row.id), actor=staff)
        db.session.commit()
        assert checkin.user_for_bearer(f"Bearer {token}") is None


def test_checkin_ok_already_and_idempotent_resend(app, setup):  # noqa: ANN001
    with app.app_context():
        event = db.session.get(Event, setup["event_id"])
        staff = db.session.get(User, setup["staff_id"])
        first = checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id="scan-1")
        db.session.commit()
        assert first.result == "ok" and first.name == "张三" and first.organisation == "华润测试有限公司"
        assert first.list_id == checkin.default_list(event).id

        # Lower case with a trailing Enter (a hand-held scanner with Caps Lock) is the same ticket.
        second = checkin.checkin_ticket(event, setup["payload"].lower() + "\r\n", staff=staff, scan_id="scan-2", gate="西门")
        db.session.commit()
        assert second.result == "already"
        assert (second.first_at, second.first_gate, second.first_staff) == (first.checked_in_at, "东门", staff.name)

        again = checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id="scan-1")
        db.session.commit()
        assert again.result == "ok" and again.replayed and again.checked_in_at == first.checked_in_at
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 2
        assert [s.result for s in db.session.scalars(select(CheckinScan).order_by(CheckinScan.id))] == ["ok", "already"]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "checkin.ok")) == 1


def test_session_list_and_wrong_session(app, setup):  # noqa: ANN001
    with app.app_context():
        event = db.session.get(Event, setup["event_id"])
        staff = db.session.get(User, setup["staff_id"])
        other_session = add_session(db.session.get(EventSession, setup["session_id"]).plan, "闭门对接")
        opening = checkin.session_list(event, setup["session_id"])
        closed = checkin.session_list(event, other_session.id)
        assert checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id=scan_id(), list=closed).result == "wrong_session"
        assert checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id=scan_id(), list=opening).result == "ok"
        # Lists are independent: the whole-event list still admits the same ticket once.
        assert checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id=scan_id()).result == "ok"
        assert checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id=scan_id(), list=opening).result == "already"
        db.session.commit()


def _concurrent(app, event_id: int, staff_id: int, payload: str, count: int = 50) -> list[str]:  # noqa: ANN001
    """``count`` threads, each with its own app context (own session and connection), released at once."""
    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            with app.app_context():
                event = db.session.get(Event, event_id)
                staff = db.session.get(User, staff_id)
                barrier.wait(timeout=30)
                result = checkin.checkin_ticket(event, payload, staff=staff, scan_id=f"thread-{i}", gate=f"门{i}")
                db.session.commit()
                with lock:
                    results.append(result.result)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            with lock:
                errors.append(exc)
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
    return results


def concurrent_app(make_app):  # noqa: ANN001, ANN201
    """A second app on the same database whose pool holds a connection for each of 50 threads."""
    return make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 55, "max_overflow": 5, "pool_timeout": 60})


def test_fifty_concurrent_checkins_of_one_ticket(app, make_app, setup):  # noqa: ANN001
    results = _concurrent(concurrent_app(make_app), setup["event_id"], setup["staff_id"], setup["payload"])
    assert sorted(results).count("ok") == 1
    assert results.count("already") == 49
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 50
        winner = db.session.scalar(select(Checkin))
        ok_scan = db.session.scalar(select(CheckinScan).where(CheckinScan.result == "ok"))
        assert winner.scan_id == ok_scan.scan_id


def test_offline_sync_earliest_scan_wins(app, setup):  # noqa: ANN001
    with app.app_context():
        event = db.session.get(Event, setup["event_id"])
        staff = db.session.get(User, setup["staff_id"])
        organiser = db.session.get(User, setup["organiser_id"])
        offline_staff = make_user(Role.CHECKIN)
        checkin.assign_staff(event, offline_staff, gate="北门", actor=organiser)
        _reg2, payload2 = ticketed(event, name="李四")
        db.session.commit()

        now = utcnow()
        # Online at the east gate at "now"; the north gate's phone had scanned the same ticket 10 minutes earlier, offline.
        live = checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id="live-1")
        db.session.commit()
        assert live.result == "ok"
        early = now - timedelta(minutes=10)
        outcome = checkin.sync_offline(
            event,
            [
                {"scan_id": "off-2", "payload": payload2, "scanned_at": (now - timedelta(minutes=5)).isoformat(), "gate": "北门"},
                {"scan_id": "off-1", "payload": setup["payload"], "scanned_at": early.isoformat()},
                {"scan_id": "off-3", "payload": payload2, "scanned_at": (now - timedelta(minutes=4)).isoformat()},  # double scan on the phone
                {"scan_id": "off-4", "payload": "EH1.XXXX.1.ABC", "scanned_at": now.isoformat()},
            ],
            offline_staff,
        )
        by_id = {r.scan_id: r for r in outcome.results}
        assert [r.scan_id for r in outcome.results] == ["off-1", "off-2", "off-3", "off-4"]  # merged oldest first
        assert by_id["off-1"].result == "ok" and by_id["off-1"].conflict["resolution"] == "earlier_wins"
        assert by_id["off-1"].conflict["replaced"]["scan_id"] == "live-1"
        assert by_id["off-2"].result == "ok" and by_id["off-2"].conflict is None
        assert by_id["off-3"].result == "already" and by_id["off-3"].conflict["resolution"] == "kept_earlier"
        assert by_id["off-4"].result == "malformed"
        assert [c["scan_id"] for c in outcome.conflicts] == ["off-1", "off-3"]

        db.session.expire_all()
        first = db.session.scalar(select(Checkin).join(CheckinScan, CheckinScan.scan_id == Checkin.scan_id).where(CheckinScan.scan_id == "off-1"))
        assert first.checked_in_at == early.replace(microsecond=early.microsecond)  # the earlier scan's time, gate (the staff's) and staff
        assert (first.gate, first.staff_id) == ("北门", offline_staff.id)
        # The organiser sees the displaced scan in the scans table.
        assert db.session.scalar(select(CheckinScan.result).where(CheckinScan.scan_id == "live-1")) == "superseded"
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "checkin.conflict")) == 1

        # A later online scan of the same ticket now reports the earlier (offline) check-in.
        late = checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id="live-2")
        assert (late.result, late.first_gate, late.first_staff) == ("already", "北门", offline_staff.name)

        # Sending the batch again (the phone did not get the answer) changes nothing.
        again = checkin.sync_offline(event, [{"scan_id": "off-1", "payload": setup["payload"], "scanned_at": early.isoformat()}], offline_staff)
        assert again.results[0].replayed and again.results[0].result == "ok" and again.conflicts == []
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 2


def test_offline_scan_time_in_the_future_is_clamped(app, setup):  # noqa: ANN001
    with app.app_context():
        event = db.session.get(Event, setup["event_id"])
        staff = db.session.get(User, setup["staff_id"])
        result = checkin.checkin_ticket(event, setup["payload"], staff=staff, scan_id="x", scanned_at=utcnow() + timedelta(days=1), offline=True)
        assert result.checked_in_at <= utcnow()
        with pytest.raises(checkin.CheckinError):
            checkin.sync_offline(event, [{"scan_id": "", "payload": setup["payload"], "scanned_at": utcnow().isoformat()}], staff)
        with pytest.raises(checkin.CheckinError):
            checkin.sync_offline(event, [{"scan_id": "y", "payload": setup["payload"], "scanned_at": "yesterday"}], staff)


def test_whole_event_list_created_once_under_concurrency(app, make_app):  # noqa: ANN001
    """session_id NULL escapes unique constraints: the lock in default_list must hold on both databases."""
    with app.app_context():
        event_id = make_event("中粮").id
        db.session.commit()
    threaded = concurrent_app(make_app)
    barrier = threading.Barrier(8)
    ids: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with threaded.app_context():
                event = db.session.get(Event, event_id)
                barrier.wait(timeout=30)
                ids.append(checkin.default_list(event).id)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
    assert len(set(ids)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckinList).where(CheckinList.event_id == event_id)) == 1
