"""Event services: the public year calendar and its iCalendar feed (theme days and approved sessions)."""

from __future__ import annotations

from sqlalchemy import select

from eventhub.campaigns.models import Campaign
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events import public
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db

TZID = public.TZID
PRODID = public.PRODID


def published_years() -> list[int]:
    """Years with at least one published theme day, newest first."""
    query = select(Campaign.year).join(Event, Event.campaign_id == Campaign.id).distinct().order_by(Campaign.year.desc())
    return list(db.session.scalars(query))


def default_year() -> int:
    this_year = to_shanghai(utcnow()).year
    years = published_years()
    if this_year in years or not years:
        return this_year
    later = [y for y in years if y > this_year]
    return min(later) if later else years[0]


def events_of_year(year: int, *, include_withdrawn: bool = True) -> list[Event]:
    query = select(Event).join(Campaign, Event.campaign_id == Campaign.id).where(Campaign.year == year)
    if not include_withdrawn:
        query = query.where(Event.status != EventStatus.WITHDRAWN.value)
    return list(db.session.scalars(query.order_by(Event.start_date, Event.id)))


def all_events() -> list[Event]:
    return list(db.session.scalars(select(Event).order_by(Event.start_date, Event.id)))


def ical_feed(events: list[Event], name: str = "融通创新主题日") -> bytes:
    """An iCalendar feed: all-day theme days on the Beijing calendar plus the sessions of approved plans.

    The days are Beijing calendar dates, so DTSTART/DTEND are DATE values (DTEND exclusive);
    sessions are timed in Asia/Shanghai (VTIMEZONE included). Withdrawn events, and sessions
    removed from an approved plan, are kept with STATUS:CANCELLED so subscribed clients remove
    them instead of keeping stale copies. Only approved content is read (:mod:`.public`).
    """
    cal = public.new_calendar(name)
    now = utcnow()
    for event in events:
        for item in public.event_components(event, now):
            cal.add_component(item)
    return public.finish_calendar(cal, [e.start_date.year for e in events])
