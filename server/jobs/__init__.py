"""Periodic jobs: idempotent functions of ``now``, safe to run twice or in two processes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable

from server.jobs import housekeeping, reconcile

log = logging.getLogger("salesgate.jobs")

Job = Callable[[datetime, "Deps"], Awaitable[str]]
INTERVAL_SECONDS = 60


class Deps:
    """What jobs need from the outside world."""

    def __init__(self, storage=None):
        self.storage = storage


async def _housekeeping(now: datetime, deps: Deps) -> str:
    return await housekeeping.run(now)


async def _reconcile(now: datetime, deps: Deps) -> str:
    return await reconcile.run(now, deps.storage)


JOBS: dict[str, Job] = {"housekeeping": _housekeeping, "reconcile_attachments": _reconcile}


async def run_once(now: datetime | None = None, deps: Deps | None = None) -> list[tuple[str, str]]:
    now = now or datetime.now(timezone.utc)
    deps = deps or Deps()
    results = []
    for name, job in JOBS.items():
        try:
            results.append((name, await job(now, deps)))
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("job %s failed", name)
            results.append((name, f"failed: {exc}"))
    return results


async def loop(stop: asyncio.Event, deps: Deps | None = None, interval: float = INTERVAL_SECONDS) -> None:
    while not stop.is_set():
        await run_once(deps=deps)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
