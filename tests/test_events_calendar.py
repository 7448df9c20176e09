"""The public year calendar and /calendar.ics: parses back, VTIMEZONE, stable UIDs, SEQUENCE, CANCELLED."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest

from eventhub.auth.models import User
from eventhub.campaigns.models import Campaign
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.selection import services
from tests.factories import make_user
from tests.test_selection_services import NOW, make_campaign, make_plan


def _vevents(client, **params) -> dict[str, icalendar.Event]:  # noqa: ANN001
    response = client.get("/calendar.ics", query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert tzids == ["Asia/Shanghai"]
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


@pytest.fixture
def published(app):
    with app.app_context():
        campaign = make_campaign(target_hosts=2)
        org = make_user(Role.ORGANISER)
        a = make_plan(campaign, "华润", [(date(2026, 9, 1), date(2026, 9, 30), 2)])
        b = make_plan(campaign, "国网", [(date(2026, 10, 1), date(2026, 11, 30), 1)])
        for plan in (a, b):
            services.decide(campaign, plan, True, "入选理由", org)
        services.suggest(campaign, org, now=NOW)
        services.publish(campaign, org)
        db.session.commit()
        return {"campaign_id": campaign.id, "org_id": org.id, "plans": [a.id, b.id]}


def test_ics_parses_with_timezone_and_all_day_dates(app, client, published):
    events = _vevents(client)
    assert len(events) == 2
    for event in events.values():
        assert str(event["SUMMARY"]).endswith("融通创新主题日")
        assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 0
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is date and type(end) is date and end > start  # Beijing calendar days, DTEND exclusive
    huarun = next(e for e in events.values() if "华润" in str(e["SUMMARY"]))
    assert (huarun.decoded("DTEND") - huarun.decoded("DTSTART")).days == 2
    assert set(_vevents(client, year=2026)) == set(events)
    assert _vevents(client, year=2025) == {}


def test_uids_stable_and_sequence_rises_and_withdrawn_is_cancelled(app, client, published):
    before = _vevents(client)
    with app.app_context():
        campaign = db.session.get(Campaign, published["campaign_id"])
        org = db.session.get(User, published["org_id"])
        services.publish(campaign, org)  # no change
        db.session.commit()
    assert {uid: int(e["SEQUENCE"]) for uid, e in _vevents(client).items()} == {uid: 0 for uid in before}

    with app.app_context():
        campaign = db.session.get(Campaign, published["campaign_id"])
        org = db.session.get(User, published["org_id"])
        a, b = (next(d for d in services.selected_decisions(campaign) if d.plan_id == pid) for pid in published["plans"])
        services.set_date(a, a.start_date + timedelta(days=1), 2, org)
        services.decide(campaign, b.plan, False, "撤销：承办条件变化", org)
        services.publish(campaign, org)
        db.session.commit()
    after = _vevents(client)
    assert set(after) == set(before), "UIDs are stable across publishes"
    moved = next(e for e in after.values() if "华润" in str(e["SUMMARY"]))
    cancelled = next(e for e in after.values() if "国网" in str(e["SUMMARY"]))
    assert int(moved["SEQUENCE"]) == 1 and str(moved["STATUS"]) == "CONFIRMED"
    assert moved.decoded("DTSTART") != before[str(moved["UID"])].decoded("DTSTART")
    assert int(cancelled["SEQUENCE"]) == 1 and str(cancelled["STATUS"]) == "CANCELLED"


def test_calendar_page_is_public_and_lists_events(app, client, published):
    response = client.get("/calendar?year=2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "华润融通创新主题日" in html and "国网融通创新主题日" in html and "/calendar.ics" in html
    assert 'name="viewport"' in html
    assert "尚未发布" in client.get("/calendar?year=2031").get_data(as_text=True)
    assert client.get("/calendar").status_code == 200


def test_empty_feed_is_valid(app, client):
    assert _vevents(client) == {}


def test_anonymous_navigation_links_calendar_and_log_in(client):
    page = client.get("/calendar").get_data(as_text=True)
    assert 'href="/calendar"' in page
    assert 'href="/login"' in page
