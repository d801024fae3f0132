"""Re-check that stored attachments still exist: one listing per opportunity prefix, not a request per object.

An attachment whose object is gone is marked missing (it stops counting for
gates and completeness); one whose object is back is marked present again.
Idempotent, and safe in two processes (each update is a plain status write).
"""

from __future__ import annotations

from datetime import datetime

from server.adapters.storage import Storage
from server.db import write_transaction
from server.tables import Attachment, Opportunity

PREFIX = "opportunities/"


async def run(now: datetime, storage: Storage | None) -> str:
    if storage is None:
        return "skipped: no object storage configured"
    listed = {o.key: o.size for o in await storage.list(PREFIX)}
    rows = await Attachment.select(Attachment.id, Attachment.object_key, Attachment.size, Attachment.status).where(
        Attachment.status.is_in(["present", "missing"])).run()
    gone, back = [], []
    for row in rows:
        exists = listed.get(row["object_key"]) == row["size"]
        if row["status"] == "present" and not exists:
            gone.append(row["id"])
        elif row["status"] == "missing" and exists:
            back.append(row["id"])
    for ids, status in ((gone, "missing"), (back, "present")):
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            async with write_transaction():
                await Attachment.update({Attachment.status: status, Attachment.checked_at: now}).where(
                    Attachment.id.is_in(batch)).run()
                # the gates and deadline clocks of these opportunities must be judged again
                await Opportunity.update({Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
                    Opportunity.id.is_in(Attachment.select(Attachment.opportunity).where(
                        Attachment.id.is_in(batch)))).run()
    from server.queries.attachments import forget_stale_pending

    stale = await forget_stale_pending(now, storage)
    return (f"checked {len(rows)} attachments against {len(listed)} stored objects: {len(gone)} missing, "
            f"{len(back)} back; {stale} stale pending uploads dropped")
