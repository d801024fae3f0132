"""Deadline arithmetic in the organisation's time zone. Pure: `now` is always a parameter.

Working days follow the Chinese public-holiday calendar, including the
adjusted working weekends (调休), from the `chinese-calendar` package. For a
year the package does not know yet, Monday to Friday are working days.
Hours are wall-clock hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

_MAX_DAYS = 3660


def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the calendar package does not cover yet
        return day.weekday() < 5


def add_working_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The moment `days` working days after `start`, at the same local clock time.

    Counting starts with the day after `start` (local date); only working days
    count. A start on a holiday therefore has its first day on the next
    working day. `start` must be time-zone aware; the answer is in `tz`.
    """
    if start.tzinfo is None:
        raise ValueError("start must be time-zone aware")
    if days < 0:
        raise ValueError("days must not be negative")
    local = start.astimezone(tz)
    day, left, steps = local.date(), days, 0
    while left > 0:
        day += timedelta(days=1)
        steps += 1
        if steps > _MAX_DAYS:
            raise ValueError("no working day found within ten years")
        if is_working_day(day):
            left -= 1
    naive = datetime.combine(day, local.time().replace(tzinfo=None))
    return naive.replace(tzinfo=tz)


def add_hours(start: datetime, hours: float) -> datetime:
    if start.tzinfo is None:
        raise ValueError("start must be time-zone aware")
    return start + timedelta(hours=hours)


def due_at(*, amount: float, unit: str, anchor: datetime, tz: ZoneInfo) -> datetime:
    if unit == "hours":
        return add_hours(anchor, amount)
    if unit == "working_days":
        return add_working_days(anchor, int(amount), tz)
    raise ValueError(f"unknown deadline unit {unit!r}")


def working_days_between(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Whole working days after `start`'s local date up to and including `end`'s."""
    a, b = start.astimezone(tz).date(), end.astimezone(tz).date()
    count = 0
    while a < b:
        a += timedelta(days=1)
        if is_working_day(a):
            count += 1
    return count
