"""A named lease in the database: on SQLite one scheduler at a time runs the periodic jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.db import write_transaction
from server.tables import JobLease


async def acquire(name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease; False while someone else holds an unexpired one."""
    async with write_transaction():
        row = await JobLease.select().where(JobLease.name == name).first().run()
        until = now + timedelta(seconds=seconds)
        if row is None:
            await JobLease.insert(JobLease(name=name, holder=holder, expires_at=until)).on_conflict(
                action="DO NOTHING").run()
            row = await JobLease.select().where(JobLease.name == name).first().run()
            return row["holder"] == holder
        if row["holder"] != holder and row["expires_at"] > now:
            return False
        await JobLease.update({JobLease.holder: holder, JobLease.expires_at: until}).where(
            JobLease.name == name).run()
        return True


async def release(name: str, holder: str) -> None:
    async with write_transaction():
        await JobLease.delete().where((JobLease.name == name) & (JobLease.holder == holder)).run()
