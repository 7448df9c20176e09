"""Translation helpers shared by packages."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction without translating it now (data that is shown translated later)."""
    return message
