"""The deadline job: re-plan the clocks of changed opportunities, then fire every alarm that is due."""

from __future__ import annotations

from datetime import datetime

from server.domain.alerts import parse_quiet_hours, quiet_until
from server.queries import alerting

REPLAN_BATCH = 500


async def run(now: datetime, deps) -> str:
    tz = deps.settings.tz
    replanned = 0
    while True:  # opportunities whose facts changed since their clocks were planned
        ids = await alerting.dirty_opportunities(REPLAN_BATCH)
        for opp_id in ids:
            await alerting.sync_clocks(opp_id, deps.playbook, tz, now)
        replanned += len(ids)
        if len(ids) < REPLAN_BATCH:
            break
    morning = quiet_until(now, tz, parse_quiet_hours(deps.settings.quiet_hours))
    alerts, inbox = await alerting.fire_due_alarms(now, morning)
    return f"re-planned {replanned} opportunities; {alerts} new alerts, {inbox} inbox items"
