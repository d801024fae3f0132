"""The deadline job: re-plan the clocks of changed opportunities, then fire every alarm that is due."""

from __future__ import annotations

import time
from datetime import datetime

from server.domain.alerts import parse_quiet_hours, quiet_until
from server.queries import alerting

REPLAN_BATCH = 500
FIRE_BATCH = 15_000  # ~90 µs of database work per alarm: a batch stays well under 2 s
FIRE_BUDGET_SECONDS = 45  # leave the rest of the minute to the other jobs; the next tick goes on
REPLAN_BUDGET_SECONDS = 30  # a playbook publication re-plans every open deal: spread over ticks


async def run(now: datetime, deps) -> str:
    tz = deps.settings.tz
    replanned = 0
    begun = time.monotonic()
    while True:  # opportunities whose facts changed since their clocks were planned
        ids = await alerting.dirty_opportunities(REPLAN_BATCH)
        for opp_id in ids:
            await alerting.sync_clocks(opp_id, deps.playbook, tz, now)
        replanned += len(ids)
        if len(ids) < REPLAN_BATCH or time.monotonic() - begun > REPLAN_BUDGET_SECONDS:
            break
    morning = quiet_until(now, tz, parse_quiet_hours(deps.settings.quiet_hours))
    alerts = inbox = 0
    started = time.monotonic()
    while True:  # a backlog (after downtime) is fired in batches, each its own short transaction
        made, told, claimed = await alerting.fire_due_alarms(now, morning, batch=FIRE_BATCH)
        alerts, inbox = alerts + made, inbox + told
        if claimed < FIRE_BATCH or time.monotonic() - started > FIRE_BUDGET_SECONDS:
            break
    return f"re-planned {replanned} opportunities; {alerts} new alerts, {inbox} inbox items"
