"""SQL statements per check-in through the API, counted with a ``before_cursor_execute`` listener.

The check-in path was cut from 15 statements a scan (ok; already 15, refused 10, replay 11) to the numbers below (see
``docs/benchmarks.md``); these bounds make a regression show. Counted: every statement sent to the
database during the request (BEGIN / COMMIT issued by the driver itself are not cursor executes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event as sa_event

from eventhub.checkin import services as checkin
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.event_helpers import make_event, make_plan
from tests.factories import make_user
from tests.test_checkin_services import ticketed

MAX_OK = 9  # token + user, event, assignment, list, keys, ticket + registration, INSERT scan, INSERT check-in, INSERT audit
MAX_ALREADY = 10  # … the check-in refused by the constraint: the winner, its staff member, UPDATE of the scan's result (no audit row)
MAX_REFUSED = 6  # token + user, event, assignment, list, keys, INSERT scan (a bad signature: no ticket look-up)
MAX_REPLAY = 10  # a resend: the judgement, the INSERT that finds the scan id, the stored scan, ticket + registration, check-in


@contextmanager
def counted(app) -> Iterator[list[str]]:  # noqa: ANN001
    statements: list[str] = []

    def listener(_conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def scanner(app):  # noqa: ANN001, ANN201
    with app.app_context():
        event = make_event("华润")
        make_plan(event)
        organiser = make_user(Role.ORGANISER)
        staff = make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="东门", actor=organiser)
        _registration, payload = ticketed(event)
        _second, second_payload = ticketed(event)
        token = checkin.create_token(staff, "一号机")
        db.session.commit()
        return {"event_id": event.id, "token": token, "payload": payload, "second": second_payload}


def scan(client, scanner, payload: str, scan_id: str):  # noqa: ANN001, ANN201
    return client.post(
        f"/api/v1/events/{scanner['event_id']}/checkins",
        json={"payload": payload, "scan_id": scan_id},
        headers={"Authorization": f"Bearer {scanner['token']}"},
    )


def test_statements_per_scan(app, client, scanner):  # noqa: ANN001
    assert scan(client, scanner, scanner["second"], "warm").status_code == 201  # last_used_at written once a minute: not counted below

    with counted(app) as ok:
        response = scan(client, scanner, scanner["payload"], "s1")
    assert response.status_code == 201, response.json
    assert len(ok) <= MAX_OK, "\n".join(ok)

    with counted(app) as already:
        response = scan(client, scanner, scanner["payload"], "s2")
    assert response.status_code == 200 and response.json["result"] == "already"
    assert len(already) <= MAX_ALREADY, "\n".join(already)

    with counted(app) as refused:
        response = scan(client, scanner, scanner["payload"][:-1] + ("A" if scanner["payload"][-1] != "A" else "B"), "s3")
    assert response.status_code == 422, response.json
    assert len(refused) <= MAX_REFUSED, "\n".join(refused)

    with counted(app) as replay:
        response = scan(client, scanner, scanner["payload"], "s1")
    assert response.status_code == 201 and response.json["replayed"] is True
    assert len(replay) <= MAX_REPLAY, "\n".join(replay)
    print(f"statements: ok {len(ok)}, already {len(already)}, refused {len(refused)}, replay {len(replay)}")
