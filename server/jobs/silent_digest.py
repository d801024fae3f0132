"""The 09:00 digest: "N customers went silent", once a day to every owner with a silent customer.

From 09:00 organisation time, each active owner with at least one silent, not snoozed customer
gets one alert (inbox + push) keyed ``silent:{user}:{day}``: a rerun, a second worker or a
restart adds nothing. Once the day's digests are out, later runs that day see one and return
without counting the organisation again.
"""

from __future__ import annotations

from datetime import datetime, time, timezone

from server.db import write_transaction
from server.domain import silence
from server.domain.alerts import parse_quiet_hours, quiet_until
from server.queries import alerting, workbench
from server.tables import Alert


async def run(now: datetime, deps) -> str:
    tz = deps.settings.tz
    day = silence.digest_day(now, tz)
    if day is None:
        return "not yet 09:00"
    sent_today = Alert.exists().where((Alert.kind == "silent_digest") & Alert.key.like(f"silent:%:{day.isoformat()}")
                                      & (Alert.created_at >= datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)))
    if await sent_today.run():
        return f"digest of {day.isoformat()} already sent"
    counts = await workbench.silent_counts(deps.playbook, now, day)
    send_after = quiet_until(now, tz, parse_quiet_hours(deps.settings.quiet_hours))
    sent = 0
    async with write_transaction():
        for user_id, count in sorted(counts.items()):
            alert = await alerting.raise_alert(key=silence.digest_key(user_id, day), kind="silent_digest",
                                               recipients=[user_id], now=now, quiet_until=send_after,
                                               params={"count": count, "day": day.isoformat()})
            sent += alert is not None
    return f"silent-customer digest of {day.isoformat()}: {sent} sent ({len(counts)} owners with silent customers)"
