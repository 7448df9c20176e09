"""Event services: the public year calendar and its iCalendar feed."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
from sqlalchemy import select

from eventhub.campaigns.models import Campaign
from eventhub.core.timeutil import SHANGHAI, to_shanghai, utcnow
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db

TZID = "Asia/Shanghai"
PRODID = "-//EventHub//融通创新主题日//ZH"


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
    """An iCalendar feed: all-day theme days on the Beijing calendar, stable UIDs, rising SEQUENCE.

    The days are Beijing calendar dates, so DTSTART/DTEND are DATE values (DTEND exclusive);
    the calendar declares Asia/Shanghai (X-WR-TIMEZONE and its VTIMEZONE). Withdrawn events
    are kept with STATUS:CANCELLED so subscribed clients remove them instead of keeping stale copies.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    now = utcnow()
    for event in events:
        item = icalendar.Event()
        item.add("uid", event.uid)
        item.add("summary", event.title)
        item.add("dtstart", event.start_date)
        item.add("dtend", event.end_date + timedelta(days=1))
        item.add("dtstamp", now)
        item.add("created", event.created_at)
        item.add("last-modified", event.updated_at)
        item.add("sequence", event.sequence)
        item.add("status", "CANCELLED" if event.status == EventStatus.WITHDRAWN.value else "CONFIRMED")
        item.add("transp", "TRANSPARENT")
        if event.host_base is not None:
            item.add(
                "organizer",
                f"mailto:{event.host_base.contact_email}" if event.host_base.contact_email else "mailto:noreply@eventhub.invalid",
                parameters={"CN": event.host_base.name},
            )
            item.add("location", event.host_base.name)
        due = to_shanghai(event.detail_plan_due)
        item.add(
            "description",
            f"{event.title}（{event.start_date.isoformat()} 至 {event.end_date.isoformat()}，北京时间）。活动方案截止：{due:%Y-%m-%d %H:%M}（北京时间）。",
        )
        cal.add_component(item)
    years = [e.start_date.year for e in events] or [to_shanghai(now).year]
    cal.add_missing_timezones()
    if not any(tz.tz_name == TZID for tz in cal.timezones):
        first, last = date(min(years) - 1, 1, 1), date(max(years) + 2, 1, 1)
        timezone = icalendar.Timezone.from_tzinfo(SHANGHAI, tzid=TZID, first_date=first, last_date=last)
        cal.subcomponents.insert(0, timezone)
    return cal.to_ical()
