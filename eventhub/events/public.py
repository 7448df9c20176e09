"""The public face of a theme day: what its page shows, its QR code and its iCalendar entries.

Everything here reads the *approved* publication (:func:`eventhub.events.content.publication`)
and never the working-copy rows, so a host's draft — even an edit of an approved plan — never
reaches the public page, a downloaded ``.ics`` or the year feed.

One function builds a session's VEVENT (:func:`session_vevent`) and one the all-day theme day's
(:func:`theme_day_vevent`); the event ``.ics``, the session ``.ics`` and ``/calendar.ics`` all use
them, so a calendar client sees the same UID, SEQUENCE and text whichever file it imported.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby

import icalendar
import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

from eventhub.core.timeutil import SHANGHAI, end_of_day, is_on_time, to_shanghai, utcnow
from eventhub.core.urls import external_url
from eventhub.events.content import Publication, PublicNeed, PublicSession, approved_snapshot, from_snapshot, publication
from eventhub.events.models import Event, EventStatus

TZID = "Asia/Shanghai"
PRODID = "-//EventHub//融通创新主题日//ZH"
OG_DESCRIPTION_CHARS = 120  # WeChat and most link previews cut around here


# ---- page data ------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedView:
    """A published need with its answer window, as of the moment the page was rendered."""

    need: PublicNeed
    deadline: datetime  # aware UTC
    open: bool


@dataclass(frozen=True)
class PageData:
    """Everything the public page of one event shows."""

    event: Event
    publication: Publication | None
    withdrawn: bool
    days: list[tuple[date, list[PublicSession]]] = field(default_factory=list)
    needs: list[NeedView] = field(default_factory=list)
    page_url: str = ""

    @property
    def approved(self) -> bool:
        return self.publication is not None


def response_deadline(event: Event, need: PublicNeed) -> datetime:
    """When answers to ``need`` close: its own deadline, else the end of the theme day (Beijing)."""
    return need.response_deadline or end_of_day(event.end_date)


def need_is_open(event: Event, need: PublicNeed, at: datetime | None = None) -> bool:
    """True while the event is scheduled and the need's deadline (to the second) has not passed."""
    return event.status == EventStatus.SCHEDULED.value and is_on_time(response_deadline(event, need), at)


def page_url(event: Event) -> str:
    """The absolute address of the event's public page (what the QR code encodes)."""
    return external_url("events.public_page", event_id=event.id)


def page_data(event: Event, at: datetime | None = None) -> PageData:
    """The public page of ``event``: the approved publication grouped by day, needs with their state."""
    pub = publication(event)
    withdrawn = event.status == EventStatus.WITHDRAWN.value
    if pub is None:
        return PageData(event=event, publication=None, withdrawn=withdrawn, page_url=page_url(event))
    days = [(day, list(items)) for day, items in groupby(pub.sessions, key=lambda s: s.day)]
    needs = [NeedView(n, response_deadline(event, n), need_is_open(event, n, at)) for n in pub.needs]
    return PageData(event=event, publication=pub, withdrawn=withdrawn, days=days, needs=needs, page_url=page_url(event))


def og_description(data: PageData) -> str:
    """The text of a shared link's preview: dates, host, then the plan's goals when approved."""
    event = data.event
    dates = event.start_date.isoformat() if event.start_date == event.end_date else f"{event.start_date.isoformat()} 至 {event.end_date.isoformat()}"
    head = f"{dates}（北京时间）· {event.host_base.name}"
    if data.withdrawn:
        return f"{head} · 已撤销"
    goals = " ".join((data.publication.goals if data.publication else "").split())
    text = f"{head} · {goals}" if goals else head
    return text if len(text) <= OG_DESCRIPTION_CHARS else text[: OG_DESCRIPTION_CHARS - 1] + "…"


# ---- QR code ----------------------------------------------------------------------------


def _qr(data: str, image_factory: type | None = None) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4, image_factory=image_factory)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str) -> bytes:
    """A PNG QR code (error correction M: readable with a small smudge, still few modules)."""
    buffer = io.BytesIO()
    _qr(data).make_image(fill_color="black", back_color="white").save(buffer)
    return buffer.getvalue()


def qr_svg(data: str) -> bytes:
    """An SVG QR code with a white background (prints sharp on posters, readable in dark mode)."""
    buffer = io.BytesIO()
    _qr(data, qrcode.image.svg.SvgPathFillImage).make_image().save(buffer)
    return buffer.getvalue()


# ---- iCalendar ----------------------------------------------------------------------------


def new_calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    return cal


