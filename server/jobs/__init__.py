"""Periodic jobs: idempotent functions of ``now``, safe to run twice or in two processes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable

from server.jobs import housekeeping

log = logging.getLogger("salesgate.jobs")

Job = Callable[[datetime], Awaitable[str]]
JOBS: dict[str, Job] = {"housekeeping": housekeeping.run}
INTERVAL_SECONDS = 60


async def run_once(now: datetime | None = None) -> list[tuple[str, str]]:
    now = now or datetime.now(timezone.utc)
    results = []
    for name, job in JOBS.items():
        try:
            results.append((name, await job(now)))
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("job %s failed", name)
            results.append((name, f"failed: {exc}"))
    return results


async def loop(stop: asyncio.Event, interval: float = INTERVAL_SECONDS) -> None:
    while not stop.is_set():
        await run_once()
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
