"""Account rules: login throttling and session lifetimes. Pure; `now` is a parameter."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_FAILURES = 10
SEEN_WRITE_INTERVAL = timedelta(minutes=1)


def throttle_retry_after(failures: list[datetime], now: datetime) -> int | None:
    """Seconds until the next attempt is allowed, or None when not throttled.

    After 10 failed logins within 15 minutes, the account is locked until the
    oldest of those failures leaves the window.
    """
    recent = sorted(t for t in failures if now - t < THROTTLE_WINDOW)
    if len(recent) < THROTTLE_FAILURES:
        return None
    unlock = recent[-THROTTLE_FAILURES] + THROTTLE_WINDOW
    return max(1, math.ceil((unlock - now).total_seconds()))


def session_alive(*, created_at: datetime, last_seen_at: datetime, now: datetime,
                  idle: timedelta, absolute: timedelta) -> bool:
    return now - last_seen_at < idle and now - created_at < absolute


def should_touch(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= SEEN_WRITE_INTERVAL


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
