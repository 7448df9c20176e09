"""Event views: the public year calendar and its iCalendar feed."""

from __future__ import annotations

from eventhub.events import bp  # noqa: F401
