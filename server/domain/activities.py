"""Activity kinds and what they mean for silence.

Silence is measured from the last customer-facing activity, never from an
edit of the record: a note is internal and does not end silence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

CUSTOMER_FACING = ("call", "visit", "meeting", "message")
INTERNAL = ("note",)
KINDS = CUSTOMER_FACING + INTERNAL
FUTURE_TOLERANCE = timedelta(minutes=5)
PAST_LIMIT = timedelta(days=366)


class InvalidActivity(ValueError):
    pass


def is_customer_facing(kind: str) -> bool:
    return kind in CUSTOMER_FACING


def check_activity(kind: str, occurred_at: datetime, now: datetime) -> None:
    if kind not in KINDS:
        raise InvalidActivity(f"Unknown activity kind {kind!r}; use one of {', '.join(KINDS)}.")
    if occurred_at.tzinfo is None:
        raise InvalidActivity("occurred_at needs a time-zone offset, e.g. 2026-11-27T09:30:00+08:00.")
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidActivity("An activity cannot be logged in the future.")
    if occurred_at < now - PAST_LIMIT:
        raise InvalidActivity("An activity more than a year ago cannot be logged.")


def later(a: datetime | None, b: datetime) -> datetime:
    """The new last-contact time: a back-dated call never moves it backwards."""
    return b if a is None or b > a else a
