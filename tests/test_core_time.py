"""Time rules (DESIGN.md §3): "by 30 June" ends at 23:59:59 Beijing time, whatever the server's zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from eventhub.campaigns.services import default_deadline, next_campaign_year
from eventhub.core.timeutil import (
    as_utc,
    end_of_day,
    format_local,
    is_on_time,
    local_to_utc,
    remaining,
    shanghai,
    subtract_months,
    to_shanghai,
)

BEIJING = timezone(timedelta(hours=8))
SERVER_ZONES = {"UTC": 0, "America/New_York": 5 * 3600, "Asia/Shanghai": -8 * 3600}  # time.timezone (standard time)


@pytest.fixture(params=sorted(SERVER_ZONES))
def server_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test as if the server's process timezone were ``request.param``."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        assert time.timezone == SERVER_ZONES[request.param], "tzset did not take effect"
        yield request.param
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_default_deadline_is_end_of_30_june_beijing(server_tz):
    deadline = default_deadline(2026)
    assert deadline == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)
    assert deadline.utcoffset() == timedelta(0)
    assert format_local(deadline, "%Y-%m-%d %H:%M:%S") == "2026-06-30 23:59:59"


def test_last_second_of_30_june_beijing_is_on_time(server_tz):
    deadline = default_deadline(2026)
    assert is_on_time(deadline, datetime(2026, 6, 30, 23, 59, 59, tzinfo=BEIJING))
    assert is_on_time(deadline, datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC))


def test_first_second_of_1_july_beijing_is_late(server_tz):
    deadline = default_deadline(2026)
    assert not is_on_time(deadline, datetime(2026, 7, 1, 0, 0, 0, tzinfo=BEIJING))
    assert not is_on_time(deadline, datetime(2026, 6, 30, 16, 0, 0, tzinfo=UTC))
    # still 30 June by UTC's calendar, but already 1 July in Beijing
    assert not is_on_time(deadline, datetime(2026, 6, 30, 20, 0, 0, tzinfo=UTC))


def test_midnight_utc_is_not_the_deadline(server_tz):
    """The classic mistake: "30 June" read as midnight UTC (08:00 on 1 July in Beijing)."""
    deadline = default_deadline(2026)
    assert deadline != datetime(2026, 7, 1, tzinfo=UTC)
    assert not is_on_time(deadline, datetime(2026, 6, 30, 23, 0, tzinfo=UTC))


def test_end_of_day_is_1559_utc(server_tz):
    assert end_of_day(date(2026, 6, 30)) == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)
    assert end_of_day(date(2026, 12, 31)) == datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)


def test_wall_clock_input_is_beijing_time(server_tz):
    """A datetime-local value typed in a form means Beijing time, not the server's zone."""
    assert local_to_utc(datetime(2026, 6, 30, 23, 59, 59)) == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)
    assert shanghai(2026, 7, 1) == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    aware = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    assert local_to_utc(aware) == aware


def test_naive_datetimes_are_refused(server_tz):
    with pytest.raises(ValueError):
        is_on_time(datetime(2026, 6, 30, 23, 59, 59), datetime(2026, 6, 30, 12, 0, tzinfo=UTC))
    with pytest.raises(ValueError):
        as_utc(datetime(2026, 6, 30))


def test_remaining_is_signed():
    deadline = default_deadline(2026)
    assert remaining(deadline, shanghai(2026, 6, 29, 23, 59, 59)) == timedelta(days=1)
    assert remaining(deadline, shanghai(2026, 7, 1)) == timedelta(seconds=-1)


@pytest.mark.parametrize(
    ("now", "year"),
    [
        (shanghai(2026, 1, 1), 2026),
        (shanghai(2026, 6, 30, 23, 59, 59), 2026),
        (shanghai(2026, 7, 1), 2027),  # 16:00 UTC on 30 June: UTC's calendar would say 2026
        (shanghai(2026, 12, 31, 23, 59, 59), 2027),
        (datetime(2025, 12, 31, 17, 0, tzinfo=UTC), 2026),  # already 1 January 2026 in Beijing
    ],
)
def test_next_campaign_year_uses_the_beijing_calendar(now, year, server_tz):
    assert next_campaign_year(now) == year


# ---- subtract_months: the detailed plan's lead time -------------------------------------


@pytest.mark.parametrize(
    ("event", "months", "due"),
    [
        ((2026, 3, 31, 9, 0), 1, (2026, 2, 28, 9, 0)),  # clamped to the end of February
        ((2028, 3, 31, 9, 0), 1, (2028, 2, 29, 9, 0)),  # leap year
        ((2026, 5, 31, 9, 0), 1, (2026, 4, 30, 9, 0)),
        ((2026, 1, 15, 9, 0), 1, (2025, 12, 15, 9, 0)),  # across the year
        ((2026, 3, 15, 9, 0), 0, (2026, 3, 15, 9, 0)),
        ((2026, 8, 31, 9, 0), 6, (2026, 2, 28, 9, 0)),
        ((2026, 3, 15, 9, 0), 14, (2025, 1, 15, 9, 0)),
    ],
)
def test_subtract_months_on_the_beijing_calendar(event, months, due, server_tz):
    assert subtract_months(shanghai(*event), months) == shanghai(*due)


def test_subtract_months_when_beijing_is_already_the_next_day(server_tz):
    """17:00 UTC on 30 March is 01:00 on 31 March in Beijing: one month earlier is 28 February."""
    event = datetime(2026, 3, 30, 17, 0, tzinfo=UTC)
    assert to_shanghai(event).date() == date(2026, 3, 31)
    due = subtract_months(event, 1)
    assert to_shanghai(due) == datetime(2026, 2, 28, 1, 0, tzinfo=to_shanghai(due).tzinfo)
    assert due == datetime(2026, 2, 27, 17, 0, tzinfo=UTC)
    # counting on UTC's calendar would have given 28 February 17:00 UTC (1 March in Beijing)
    assert due != datetime(2026, 2, 28, 17, 0, tzinfo=UTC)


def test_subtract_months_returns_utc():
    due = subtract_months(shanghai(2026, 3, 31, 9, 0), 1)
    assert due.utcoffset() == timedelta(0)


def test_format_local():
    assert format_local(None) == ""
    assert format_local(datetime(2026, 6, 30, 16, 0, tzinfo=UTC)) == "2026-07-01 00:00"
