"""Chinese statutory holidays from the maintained ``chinese-calendar`` package.

The package follows the State Council's yearly announcement (国务院办公厅关于部分节假日安排的通知)
and lags it: version 1.11 knows 2004–2026 and raises ``NotImplementedError`` for 2027. For such a
year we say "no data" and the organiser enters the year's holidays by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version

import chinese_calendar

LIBRARY = "chinese-calendar"


def library_version() -> str:
    try:
        return version(LIBRARY)
    except PackageNotFoundError:  # pragma: no cover - installed from requirements.txt
        return "?"


@dataclass(frozen=True)
class LibraryDay:
    day: date
    name: str
    kind: str  # "holiday" (法定节假日, incl. the weekend days inside the break) / "workday" (调休上班)


def library_days(year: int) -> list[LibraryDay] | None:
    """The year's holidays and adjusted working days, or ``None`` when the library has no data."""
    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        return None
    days: list[LibraryDay] = []
    day = date(year, 1, 1)
    while day.year == year:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:  # pragma: no cover - a partly covered year
            return None
        if name is not None:
            days.append(LibraryDay(day, str(name), "holiday" if on_holiday else "workday"))
        day += timedelta(days=1)
    return days


def statutory_holidays(year: int) -> set[date] | None:
    """The days of the year's statutory holiday breaks (None: the library has no data)."""
    days = library_days(year)
    if days is None:
        return None
    return {d.day for d in days if d.kind == "holiday"}
