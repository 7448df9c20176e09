"""Views of the detailed plan (活动方案): the host writes it, the organiser reviews it."""

from __future__ import annotations

from eventhub.events import bp  # noqa: F401