def finish_calendar(cal: icalendar.Calendar, years: list[int]) -> bytes:
    """Add the Asia/Shanghai VTIMEZONE (also when only all-day entries need it) and serialise."""
    cal.add_missing_timezones()
    if not any(tz.tz_name == TZID for tz in cal.timezones):
        years = years or [to_shanghai(utcnow()).year]
        first, last = date(min(years) - 1, 1, 1), date(max(years) + 2, 1, 1)
        cal.subcomponents.insert(0, icalendar.Timezone.from_tzinfo(SHANGHAI, tzid=TZID, first_date=first, last_date=last))
    return cal.to_ical()


def theme_day_vevent(event: Event, now: datetime) -> icalendar.Event:
    """The all-day theme day: Beijing calendar DATEs (DTEND exclusive), CANCELLED when withdrawn."""
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
    item.add("url", page_url(event))
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
        f"{event.title}（{event.start_date.isoformat()} 至 {event.end_date.isoformat()}，北京时间）。活动方案截止：{due:%Y-%m-%d %H:%M}（北京时间）。\n{page_url(event)}",
    )
    return item


def session_location(session: PublicSession, pub: Publication | None = None) -> str:
    """Where to go: the session's venue, else its online link, else the plan's main venue."""
    return session.venue or session.online_url or (pub.venue if pub is not None else "")


def session_vevent(event: Event, session: PublicSession, *, cancelled: bool, now: datetime, pub: Publication | None = None, bump: int = 0) -> icalendar.Event:
    """One agenda session as a timed VEVENT in Asia/Shanghai (the one builder for every .ics).

    ``bump`` raises SEQUENCE for sessions cancelled by a withdrawal (the snapshot does not know).
    """
    from eventhub.plans.models import CONTENT_TYPE_LABELS, ContentType

    url = page_url(event)
    item = icalendar.Event()
    item.add("uid", session.uid)
    item.add("summary", f"{session.title}｜{event.title}")
    item.add("dtstart", session.starts_at.astimezone(SHANGHAI))
    item.add("dtend", session.ends_at.astimezone(SHANGHAI))
    item.add("dtstamp", now)
    item.add("sequence", session.sequence + bump)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    item.add("url", url)
    item.add("categories", [session.kind_label])
    location = session_location(session, pub)
    if location:
        item.add("location", location)
    lines = [f"{session.kind_label} · {session.access_label}"]
    types = [CONTENT_TYPE_LABELS.get(ContentType(c), c) for c in session.content_types if c in set(ContentType)]
    if types:
        lines.append("主题内容：" + "、".join(types))
    if session.venue and pub is not None and pub.venue:
        lines.append(f"主会场：{pub.venue}")
    if session.online_url:
        lines.append(f"线上链接：{session.online_url}")
    if session.description:
        lines.append(session.description)
    lines.append(f"{event.title}：{url}")
    item.add("description", "\n".join(lines))
    return item


def _withdrawn_sessions(event: Event) -> list[PublicSession]:
    """Sessions that were public before the event was withdrawn (so calendars drop them)."""
    plan = getattr(event, "detail_plan", None)
    snapshot = approved_snapshot(plan) if plan is not None else None
    if snapshot is None:
        return []
    return from_snapshot(plan.approved_version_number or 0, snapshot).sessions


def event_components(event: Event, now: datetime) -> list[icalendar.Event]:
    """The theme day plus every approved session (cancelled ones as STATUS:CANCELLED)."""
    items = [theme_day_vevent(event, now)]
    if event.status == EventStatus.WITHDRAWN.value:
        items += [session_vevent(event, s, cancelled=True, now=now, bump=1) for s in _withdrawn_sessions(event)]
        return items
    pub = publication(event)
    if pub is None:
        return items
    items += [session_vevent(event, s, cancelled=False, now=now, pub=pub) for s in pub.sessions]
    items += [session_vevent(event, s, cancelled=True, now=now, pub=pub) for s in pub.cancelled_sessions]
    return items


def event_ics(event: Event) -> bytes:
    """The whole theme day as one ``.ics`` file."""
    cal = new_calendar(event.title)
    for item in event_components(event, utcnow()):
        cal.add_component(item)
    return finish_calendar(cal, [event.start_date.year])


def session_ics(event: Event, session: PublicSession, pub: Publication) -> bytes:
    """One session of the approved agenda as an ``.ics`` file."""
    cal = new_calendar(f"{session.title}｜{event.title}")
    cal.add_component(session_vevent(event, session, cancelled=False, now=utcnow(), pub=pub))
    return finish_calendar(cal, [session.day.year])
