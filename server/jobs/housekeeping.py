"""Forget what is no longer needed: expired idempotency keys, old login attempts and sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.tables import IdempotencyKey, LoginAttempt, Session


async def run(now: datetime) -> str:
    keys = await IdempotencyKey.delete().where(IdempotencyKey.expires_at < now).returning(IdempotencyKey.id).run()
    attempts = await LoginAttempt.delete().where(LoginAttempt.at < now - timedelta(days=2)).returning(
        LoginAttempt.id).run()
    sessions = await Session.delete().where(Session.expires_at < now - timedelta(days=30)).returning(
        Session.id).run()
    return f"removed {len(keys)} expired idempotency keys, {len(attempts)} old login attempts, {len(sessions)} old sessions"
