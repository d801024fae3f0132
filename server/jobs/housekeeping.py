"""Forget what is no longer needed: expired idempotency keys, old login attempts and sessions, and the
delivery records of pushes and robot messages once they are a month old (the alerts and inbox items
they carried stay: they are the history people read)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.tables import IdempotencyKey, LoginAttempt, PushOutbox, Session, WebhookMessage, WebhookOutbox

DELIVERY_RECORDS_DAYS = 30


async def run(now: datetime) -> str:
    keys = await IdempotencyKey.delete().where(IdempotencyKey.expires_at < now).returning(IdempotencyKey.id).run()
    attempts = await LoginAttempt.delete().where(LoginAttempt.at < now - timedelta(days=2)).returning(
        LoginAttempt.id).run()
    sessions = await Session.delete().where(Session.expires_at < now - timedelta(days=30)).returning(
        Session.id).run()
    old = now - timedelta(days=DELIVERY_RECORDS_DAYS)
    pushes = await PushOutbox.delete().where(
        (PushOutbox.status != "pending") & (PushOutbox.created_at < old)).returning(PushOutbox.id).run()
    robot = await WebhookOutbox.delete().where(
        (WebhookOutbox.status != "pending") & (WebhookOutbox.created_at < old)).returning(WebhookOutbox.id).run()
    messages = await WebhookMessage.delete().where(WebhookMessage.sent_at < old).returning(WebhookMessage.id).run()
    return (f"removed {len(keys)} expired idempotency keys, {len(attempts)} old login attempts, {len(sessions)} old "
            f"sessions, {len(pushes)} old push records, {len(robot) + len(messages)} old robot records")
