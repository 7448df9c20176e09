"""Helpers for the XLSX exports (openpyxl)."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a return)
    is prefixed with ' so it shows as typed: exports hold what the public typed into our forms."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
