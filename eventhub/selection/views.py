"""Selection views."""

from __future__ import annotations

from eventhub.selection import bp  # noqa: F401
