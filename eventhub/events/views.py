"""Event views: the public year calendar and its iCalendar feed."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from eventhub.core.permissions import public
from eventhub.events import bp, services


@bp.get("/calendar")
@public
def calendar() -> Any:
    """The year's theme days (public, no log-in), dates on the Beijing calendar."""
    year = request.args.get("year", type=int) or services.default_year()
    events = services.events_of_year(year)
    return render_template("events/calendar.html", year=year, events=events, years=sorted(set(services.published_years()) | {year}, reverse=True))


@bp.get("/calendar.ics")
@public
def calendar_ics() -> Response:
    """Every published theme day as an iCalendar feed (``?year=`` for one year)."""
    year = request.args.get("year", type=int)
    events = services.events_of_year(year) if year else services.all_events()
    body = services.ical_feed(events)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="eventhub-calendar.ics"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
