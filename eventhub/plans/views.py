"""Preliminary plan views."""

from __future__ import annotations

from eventhub.plans import bp  # noqa: F401
