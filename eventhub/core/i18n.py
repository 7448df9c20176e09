"""Translation helpers shared by packages."""

from __future__ import annotations

from collections.abc import Iterable


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction without translating it now (data that is shown translated later)."""
    return message


def join_list(items: Iterable[object]) -> str:
    """Items joined the reader's way: "甲、乙、丙" in Chinese, "A, B, C" in English.

    The separator is itself a message ("、"), so each catalogue says how its language lists
    things; also the ``listjoin`` template filter.
    """
    from flask import has_app_context
    from flask_babel import gettext

    return (gettext("、") if has_app_context() else "、").join(str(item) for item in items)
