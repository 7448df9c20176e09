"""Judging views: the organiser's round pages and the reviewer's score sheets."""

from __future__ import annotations

from eventhub.judging import bp  # noqa: F401
