"""The audit log: append-only records of who did what."""

from __future__ import annotations

from server.tables import AuditLog


async def record(action: str, *, actor_id=None, target_type: str | None = None,
                 target_id=None, detail: dict | None = None, ip: str | None = None) -> None:
    await AuditLog.insert(
        AuditLog(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            detail=detail or {},
            ip=ip,
        )
    ).run()


async def record_many(entries: list[tuple[str, str | None, object, dict]], *, actor_id=None,
                      ip: str | None = None) -> None:
    """Several entries at once: (action, target type, target id, detail) each."""
    if entries:
        await AuditLog.insert(*[
            AuditLog(actor_id=actor_id, action=action, target_type=target_type,
                     target_id=None if target_id is None else str(target_id), detail=detail or {}, ip=ip)
            for action, target_type, target_id, detail in entries
        ]).run()
