"""Push subscriptions per user and device, and delivery of the push outbox.

Delivery claims a batch of due rows (FOR UPDATE SKIP LOCKED on PostgreSQL; on
SQLite the write lock serialises claims), sends them outside any transaction,
then records each outcome: 2xx sent; 404/410 the subscription is gone and is
deleted; 429, 5xx and unreachable retried later with back-off (Retry-After
honoured); other 4xx failed for good.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from server.adapters.webpush import PushResult, PushSender, subscription_keys_problem
from server.db import current_engine, write_transaction
from server.domain.access import Viewer
from server.domain.alerts import endpoint_problem, push_topic, retry_delay
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries.alerting import raw_sql, utc
from server.queries.common import utcnow
from server.queries.inbox import PUSH_BODY_LIMIT, render
from server.schemas_alerts import SubscriptionIn, SubscriptionList, SubscriptionOut
from server.tables import InboxItem, PushOutbox, PushSubscription

MAX_ATTEMPTS = 8
CLAIM_SECONDS = 900  # longer than the slowest batch can take (500 pushes, 32 at a time, 10 s timeout each)
PAYLOAD_LIMIT = 1000


def _out(row: dict) -> SubscriptionOut:
    return SubscriptionOut(id=str(row["id"]), endpoint_host=urlsplit(row["endpoint"]).hostname or "",
                           device=row["device"], created_at=row["created_at"], last_sent_at=row["last_sent_at"])


async def subscribe(viewer: Viewer, data: SubscriptionIn, hosts: tuple[str, ...], locale: str) -> SubscriptionOut:
    problem = endpoint_problem(data.endpoint, hosts)
    if problem:
        raise ApiError(422, "push_host_not_allowed", problem)
    problem = subscription_keys_problem(data.keys.p256dh, data.keys.auth)
    if problem:
        raise ApiError(422, "invalid_subscription_keys", problem)
    values = {PushSubscription.user: viewer.id, PushSubscription.p256dh: data.keys.p256dh,
              PushSubscription.auth: data.keys.auth, PushSubscription.locale: data.locale or locale,
              PushSubscription.device: data.device}
    async with write_transaction():
        # One endpoint is one browser on one device: a second user signing in there takes it over.
        found = await PushSubscription.select(PushSubscription.id).where(
            PushSubscription.endpoint == data.endpoint).first().run()
        if found:
            await PushSubscription.update(values).where(PushSubscription.id == found["id"]).run()
            sub_id = found["id"]
        else:
            sub = PushSubscription(endpoint=data.endpoint, created_at=utcnow(),
                                   **{col._meta.name: value for col, value in values.items()})
            await PushSubscription.insert(sub).run()
            sub_id = sub.id
    return _out(await PushSubscription.select().where(PushSubscription.id == sub_id).first().run())


async def unsubscribe(viewer: Viewer, endpoint: str) -> None:
    async with write_transaction():
        await PushSubscription.delete().where(
            (PushSubscription.user == viewer.id) & (PushSubscription.endpoint == endpoint)).run()


async def list_subscriptions(viewer: Viewer) -> SubscriptionList:
    rows = await PushSubscription.select().where(PushSubscription.user == viewer.id).order_by(
        PushSubscription.created_at).run()
    return SubscriptionList(items=[_out(r) for r in rows])


# The claim returns the claimed ids, so the rows are then read by primary key (reading them back by
# `claim`, which has no index, scanned the whole outbox, sent history included, every minute).
# = ANY(ARRAY(…)) on PostgreSQL: IN (…) can become a hash semi-join over a sequential scan.
_CLAIM_PG = ("UPDATE push_outbox SET claim = {}, claimed_until = {} WHERE id = ANY(ARRAY(SELECT id FROM push_outbox "
             "WHERE status = 'pending' AND not_before <= {} AND (claimed_until IS NULL OR claimed_until < {}){} "
             "ORDER BY not_before LIMIT {} FOR UPDATE SKIP LOCKED)) RETURNING id")
_CLAIM_SQLITE = ("UPDATE push_outbox SET claim = {}, claimed_until = {} WHERE id IN (SELECT id FROM push_outbox "
                 "WHERE status = 'pending' AND not_before <= {} AND (claimed_until IS NULL OR claimed_until < {}){} "
                 "ORDER BY not_before LIMIT {}) RETURNING id")
_ONE_USER = " AND subscription IN (SELECT id FROM push_subscription WHERE \"user\" = {})"


async def _claim(now: datetime, batch: int, user_id=None) -> list[int]:
    claim = uuid.uuid4().hex
    engine = current_engine()
    sql = _CLAIM_PG if engine.engine_type == "postgres" else _CLAIM_SQLITE
    args: list = [claim, utc(now + timedelta(seconds=CLAIM_SECONDS)), utc(now), utc(now)]
    if user_id is not None:
        sql = sql.replace("){} ", ")" + _ONE_USER + " ", 1)
        args.append(str(user_id))
    else:
        sql = sql.replace("){} ", ") ", 1)
    async with write_transaction():
        rows = await engine.run_querystring(raw_sql(sql, *args, batch))
    return [r["id"] for r in rows or ()]


def payload(row: dict, pb: Playbook, tz: ZoneInfo) -> str:
    """The push body: title, body, url, tag — under 1 KB even for long names."""
    title, body, url = render(row, pb, tz, row["subscription.locale"] or "zh_CN")
    tag = f"alert-{row['alert.id']}"
    body = body[:PUSH_BODY_LIMIT]
    while True:
        text = json.dumps({"title": title[:120], "body": body, "url": url, "tag": tag, "id": str(row["id"])},
                          ensure_ascii=False)
        if len(text.encode()) <= PAYLOAD_LIMIT or not body:
            return text
        body = body[: len(body) * 3 // 4]


async def deliver(now: datetime, sender: PushSender, pb: Playbook, tz: ZoneInfo, hosts: tuple[str, ...],
                  batch: int = 500, user_id=None) -> dict[str, int]:
    """Send every due push once (only to ``user_id``'s devices when given). Returns counts by outcome."""
    counts = {"sent": 0, "gone": 0, "retry": 0, "failed": 0, "cancelled": 0}
    ids = await _claim(now, batch, user_id)
    if not ids:
        return counts
    cols = [PushOutbox.id, PushOutbox.attempts, PushOutbox.subscription, PushOutbox.subscription.endpoint,
            PushOutbox.subscription.p256dh, PushOutbox.subscription.auth, PushOutbox.subscription.locale]
    rows = []
    for start in range(0, len(ids), _CHUNK):
        rows += await PushOutbox.select(*cols, *_inbox_columns()).where(
            PushOutbox.id.is_in(ids[start:start + _CHUNK])).run()
    live = [r for r in rows if r["inbox_item.alert.closed_at"] is None]
    closed = [r["id"] for r in rows if r["inbox_item.alert.closed_at"] is not None]
    results = await asyncio.gather(*[_send_one(sender, r, pb, tz, hosts) for r in live])
    await _record(now, live, results, closed, counts)
    return counts


_CHUNK = 500  # ids per IN (…): well inside SQLite's limit on bound parameters


def _inbox_columns():
    item = PushOutbox.inbox_item
    return (item.id.as_alias("item_id"), item.alert.id, item.alert.kind, item.alert.node_key, item.alert.level,
            item.alert.params, item.alert.urgent, item.alert.closed_at, item.alert.opportunity,
            item.alert.opportunity.title, item.alert.opportunity.customer.name, item.alert.instance.due_at)


async def _send_one(sender: PushSender, row: dict, pb: Playbook, tz: ZoneInfo, hosts) -> PushResult:
    endpoint = row["subscription.endpoint"]
    if endpoint_problem(endpoint, hosts):  # the allowed hosts changed since it subscribed
        return PushResult(status=403, error="push host no longer allowed")
    flat = {k.removeprefix("inbox_item."): v for k, v in row.items()}
    flat["id"] = row["item_id"]
    flat["subscription.locale"] = row["subscription.locale"]
    urgency = "high" if row["inbox_item.alert.urgent"] else "normal"
    return await sender.send(endpoint, row["subscription.p256dh"], row["subscription.auth"],
                             payload(flat, pb, tz), urgency=urgency, topic=push_topic(row["inbox_item.alert.id"]))


def _outcome(result: PushResult) -> str:
    if 200 <= result.status < 300:
        return "sent"
    if result.status in (404, 410) or result.unusable:
        return "gone"  # the browser unsubscribed or the subscription expired: forget the device
    if result.status in (0, 408, 429) or result.status >= 500:
        return "retry"
    return "failed"


async def _record(now: datetime, rows: list[dict], results: list[PushResult], closed: list, counts: dict) -> None:
    """Write every outcome with a few set-based UPDATEs (one statement per row took most of a batch's time)."""
    sent, gone, later = [], set(), {}
    for row, result in zip(rows, results):
        outcome = _outcome(result)
        attempts = row["attempts"] + 1
        if outcome == "retry" and attempts >= MAX_ATTEMPTS:
            outcome = "failed"
        counts[outcome] += 1
        if outcome == "sent":
            sent.append(row)
        elif outcome == "gone":
            gone.add(row["subscription"])
        else:  # rows with the same next state share one UPDATE
            values = {PushOutbox.attempts: attempts, PushOutbox.claim: None,
                      PushOutbox.last_error: (result.error or "")[:300]}
            if outcome == "retry":
                values.update({PushOutbox.status: "pending", PushOutbox.claimed_until: None,
                               PushOutbox.not_before: now + retry_delay(attempts, result.retry_after)})
            else:
                values[PushOutbox.status] = "failed"
            key = tuple(sorted((c._meta.name, v) for c, v in values.items()))
            later.setdefault(key, (values, []))[1].append(row["id"])
    async with write_transaction():
        for ids in _chunks(closed):
            await PushOutbox.update({PushOutbox.status: "cancelled"}).where(PushOutbox.id.is_in(ids)).run()
        counts["cancelled"] += len(closed)
        for ids in _chunks([r["id"] for r in sent]):
            await PushOutbox.update({PushOutbox.status: "sent", PushOutbox.sent_at: now, PushOutbox.claim: None,
                                     PushOutbox.attempts: PushOutbox.attempts + 1}).where(
                PushOutbox.id.is_in(ids)).run()
        for ids in _chunks(list(dict.fromkeys(r["subscription"] for r in sent))):
            await PushSubscription.update({PushSubscription.last_sent_at: now}).where(
                PushSubscription.id.is_in(ids)).run()
        for ids in _chunks(list(gone)):
            await PushSubscription.delete().where(PushSubscription.id.is_in(ids)).run()
        for values, ids in later.values():
            for chunk in _chunks(ids):
                await PushOutbox.update(values).where(PushOutbox.id.is_in(chunk)).run()


def _chunks(items: list) -> list[list]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


async def pending_for(user_id) -> int:
    return await PushOutbox.count().where(
        (PushOutbox.status == "pending") & PushOutbox.inbox_item.is_in(
            InboxItem.select(InboxItem.id).where(InboxItem.user == user_id))).run()
