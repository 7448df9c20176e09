"""Time rules: store aware UTC, show and interpret in Asia/Shanghai (DESIGN.md §3).

"By 30 June" means 2026-06-30 23:59:59 +08:00 (15:59:59 UTC), never midnight UTC, and
never the server's own zone: nothing here reads the process timezone.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware datetime converted to UTC; a naive one is refused (its zone is unknown)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: say which zone it is in")
    return value.astimezone(UTC)


def to_shanghai(value: datetime) -> datetime:
    """An aware datetime shown in Asia/Shanghai."""
    return as_utc(value).astimezone(SHANGHAI)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in Asia/Shanghai, returned as aware UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def local_to_utc(value: datetime) -> datetime:
    """A naive wall-clock time typed by a user (always meant in Asia/Shanghai) as aware UTC."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return value.replace(tzinfo=SHANGHAI).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``day``, as UTC: what "by 30 June" means."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def is_on_time(deadline: datetime, at: datetime | None = None) -> bool:
    """True while ``at`` (default now) is at or before the deadline, to the second.

    Deadlines are whole seconds (23:59:59), so 23:59:59.5 is still on time and 00:00:00 is not.
    """
    return as_utc(at or utcnow()).replace(microsecond=0) <= as_utc(deadline)


def subtract_months(value: datetime, months: int) -> datetime:
    """``value`` minus whole calendar months, counted on the Shanghai calendar (day clamped).

    Used for the detailed plan's lead time: an event on 31 March in Beijing is due
    on 28/29 February, whatever UTC's date was at that instant.
    """
    local = to_shanghai(value)
    month_index = local.year * 12 + (local.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A short Asia/Shanghai rendering for tables and messages ("" for None)."""
    if value is None:
        return ""
    return to_shanghai(value).strftime(fmt)


def remaining(deadline: datetime, at: datetime | None = None) -> timedelta:
    """Time left until the deadline (negative when past)."""
    return as_utc(deadline) - as_utc(at or utcnow())


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that always returns aware UTC, on SQLite as on PostgreSQL.

    SQLite has no time zones and gives naive values back; PostgreSQL keeps ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
