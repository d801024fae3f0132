"""Periodic jobs: idempotent functions of ``now``, safe to run twice or in two processes.

`salesgate serve` runs them in-process every minute, `salesgate jobs worker` in a
separate process, `salesgate jobs run-once [--now]` once. On PostgreSQL several
workers may run together (claims use FOR UPDATE SKIP LOCKED and unique keys); on
SQLite one scheduler at a time holds the lease. Correctness never depends on the
lease: it only saves a second scheduler from doing nothing useful.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timezone
from typing import Awaitable, Callable

from server.jobs import deadlines, housekeeping, phi_snapshot, push, reconcile, silent_digest, webhooks

log = logging.getLogger("salesgate.jobs")

Job = Callable[[datetime, "Deps"], Awaitable[str]]
INTERVAL_SECONDS = 60
LEASE = "scheduler"


class Deps:
    """What jobs need from the outside world."""

    def __init__(self, storage=None, settings=None, playbook=None, vapid=None):
        self.storage = storage
        self.settings = settings
        self.playbook = playbook
        self.vapid = vapid

    @classmethod
    def build(cls, settings, storage=None, playbook=None) -> "Deps":
        from server.adapters.webpush import load_vapid
        from server.playbook_loader import load_playbook, playbook_path

        return cls(storage=storage, settings=settings,
                   playbook=playbook or load_playbook(playbook_path(settings)),
                   vapid=load_vapid(settings.vapid_private_key, settings.var_dir))


async def _housekeeping(now: datetime, deps: Deps) -> str:
    return await housekeeping.run(now)


async def _reconcile(now: datetime, deps: Deps) -> str:
    return await reconcile.run(now, deps.storage)


JOBS: dict[str, Job] = {
    "housekeeping": _housekeeping,
    "reconcile_attachments": _reconcile,
    "deadlines": deadlines.run,
    "silent_digest": silent_digest.run,  # before push: its pushes go out in the same run
    "push": push.run,
    "webhooks": webhooks.run,
    "phi_snapshot": phi_snapshot.run,
}
NEEDS_SETTINGS = {"deadlines", "push", "webhooks", "silent_digest", "phi_snapshot"}


async def run_once(now: datetime | None = None, deps: Deps | None = None) -> list[tuple[str, str]]:
    now = now or datetime.now(timezone.utc)
    deps = deps or Deps()
    if deps.playbook is not None:  # the version published last, possibly by another process
        from server.queries.playbooks import current

        deps.playbook = await current(deps.playbook)
    results = []
    for name, job in JOBS.items():
        if name in NEEDS_SETTINGS and deps.settings is None:
            continue
        try:
            results.append((name, await job(now, deps)))
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("job %s failed", name)
            results.append((name, f"failed: {exc}"))
    return results


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def loop(stop: asyncio.Event, deps: Deps | None = None, interval: float | None = None) -> None:
    from server.db import current_engine
    from server.queries import leases

    interval = interval or (deps.settings.jobs_interval_seconds if deps and deps.settings else INTERVAL_SECONDS)
    holder = _holder()
    sqlite = current_engine().engine_type == "sqlite"
    try:
        while not stop.is_set():
            now = datetime.now(timezone.utc)
            if not sqlite or await leases.acquire(LEASE, holder, now, interval * 3):
                for name, summary in await run_once(now, deps):
                    log.info("job %s: %s", name, summary)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
    finally:
        if sqlite:
            try:
                await leases.release(LEASE, holder)
            except Exception:  # noqa: BLE001 - the lease expires by itself
                log.warning("could not release the scheduler lease")
