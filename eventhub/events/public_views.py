"""Public theme-day pages, their .ics files, and answers to technology needs (揭榜)."""

from __future__ import annotations

from eventhub.events import bp  # noqa: F401
