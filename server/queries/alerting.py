"""Node clocks and alerts in the database: plan the clocks of an opportunity, fire what is due, raise one alert.

Firing is set-based SQL: claim the due alarms with one UPDATE (FOR UPDATE SKIP
LOCKED on PostgreSQL, so parallel workers split the work), then create alerts,
inbox items, pushes and chat-webhook messages with INSERT … SELECT … ON CONFLICT
DO NOTHING, all in one transaction. The unique keys (alert key; alert + user;
inbox item + device) make a rerun, a crash half-way or a second worker harmless.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from piccolo.querystring import QueryString

from server.db import current_engine, write_transaction
from server.domain.alerts import alarms_for, nodes_in_play, open_clocks
from server.domain.gates import node_complete
from server.domain.playbook import Playbook
from server.queries.opp_facts import enlist_collaborators, facts_of, present_materials, resolve_relations
from server.tables import Alert, InboxItem, NodeAlarm, NodeInstance, Opportunity, PushOutbox, WebhookOutbox

_OPP = (Opportunity.id, Opportunity.stage, Opportunity.substate, Opportunity.fields, Opportunity.stage_entered_at,
        Opportunity.last_contact_at, Opportunity.last_note_at, Opportunity.owner, Opportunity.status,
        Opportunity.facts_rev)


def utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def _is_postgres() -> bool:
    return current_engine().engine_type == "postgres"


async def close_instances(ids: list[int], status: str, now: datetime) -> None:
    """The node is done (or its stage was left): no reminder after this, pending pushes are dropped."""
    if not ids:
        return
    await NodeInstance.update({NodeInstance.status: status, NodeInstance.closed_at: now}).where(
        NodeInstance.id.is_in(ids)).run()
    await NodeAlarm.delete().where(NodeAlarm.instance.is_in(ids) & NodeAlarm.fired_tick.is_null()).run()
    await close_alerts(Alert.instance.is_in(ids), now)


async def close_alerts(where, now: datetime) -> None:
    """Close the open alerts matching `where`, and drop their pushes and robot messages still waiting.

    Runs in the caller's write transaction. Only the alerts closed here are swept: the sweep over
    every closed alert it replaces grew with the history (0.4 s a call with 100,000 closed alerts,
    1.6 s a re-planned opportunity with a night of held pushes; bench/alerts.py). A push that waits
    again later for an alert closed meanwhile is cancelled by push.deliver, which looks at
    closed_at before sending.
    """
    rows = await Alert.update({Alert.closed_at: now}).where(where & Alert.closed_at.is_null()).returning(
        Alert.id).run()
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        await _cancel(PushOutbox, PushOutbox.select(PushOutbox.id, PushOutbox.status).where(
            PushOutbox.inbox_item.is_in(InboxItem.select(InboxItem.id).where(InboxItem.alert.is_in(chunk)))))
        await _cancel(WebhookOutbox, WebhookOutbox.select(WebhookOutbox.id, WebhookOutbox.status).where(
            WebhookOutbox.alert.is_in(chunk)))


async def _cancel(outbox, query) -> None:
    """Cancel the rows of `query` that still wait: locked as they are read (SQLite's write transaction
    is exclusive anyway), then updated by primary key alone. With `status = 'pending'` in the statement,
    PostgreSQL walks the partial queue index of every waiting row whenever its statistics are stale
    (right after a big tick: 150 ms a call with 60,000 pushes held for the morning)."""
    if _is_postgres():
        query = query.lock_rows()
    ids = [r["id"] for r in await query.run() if r["status"] == "pending"]
    if ids:
        await outbox.update({outbox.status: "cancelled"}).where(outbox.id.is_in(ids)).run()


def raw_sql(sql: str, *args) -> QueryString:
    return QueryString(sql, *args)


async def sync_clocks(opp_id, pb: Playbook, tz: ZoneInfo, now: datetime) -> None:
    """Bring one opportunity's node instances and alarms in line with its facts, in one transaction."""
    async with write_transaction():
        if _is_postgres():  # two workers re-planning one opportunity: the second waits, then sees it done.
            # NO KEY UPDATE, not UPDATE: a worker firing alarms inserts alerts whose foreign key takes KEY
            # SHARE on this row, while this transaction may wait for that worker's claimed alarms (the
            # DELETE below): with FOR UPDATE the two can deadlock.
            await current_engine().run_querystring(raw_sql(
                "SELECT id FROM opportunity WHERE id = {} FOR NO KEY UPDATE", opp_id))
        row = await Opportunity.select(*_OPP, Opportunity.clock_rev).where(Opportunity.id == opp_id).first().run()
        if row is None or row["clock_rev"] == row["facts_rev"]:  # gone, or planned meanwhile by another worker
            return
        facts = facts_of(row, await present_materials(row["id"]))
        clocks = open_clocks(pb, facts, tz) if row["status"] == "open" else []
        existing = await NodeInstance.select(NodeInstance.id, NodeInstance.node_key, NodeInstance.anchor_at).where(
            (NodeInstance.opportunity == row["id"]) & (NodeInstance.status == "open")).run()
        wanted = {(c.node_key, utc(c.anchor_at)): c for c in clocks}
        current = {(e["node_key"], utc(e["anchor_at"])): e["id"] for e in existing}
        in_play = {n.key: n for n in nodes_in_play(pb, facts)}
        done = [i for k, i in current.items() if k not in wanted and k[0] in in_play
                and node_complete(in_play[k[0]], facts)]
        left = [i for k, i in current.items() if k not in wanted and i not in done]
        await close_instances(done, "done", now)
        await close_instances(left, "left", now)
        who = await resolve_relations(pb, row["owner"]) if clocks else {}
        await enlist_collaborators(row["id"], row["owner"], [in_play[c.node_key] for c in clocks], who)
        for key, clock in wanted.items():
            instance_id = await _open_instance(row["id"], clock, current.get(key), now)
            node = pb.node(clock.node_key)
            await NodeAlarm.delete().where((NodeAlarm.instance == instance_id) & NodeAlarm.fired_tick.is_null()).run()
            alarms = alarms_for(node, clock.due_at, who) if node else []
            if alarms:
                await NodeAlarm.insert(*[NodeAlarm(
                    instance=instance_id, level=a.level, fire_at=utc(a.fire_at), recipient=a.recipient,
                    relation=a.relation, alert_key=f"node:{instance_id}:{a.level}") for a in alarms]).on_conflict(
                    action="DO NOTHING").run()
        await Opportunity.update({Opportunity.clock_rev: row["facts_rev"]}).where(Opportunity.id == row["id"]).run()


