"""The push job: deliver every due push of the outbox (quiet hours and back-off decide what is due)."""

from __future__ import annotations

from datetime import datetime

from server.adapters.webpush import PushSender
from server.queries import push


async def run(now: datetime, deps) -> str:
    total: dict[str, int] = {}
    async with PushSender(deps.vapid, deps.settings.vapid_subject) as sender:
        while True:
            counts = await push.deliver(now, sender, deps.playbook, deps.settings.tz, deps.settings.push_hosts)
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
            if sum(counts.values()) == 0:
                break
    return ("pushes: " + ", ".join(f"{v} {k}" for k, v in total.items() if v)) if any(total.values()) \
        else "pushes: nothing due"
