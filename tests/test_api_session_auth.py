"""The scanner page calls the JSON API with its logged-in session instead of a bearer token.

A write then needs the page's CSRF token in ``X-CSRFToken``; a read does not; staff of
another event are still refused; a bearer header, when sent, is what counts.
"""

from __future__ import annotations

import re

from eventhub.checkin import services as checkin
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.event_helpers import make_event, make_plan
from tests.factories import PASSWORD, make_user
from tests.test_checkin_services import ticketed


def _world(app):  # noqa: ANN001, ANN202
    with app.app_context():
        event = make_event("华润")
        make_plan(event)
        organiser = make_user(Role.ORGANISER)
        staff, stranger = make_user(Role.CHECKIN), make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="东门", actor=organiser)
        _registration, payload = ticketed(event, name="张三")
        db.session.commit()
        return {"event_id": event.id, "staff": staff.email, "stranger": stranger.email, "payload": payload}


def _login(client, email: str) -> str:  # noqa: ANN001
    """Log in through the real form (CSRF on) and return the CSRF token the pages carry."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_session_user_may_call_the_api_with_csrf(make_app):  # noqa: ANN001
    app = make_app(WTF_CSRF_ENABLED=True)
    world = _world(app)
    client = app.test_client()
    csrf = _login(client, world["staff"])
    url = f"/api/v1/events/{world['event_id']}/checkins"

    keys = client.get(f"/api/v1/events/{world['event_id']}/keys")
    assert keys.status_code == 200 and keys.get_json()["keys"]

    refused = client.post(url, json={"payload": world["payload"], "scan_id": "s-1"})
    assert refused.status_code == 403 and refused.get_json()["reason"] == "csrf_failed"

    ok = client.post(url, json={"payload": world["payload"], "scan_id": "s-2"}, headers={"X-CSRFToken": csrf})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["result"] == "ok"


def test_session_of_other_staff_and_anonymous_refused(make_app):  # noqa: ANN001
    app = make_app(WTF_CSRF_ENABLED=True)
    world = _world(app)
    anonymous = app.test_client()
    assert anonymous.get(f"/api/v1/events/{world['event_id']}/keys").status_code == 401

    client = app.test_client()
    csrf = _login(client, world["stranger"])
    response = client.post(f"/api/v1/events/{world['event_id']}/checkins", json={"payload": world["payload"], "scan_id": "s-3"}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 403 and response.get_json()["reason"] == "not_staff"

    bad_bearer = client.get(f"/api/v1/events/{world['event_id']}/keys", headers={"Authorization": "Bearer nope"})
    assert bad_bearer.status_code == 401  # a bearer header, when sent, is what counts