async def _open_instance(opp_id, clock, instance_id: int | None, now: datetime) -> int:
    due = utc(clock.due_at) if clock.due_at else None
    if instance_id is None:
        found = await NodeInstance.select(NodeInstance.id).where(
            (NodeInstance.opportunity == opp_id) & (NodeInstance.node_key == clock.node_key)
            & (NodeInstance.anchor_at == utc(clock.anchor_at))).first().run()
        if found is None:  # a brand-new clock
            rows = await NodeInstance.insert(NodeInstance(
                opportunity=opp_id, node_key=clock.node_key, stage=clock.stage, anchor_at=utc(clock.anchor_at),
                due_at=due, urgent=clock.urgent, created_at=now)).returning(NodeInstance.id).run()
            return rows[0]["id"]
        instance_id = found["id"]  # done once, undone since (a material went missing): the same clock again
    await NodeInstance.update({NodeInstance.status: "open", NodeInstance.closed_at: None, NodeInstance.due_at: due,
                               NodeInstance.urgent: clock.urgent}).where(NodeInstance.id == instance_id).run()
    return instance_id


async def dirty_opportunities(limit: int) -> list:
    rows = await Opportunity.raw(
        "SELECT id FROM opportunity WHERE facts_rev <> clock_rev ORDER BY id LIMIT {}", limit).run()
    return [r["id"] for r in rows]


# = ANY(ARRAY(…)) rather than IN (…): PostgreSQL turned IN into a hash semi-join over a sequential scan of the
# whole table (1.2 s for a 50,000-alarm batch out of 570,000 rows, 0.15 s for a minute with 5 alarms due); the
# array is built once and probed through the primary key.
_CLAIM_PG = ("UPDATE node_alarm SET fired_tick = {} WHERE id = ANY(ARRAY(SELECT id FROM node_alarm "
             "WHERE fired_tick IS NULL AND fire_at <= {} ORDER BY fire_at LIMIT {} FOR UPDATE SKIP LOCKED))")
_CLAIM_SQLITE = ("UPDATE node_alarm SET fired_tick = {} WHERE id IN (SELECT id FROM node_alarm "
                 "WHERE fired_tick IS NULL AND fire_at <= {} ORDER BY fire_at LIMIT {})")
