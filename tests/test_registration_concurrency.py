"""Registration under real concurrency: threads, each with its own app context, session and connection.

On SQLite and PostgreSQL alike: capacity is never exceeded, the waiting list keeps arrival order,
the same mobile cannot register twice at the same moment, promotions on simultaneous cancellations
are each given once — and no request fails with "database is locked".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from eventhub.core.mail import MailMessage
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import services as rs
from eventhub.registration.models import Registration, RegistrationQuota, Ticket
from tests.concurrency import run_concurrently
from tests.test_registration_services import person, reg_event

POOL = {"pool_size": 30, "max_overflow": 20, "pool_timeout": 60, "pool_pre_ping": True}


def registrar(event_id: int, data: dict[str, Any]) -> Callable[[], Any]:
    def job() -> Any:
        registration, _token = rs.register(db.session.get(Event, event_id), data)
        return registration.id, registration.status

    return job


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_200_concurrent_registrations_for_50_places(make_app):  # noqa: ANN001
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)
    with app.app_context():
        ids = reg_event(capacity=50)
    results, errors = run_concurrently(app, [registrar(ids["event_id"], person(n)) for n in range(200)], expected=(rs.RegistrationError,))
    assert errors == []
    assert not [r for r in results if isinstance(r, rs.RegistrationError)]
    with app.app_context():
        rows = list(db.session.scalars(select(Registration).where(Registration.event_id == ids["event_id"])))
        confirmed = [r for r in rows if r.status == "confirmed"]
        waitlisted = [r for r in rows if r.status == "waitlisted"]
        assert (len(rows), len(confirmed), len(waitlisted)) == (200, 50, 150)
        tickets = db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.event_id == ids["event_id"], Ticket.revoked_at.is_(None)))
        assert tickets == 50 and all(r.ticket is not None for r in confirmed) and all(r.ticket is None for r in waitlisted)
        quota = db.session.scalar(select(RegistrationQuota).where(RegistrationQuota.event_id == ids["event_id"]))
        assert (quota.capacity, quota.used) == (50, 50)
        assert db.session.scalar(select(func.count()).select_from(RegistrationQuota)) == 1  # one event quota, not one per racer
        # first come, first served: everyone wait-listed arrived after the last place was given
        assert max(r.confirmed_at for r in confirmed) <= min(r.waitlisted_at for r in waitlisted)
        order = rs.waiting_list(db.session.get(Event, ids["event_id"]))
        assert [r.waitlisted_at for r in order] == sorted(r.waitlisted_at for r in waitlisted)
        assert db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.key.like("registration:%"))) == 200

        # and the waiting list moves in that order when places free up
        cancelled = confirmed[:5]
        for reg in cancelled:
            rs.cancel(db.session.get(Registration, reg.id))
        db.session.expire_all()
        promoted = [r.id for r in order[:5]]
        assert [db.session.get(Registration, rid).status for rid in promoted] == ["confirmed"] * 5
        assert db.session.get(Registration, order[5].id).status == "waitlisted"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_registrations_for_a_session_capacity(make_app):  # noqa: ANN001
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)
    with app.app_context():
        ids = reg_event(capacity=500, sessions=(("开幕式", None, "open"), ("对接会", 10, "open")))
    session_id = ids["session_ids"][1]
    results, errors = run_concurrently(
        app, [registrar(ids["event_id"], person(n, session_ids=[session_id])) for n in range(40)], expected=(rs.RegistrationError,)
    )
    assert errors == []
    accepted = [r for r in results if not isinstance(r, rs.RegistrationError)]
    refused = [r for r in results if isinstance(r, rs.RegistrationError)]
    assert len(accepted) == 10 and all(status == "confirmed" for _id, status in accepted)
    assert len(refused) == 30 and {e.errors["session_ids"] for e in refused} == {"“对接会”名额已满，请选择其他场次。"}
    with app.app_context():
        used = dict(db.session.execute(select(RegistrationQuota.session_id, RegistrationQuota.used).where(RegistrationQuota.event_id == ids["event_id"])).all())
        assert used == {None: 10, session_id: 10}
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 10


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_same_mobile_registering_concurrently_gives_one_row(make_app):  # noqa: ANN001
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)
    with app.app_context():
        ids = reg_event(capacity=50)
    jobs = [registrar(ids["event_id"], person(n, mobile="13912345678")) for n in range(10)]
    jobs += [registrar(ids["event_id"], person(100 + n, email="same@example.com")) for n in range(10)]
    results, errors = run_concurrently(app, jobs, expected=(rs.RegistrationError,))
    assert errors == []
    refused = [r for r in results if isinstance(r, rs.RegistrationError)]
    assert all(e.duplicate for e in refused)
    with app.app_context():
        rows = list(db.session.scalars(select(Registration)))
        assert sum(r.mobile == "13912345678" for r in rows) == 1
        assert sum(r.email == "same@example.com" for r in rows) == 1
        assert len(rows) + len(refused) == 20 and len(rows) <= 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_simultaneous_cancellations_promote_each_waiting_person_once_in_order(make_app):  # noqa: ANN001
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)
    with app.app_context():
        ids = reg_event(capacity=20)
        event = db.session.get(Event, ids["event_id"])
        regs = [rs.register(event, person(n))[0] for n in range(35)]
        confirmed = [r.id for r in regs if r.status == "confirmed"]
        waiting = [r.id for r in rs.waiting_list(event)]
        assert len(confirmed) == 20 and len(waiting) == 15

    def canceller(rid: int) -> Callable[[], Any]:
        return lambda: rs.cancel(db.session.get(Registration, rid))

    results, errors = run_concurrently(app, [canceller(rid) for rid in confirmed[:10]], expected=(rs.RegistrationError,))
    assert errors == [] and not [r for r in results if isinstance(r, rs.RegistrationError)]
    with app.app_context():
        status = {r.id: r.status for r in db.session.scalars(select(Registration))}
        assert [status[rid] for rid in waiting[:10]] == ["confirmed"] * 10
        assert [status[rid] for rid in waiting[10:]] == ["waitlisted"] * 5
        assert db.session.scalar(select(RegistrationQuota.used)) == 20
        for rid in waiting[:10]:
            keys = list(db.session.scalars(select(MailMessage.key).where(MailMessage.key == f"registration:{rid}:promoted")))
            assert keys == [f"registration:{rid}:promoted"]
