"""The .ics files of a theme day and of one session, and the year feed with approved sessions.

Parsed back with icalendar: VTIMEZONE Asia/Shanghai, timed sessions at the right Beijing wall
time, stable UIDs across approvals, SEQUENCE rising on change, removed sessions CANCELLED.
"""

from __future__ import annotations

from datetime import date, datetime, time

import icalendar
import pytest

from eventhub.core.timeutil import SHANGHAI
from eventhub.events.models import DetailPlan, Event, EventSession, EventStatus
from eventhub.extensions import db
from tests.event_helpers import add_session, approve, approved_event, make_event, make_plan


def _calendar(client, url: str) -> icalendar.Calendar:  # noqa: ANN001
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    return cal


def _by_uid(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def _uids(app, ids) -> dict[str, str]:  # noqa: ANN001
    """Session title → UID, from the rows."""
    with app.app_context():
        return {s.title: s.uid for s in db.session.scalars(db.select(EventSession).where(EventSession.plan_id == ids["plan_id"]))}


@pytest.fixture
def approved(app):
    with app.app_context():
        return approved_event("华润", days=2)


def test_event_ics_has_theme_day_and_timed_sessions_in_shanghai(app, client, approved):
    cal = _calendar(client, f"/theme-days/{approved['event_id']}.ics")
    with app.app_context():
        event = db.session.get(Event, approved["event_id"])
        event_uid, start, end = event.uid, event.start_date, event.end_date
    uids = _uids(app, approved)
    events = _by_uid(cal)
    assert set(events) == {event_uid, *uids.values()}

    day = events[event_uid]
    assert type(day.decoded("DTSTART")) is date and day.decoded("DTSTART") == start

    opening = events[uids["开幕式暨技术需求发布"]]
    dtstart, dtend = opening.decoded("DTSTART"), opening.decoded("DTEND")
    assert isinstance(dtstart, datetime) and str(dtstart.tzinfo) == "Asia/Shanghai"
    assert (dtstart.date(), dtstart.time(), dtend.time()) == (start, time(9, 0), time(10, 30))
    assert dtstart.utcoffset().total_seconds() == 8 * 3600
    assert "TZID=Asia/Shanghai" in opening.to_ical().decode()
    assert str(opening["STATUS"]) == "CONFIRMED" and int(opening["SEQUENCE"]) == 0
    assert str(opening["LOCATION"]) == "一号会议厅"
    assert str(opening["URL"]) == f"http://localhost/theme-days/{approved['event_id']}"
    assert "开幕式" in str(opening["DESCRIPTION"]) and "创新资源开放共享" in str(opening["DESCRIPTION"])

    roadshow = events[uids["创新团队路演"]]
    assert roadshow.decoded("DTSTART") == datetime.combine(end, time(14, 0), tzinfo=SHANGHAI)
    assert "https://live.example.com/roadshow/" in str(roadshow["DESCRIPTION"])


def test_online_only_session_location_is_the_link(app, client):
    with app.app_context():
        event = make_event("航天")
        plan = make_plan(event)
        add_session(plan, "线上对接会", venue="", online_url="https://meeting.example.com/123", kind="matchmaking")
        approve(plan)
        db.session.commit()
        event_id = event.id
    cal = _calendar(client, f"/theme-days/{event_id}.ics")
    session = next(e for e in cal.walk("VEVENT") if "线上对接会" in str(e["SUMMARY"]))
    assert str(session["LOCATION"]) == "https://meeting.example.com/123"


def test_session_ics_is_one_session_and_404_otherwise(app, client, approved):
    uids = _uids(app, approved)
    event_id, (opening_id, _roadshow) = approved["event_id"], approved["session_ids"]
    cal = _calendar(client, f"/theme-days/{event_id}/sessions/{opening_id}.ics")
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [uids["开幕式暨技术需求发布"]]
    assert events[0].decoded("DTSTART").time() == time(9, 0)
    assert client.get(f"/theme-days/{event_id}/sessions/99999.ics").status_code == 404
    with app.app_context():
        other = approved_event("国网")
    assert client.get(f"/theme-days/{event_id}/sessions/{other['session_ids'][0]}.ics").status_code == 404  # another event's session


def test_uids_stable_sequence_rises_and_removed_session_cancelled(app, client, approved):
    event_id = approved["event_id"]
    uids = _uids(app, approved)
    first = _by_uid(_calendar(client, f"/theme-days/{event_id}.ics"))

    with app.app_context():  # approved again without a change
        approve(db.session.get(DetailPlan, approved["plan_id"]))
        db.session.commit()
    second = _by_uid(_calendar(client, f"/theme-days/{event_id}.ics"))
    assert set(second) == set(first)
    assert {u: int(e["SEQUENCE"]) for u, e in second.items()} == {u: int(e["SEQUENCE"]) for u, e in first.items()}

    with app.app_context():  # the opening moves by an hour, the road show is dropped
        plan = db.session.get(DetailPlan, approved["plan_id"])
        opening = db.session.get(EventSession, approved["session_ids"][0])
        opening.start_time, opening.end_time = time(10, 0), time(11, 30)
        db.session.delete(db.session.get(EventSession, approved["session_ids"][1]))
        db.session.flush()
        db.session.refresh(plan)
        approve(plan)
        db.session.commit()
    for url in (f"/theme-days/{event_id}.ics", "/calendar.ics"):
        third = _by_uid(_calendar(client, url))
        opening = third[uids["开幕式暨技术需求发布"]]
        assert int(opening["SEQUENCE"]) == 1 and str(opening["STATUS"]) == "CONFIRMED"
        assert opening.decoded("DTSTART").time() == time(10, 0)
        dropped = third[uids["创新团队路演"]]
        assert str(dropped["STATUS"]) == "CANCELLED" and int(dropped["SEQUENCE"]) == 1
    assert client.get(f"/theme-days/{event_id}/sessions/{approved['session_ids'][1]}.ics").status_code == 404


def test_year_feed_has_approved_sessions_only(app, client, approved):
    with app.app_context():
        draft_event = make_event("国网")
        plan = make_plan(draft_event)
        add_session(plan, "未批准的场次")
        db.session.commit()
        draft_uid, year = draft_event.uid, draft_event.start_date.year
    uids = _uids(app, approved)
    for params in ({}, {"year": year}):
        events = _by_uid(_calendar(client, "/calendar.ics?" + "&".join(f"{k}={v}" for k, v in params.items())))
        assert set(uids.values()) <= set(events)
        assert draft_uid in events  # the theme day itself is public
        assert not any("未批准的场次" in str(e["SUMMARY"]) for e in events.values())
        timed = [e for e in events.values() if isinstance(e.decoded("DTSTART"), datetime)]
        assert {str(e["UID"]) for e in timed} == set(uids.values())


def test_withdrawn_event_cancels_its_sessions_in_the_feed(app, client, approved):
    with app.app_context():
        event = db.session.get(Event, approved["event_id"])
        event.status = EventStatus.WITHDRAWN.value
        event.sequence += 1
        db.session.commit()
    for url in (f"/theme-days/{approved['event_id']}.ics", "/calendar.ics"):
        events = _by_uid(_calendar(client, url))
        statuses = {str(e["STATUS"]) for e in events.values()}
        assert statuses == {"CANCELLED"} and len(events) == 3
        assert all(int(e["SEQUENCE"]) >= 1 for e in events.values())
