from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server.domain.deadlines import add_hours, add_working_days, due_at, is_working_day, working_days_between

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_ordinary_week_skips_the_weekend():
    # Thursday 2026-11-26 10:00 + 2 working days → Monday 2026-11-30 10:00
    assert add_working_days(at("2026-11-26 10:00"), 2, SH) == at("2026-11-30 10:00")
    assert add_working_days(at("2026-11-26 10:00"), 0, SH) == at("2026-11-26 10:00")


def test_spring_festival_2026_holidays_and_adjusted_saturdays():
    # 2026-02-14 (Sat) and 2026-02-28 (Sat) are adjusted working days; 02-15..02-23 are holidays.
    assert is_working_day(at("2026-02-14 09:00").date())
    assert not is_working_day(at("2026-02-16 09:00").date())
    assert is_working_day(at("2026-02-28 09:00").date())
    # Friday 02-13 + 1 working day → Saturday 02-14 (调休)
    assert add_working_days(at("2026-02-13 15:00"), 1, SH) == at("2026-02-14 15:00")
    # Saturday 02-14 + 1 working day → Tuesday 02-24, after the whole holiday
    assert add_working_days(at("2026-02-14 15:00"), 1, SH) == at("2026-02-24 15:00")
    # 02-24 (Tue) + 4 working days → 02-28 (Sat, adjusted)
    assert add_working_days(at("2026-02-24 09:30"), 4, SH) == at("2026-02-28 09:30")


def test_national_day_2026():
    # 2026-10-01..07 holidays; Saturday 2026-10-10 is an adjusted working day.
    assert not is_working_day(at("2026-10-05 09:00").date())
    assert is_working_day(at("2026-10-10 09:00").date())
    # Wednesday 09-30 + 1 working day → Thursday 10-08
    assert add_working_days(at("2026-09-30 18:00"), 1, SH) == at("2026-10-08 18:00")
    # a 3-working-day deadline set on 10-08 (Thu) → 10-09 Fri, 10-10 Sat (调休), 10-12 Mon
    assert add_working_days(at("2026-10-08 10:00"), 3, SH) == at("2026-10-12 10:00")
    # started during the holiday: the first working day is 10-08
    assert add_working_days(at("2026-10-03 11:00"), 1, SH) == at("2026-10-08 11:00")


def test_time_zone_decides_the_local_date():
    # 2026-02-13 17:00 UTC is already Saturday 01:00 in Shanghai (an adjusted working day)
    start = datetime(2026, 2, 13, 17, 0, tzinfo=timezone.utc)
    due = add_working_days(start, 1, SH)
    assert due == at("2026-02-24 01:00")
    assert add_working_days(start, 1, ZoneInfo("UTC")) == datetime(2026, 2, 14, 17, 0, tzinfo=ZoneInfo("UTC"))


def test_hours_are_wall_clock_and_ignore_holidays():
    assert add_hours(at("2026-09-30 18:00"), 48) == at("2026-10-02 18:00")
    assert due_at(amount=48, unit="hours", anchor=at("2026-09-30 18:00"), tz=SH) == at("2026-10-02 18:00")
    assert due_at(amount=1, unit="working_days", anchor=at("2026-09-30 18:00"), tz=SH) == at("2026-10-08 18:00")


def test_years_beyond_the_calendar_fall_back_to_monday_to_friday():
    friday = at("2030-03-01 09:00")
    assert add_working_days(friday, 1, SH) == at("2030-03-04 09:00")


def test_working_days_between_counts_like_add():
    start = at("2026-09-30 10:00")
    assert working_days_between(start, at("2026-10-12 10:00"), SH) == 4  # 10-08, 09, 10, 12
    assert working_days_between(start, start + timedelta(hours=2), SH) == 0


def test_naive_or_negative_input_is_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 1, 1), 1, SH)
    with pytest.raises(ValueError):
        add_working_days(at("2026-01-05 09:00"), -1, SH)
    with pytest.raises(ValueError):
        due_at(amount=1, unit="fortnights", anchor=at("2026-01-05 09:00"), tz=SH)