_ALERTS = ("INSERT INTO alert (key, kind, opportunity, instance, node_key, level, urgent, tick, created_at) "
           "SELECT a.alert_key, CASE WHEN a.level = 0 THEN 'overdue' ELSE 'escalation' END, n.opportunity, "
           "n.id, n.node_key, a.level, n.urgent, {}, {} "
           "FROM node_alarm a JOIN node_instance n ON n.id = a.instance "
           "WHERE a.fired_tick = {} AND n.status = 'open' "
           "GROUP BY a.alert_key, a.level, n.opportunity, n.id, n.node_key, n.urgent "
           "ON CONFLICT (key) DO NOTHING")
_INBOX = ("INSERT INTO inbox_item (alert, \"user\", tick, created_at) "
          "SELECT al.id, a.recipient, {}, {} FROM node_alarm a JOIN alert al ON al.key = a.alert_key "
          "WHERE a.fired_tick = {} ON CONFLICT (alert, \"user\") DO NOTHING")


async def fire_due_alarms(now: datetime, quiet_until: datetime, batch: int = 15_000) -> tuple[int, int, int]:
    """Turn up to `batch` due alarms into their alerts, inbox items, pushes and webhook messages.
    Returns (alerts, inbox items, alarms claimed)."""
    tick = uuid.uuid4().hex
    engine = current_engine()
    claim = _CLAIM_PG if _is_postgres() else _CLAIM_SQLITE
    async with write_transaction():
        await engine.run_querystring(raw_sql(claim, tick, utc(now), batch))
        await engine.run_querystring(raw_sql(_ALERTS, tick, utc(now), tick))
        await engine.run_querystring(raw_sql(_INBOX, tick, utc(now), tick))
        await fan_out(tick, now, quiet_until)
        alerts = await Alert.count().where(Alert.tick == tick).run()
        inbox = await InboxItem.count().where(InboxItem.tick == tick).run()
        claimed = await NodeAlarm.count().where(NodeAlarm.fired_tick == tick).run()
    return alerts, inbox, claimed


# Two statements each (urgent now, the rest after quiet hours): a bound time inside CASE would be
# typed text by PostgreSQL.
_PUSHES = ("INSERT INTO push_outbox (inbox_item, subscription, status, not_before, attempts, created_at) "
           "SELECT i.id, s.id, 'pending', {}, 0, {} "
           "FROM inbox_item i JOIN alert al ON al.id = i.alert JOIN push_subscription s ON s.\"user\" = i.\"user\" "
           "WHERE i.tick = {} AND al.urgent = {} ON CONFLICT (inbox_item, subscription) DO NOTHING")
_HOOKS = ("INSERT INTO webhook_outbox (webhook, alert, status, not_before, created_at) "
          "SELECT w.id, al.id, 'pending', {}, {} "
          "FROM alert al JOIN opportunity o ON o.id = al.opportunity JOIN team_webhook w ON w.team = o.team "
          "WHERE al.tick = {} AND al.urgent = {} AND w.enabled = {} ON CONFLICT (webhook, alert) DO NOTHING")


async def fan_out(tick: str, now: datetime, quiet_until: datetime) -> None:
    """Queue a push per device of every new inbox item, and a chat message per team robot (same transaction)."""
    engine = current_engine()
    for urgent, when in ((True, now), (False, quiet_until)):
        await engine.run_querystring(raw_sql(_PUSHES, utc(when), utc(now), tick, urgent))
        await engine.run_querystring(raw_sql(_HOOKS, utc(when), utc(now), tick, urgent, True))


async def raise_alert(*, key: str, kind: str, recipients: list[str], now: datetime, quiet_until: datetime,
                      opportunity=None, urgent: bool = False, params: dict | None = None) -> int | None:
    """One alert now (a blocked gate, a test push…): inbox items and pushes in the caller's transaction.

    Returns the alert id, or None when an alert with this key exists already.
    """
    tick = uuid.uuid4().hex
    rows = await Alert.insert(Alert(key=key, kind=kind, opportunity=opportunity, urgent=urgent, params=params or {},
                                    tick=tick, created_at=now)).on_conflict(
        target=Alert.key, action="DO NOTHING").returning(Alert.id).run()
    if not rows:
        return None
    alert_id = rows[0]["id"]
    users = list(dict.fromkeys(r for r in recipients if r))
    if users:
        await InboxItem.insert(*[InboxItem(alert=alert_id, user=u, tick=tick, created_at=now) for u in users]).run()
    await fan_out(tick, now, quiet_until)
    return alert_id
