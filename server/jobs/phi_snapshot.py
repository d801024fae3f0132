"""Record today's PHI stock counts (completeness, silence) per owner and team, at most once an hour.

The weekly trend reads them: completeness and silence are states, which the event history
cannot give back for a past day. Idempotent (one row per day and group, updated by a rerun).
"""

from __future__ import annotations

from datetime import datetime

from server.queries.phi_detail import record_snapshot


async def run(now: datetime, deps) -> str:
    written = await record_snapshot(deps.playbook, deps.settings.tz, now)
    if written is None:
        return "recorded less than an hour ago"
    return f"recorded {written} owner/team groups"
