"""Opportunities: create, read with the responsibility map, edit fields, and gated transitions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from piccolo.columns.combination import And, Or
from piccolo.query.functions.aggregate import Count

from server.db import write_transaction
from server.domain.access import Viewer, scope_for
from server.domain.gates import Missing, OppFacts, TransitionError, missing_for_exit, node_status, node_due, plan_move
from server.domain.alerts import quiet_until
from server.domain.playbook import Playbook
from server.errors import ApiError, not_found
from server.queries import alerting, audit, scope
from server.queries.common import decode_cursor, encode_cursor, parse_id, sid, utcnow
from server.queries.customers import _owner_for, assert_visible
from server.queries.opp_facts import bump_facts, facts_of, fields_of, present_materials, resolve_relations
from server.schemas import (
    MaterialState,
    NodeState,
    OpportunityCreate,
    OpportunityOut,
    OpportunityPage,
    OpportunityUpdate,
    TransitionIn,
)
from server.tables import Alert, NodeInstance, Opportunity, StageTransition

PAGE_SIZE = 50
_COLUMNS = (*Opportunity.all_columns(), Opportunity.customer.name, Opportunity.owner.display_name)


def _name(text, locale: str) -> str:
    return text.pick(locale)


async def _row(viewer: Viewer, opp_id: str) -> dict:
    where = await scope.opportunity_where(scope_for(viewer))
    query = Opportunity.select(*_COLUMNS).where(Opportunity.id == parse_id(opp_id, "opportunity"))
    row = await scope.apply(query, where).first().run()
    if not row:
        raise not_found("opportunity")
    return row


def _out(row: dict, pb: Playbook | None = None, facts: OppFacts | None = None, who: dict | None = None,
         now: datetime | None = None, tz: ZoneInfo | None = None, locale: str = "zh_CN") -> OpportunityOut:
    nodes, blocking = [], []
    if pb is not None and facts is not None and pb.stage(facts.stage) is not None:
        for stage in pb.stages:
            for node in stage.nodes:
                nodes.append(NodeState(
                    key=node.key, stage=stage.key, substate=node.substate, name=_name(node.name, locale),
                    status=node_status(pb, stage, node, facts, now, tz), gate=node.gate,
                    due_at=node_due(node, facts, tz) if stage.key == facts.stage else None,
                    executor=node.executor, executor_user_id=(who or {}).get(node.executor),
                    collaborators=list(node.collaborators), supervisor=node.supervisor,
                    supervisor_user_id=(who or {}).get(node.supervisor), fields=list(node.fields),
                    materials=[MaterialState(key=m.key, name=_name(m.name, locale),
                                             present=m.key in facts.present_materials) for m in node.materials]))
        if pb.stage(facts.stage) and pb.stage(facts.stage).terminal is None:
            blocking = [_missing_json(m) for m in missing_for_exit(pb, facts, who or {})]
    return OpportunityOut(
        id=str(row["id"]), customer_id=str(row["customer"]), customer_name=row.get("customer.name"),
        title=row["title"], amount=float(row["amount"]) if row["amount"] is not None else None,
        owner_id=str(row["owner"]), owner_name=row.get("owner.display_name"), team_id=sid(row["team"]),
        stage=row["stage"], substate=row["substate"], status=row["status"], fields=fields_of(row["fields"]),
        lost_reason=row["lost_reason"], stage_entered_at=row["stage_entered_at"],
        last_contact_at=row["last_contact_at"], created_at=row["created_at"], updated_at=row["updated_at"],
        version=row["version"], playbook_version=row.get("playbook_version"), nodes=nodes, blocking=blocking,
        overdue_nodes=sum(1 for n in nodes if n.status == "overdue"))


def _missing_json(m: Missing) -> dict:
    out = {"node": m.node, "owner_user_id": m.owner_user_id, "owner_role": m.owner_role}
    for key in ("material", "field", "action"):
        value = getattr(m, key)
        if value is not None:
            out[key] = value
    return out


async def get_opportunity(viewer: Viewer, opp_id: str, pb: Playbook, tz: ZoneInfo, locale: str) -> OpportunityOut:
    row = await _row(viewer, opp_id)
    facts = facts_of(row, await present_materials(row["id"]))
    who = await resolve_relations(pb, row["owner"])
    return _out(row, pb, facts, who, utcnow(), tz, locale)


async def create_opportunity(viewer: Viewer, data: OpportunityCreate, pb: Playbook, tz: ZoneInfo,
                             locale: str) -> OpportunityOut:
    customer = await assert_visible(viewer, data.customer_id)
    owner_id, team_id = await _owner_for(viewer, data.owner_id)
    first = pb.stages[0]
    now = utcnow()
    opp = Opportunity(customer=customer["id"], title=data.title.strip(), amount=data.amount, owner=owner_id,
                      team=team_id, stage=first.key, substate=first.substates[0] if first.substates else None,
                      stage_entered_at=now, last_contact_at=customer["last_contact_at"],
                      playbook_version=pb.version, created_at=now, updated_at=now)
    async with write_transaction():
        await Opportunity.insert(opp).run()
        await StageTransition.insert(StageTransition(opportunity=opp.id, user=viewer.id, to_stage=first.key,
                                                     to_substate=opp.substate, at=now)).run()
        await audit.record("opportunity.create", actor_id=viewer.id, target_type="opportunity", target_id=opp.id)
    return await get_opportunity(viewer, str(opp.id), pb, tz, locale)


async def list_opportunities(viewer: Viewer, stage: str | None, owner_id: str | None,
                             cursor: str | None, limit: int = PAGE_SIZE) -> OpportunityPage:
    where = await scope.opportunity_where(scope_for(viewer))
    query = Opportunity.select(*_COLUMNS)
    conditions = [] if where is None else [where]
    if stage:
        conditions.append(Opportunity.stage == stage)
    if owner_id:
        conditions.append(Opportunity.owner == parse_id(owner_id, "user"))
    if cursor:
        updated, last_id = decode_cursor(cursor, 2)
        try:
            when = datetime.fromisoformat(updated)
        except (TypeError, ValueError):
            raise ApiError(400, "invalid_cursor", "The page cursor is not valid; start from the first page.") from None
        conditions.append(Or(Opportunity.updated_at < when,
                             And(Opportunity.updated_at == when, Opportunity.id > parse_id(last_id))))
    for condition in conditions:
        query = query.where(condition)
    rows = await query.order_by(Opportunity.updated_at, ascending=False).order_by(Opportunity.id).limit(limit + 1).run()
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor(last["updated_at"], str(last["id"]))
    items = [_out(r) for r in rows[:limit]]
    late = await _overdue_counts([r["id"] for r in rows[:limit]])
    for item in items:
        item.overdue_nodes = late.get(item.id, 0)
    return OpportunityPage(items=items, next=nxt)


async def _overdue_counts(opp_ids: list) -> dict[str, int]:
    """Open node clocks past their due time, per opportunity (as planned by the deadline job)."""
    if not opp_ids:
        return {}
    rows = await NodeInstance.select(NodeInstance.opportunity, Count(NodeInstance.id, alias="late")).where(
        NodeInstance.opportunity.is_in(opp_ids) & (NodeInstance.status == "open")
        & (NodeInstance.due_at < utcnow())).group_by(NodeInstance.opportunity).run()
    return {str(r["opportunity"]): r["late"] for r in rows}


async def update_opportunity(viewer: Viewer, opp_id: str, data: OpportunityUpdate, pb: Playbook, tz: ZoneInfo,
                             locale: str) -> OpportunityOut:
    known = {f.key for f in pb.fields}
    unknown = sorted(set(data.fields or {}) - known)
    if unknown:
        raise ApiError(422, "unknown_field", f"Unknown field(s): {', '.join(unknown)}; the playbook names "
                       f"{', '.join(sorted(known))}.", {"fields": unknown})
    row = await _row(viewer, opp_id)
    changes: dict = {Opportunity.updated_at: utcnow(), Opportunity.version: row["version"] + 1}
    if data.title is not None:
        changes[Opportunity.title] = data.title.strip()
    if data.amount is not None:
        changes[Opportunity.amount] = data.amount
    if data.fields is not None:
        changes[Opportunity.fields] = {**fields_of(row["fields"]), **data.fields}
        changes[Opportunity.facts_rev] = Opportunity.facts_rev + 1
    async with write_transaction():
        done = await Opportunity.update(changes).where(
            (Opportunity.id == row["id"]) & (Opportunity.version == row["version"])).returning(Opportunity.id).run()
        if not done:
            raise ApiError(409, "conflict", "Someone else changed this opportunity just now; reload and try again.")
        await audit.record("opportunity.update", actor_id=viewer.id, target_type="opportunity", target_id=row["id"],
                           detail={"fields": sorted((data.fields or {}).keys())})
    return await get_opportunity(viewer, opp_id, pb, tz, locale)


async def _record_blocked(viewer: Viewer, row: dict, to: str, missing: list[Missing], pb: Playbook, who: dict,
                          tz: ZoneInfo, quiet) -> None:
    """Audit the refused move and tell the supervisors of the blocking nodes (once per step and day)."""
    now = utcnow()
    nodes = [pb.node(m.node) for m in missing]
    supervisors = [who.get(n.supervisor) for n in nodes if n is not None]
    items = [_missing_json(m) for m in missing]
    async with write_transaction():
        await audit.record("gate.blocked", actor_id=viewer.id, target_type="opportunity", target_id=row["id"],
                           detail={"to": to, "missing": items, "supervisor_user_ids": sorted(
                               {s for s in supervisors if s})})
        day = now.astimezone(tz).date().isoformat()
        await alerting.raise_alert(
            key=f"gate:{row['id']}:{row['stage']}:{row['substate'] or ''}:{day}", kind="gate_blocked",
            recipients=[s for s in supervisors if s and s != str(viewer.id)], opportunity=row["id"],
            now=now, quiet_until=quiet_until(now, tz, quiet),
            params={"by": viewer.display_name, "to": to, "items": items[:20]})


async def transition(viewer: Viewer, opp_id: str, data: TransitionIn, pb: Playbook, tz: ZoneInfo,
                     locale: str, quiet=None) -> OpportunityOut:
    row = await _row(viewer, opp_id)
    reason = (data.reason or "").strip() or None
    try:
        move = plan_move(pb, row["stage"], row["substate"], data.to, reason)
    except TransitionError as exc:
        raise ApiError(422, "invalid_transition", str(exc)) from None
    override = False
    present = who = None
    if move.kind in ("forward", "won"):
        present = await present_materials(row["id"])
        facts = facts_of(row, present)
        who = await resolve_relations(pb, row["owner"])
        missing = missing_for_exit(pb, facts, who)
        if missing and data.override:
            if not viewer.is_admin:
                raise ApiError(403, "override_forbidden", "Only an admin may override a gate.")
            if not reason:
                raise ApiError(422, "reason_required", "A gate override needs a reason.")
            override = True
        elif missing:
            await _record_blocked(viewer, row, data.to, missing, pb, who, tz, quiet)
            raise ApiError(409, "gate_blocked",
                           f"{len(missing)} required item(s) are missing before leaving this step.",
                           {"missing": [_missing_json(m) for m in missing]})
    now = utcnow()
    status = {"won": "won", "lost": "lost"}.get(move.kind, "open")
    async with write_transaction():
        done = await Opportunity.update({
            Opportunity.stage: move.stage, Opportunity.substate: move.substate, Opportunity.status: status,
            Opportunity.stage_entered_at: now, Opportunity.updated_at: now,
            Opportunity.version: row["version"] + 1, Opportunity.facts_rev: Opportunity.facts_rev + 1,
            Opportunity.lost_reason: reason if move.kind == "lost" else row["lost_reason"],
            Opportunity.playbook_version: pb.version,  # the version that judged this move
        }).where((Opportunity.id == row["id"]) & (Opportunity.version == row["version"])).returning(
            Opportunity.id).run()
        if not done:
            raise ApiError(409, "conflict", "This opportunity was moved by someone else just now; reload it.")
        await StageTransition.insert(StageTransition(
            opportunity=row["id"], user=viewer.id, from_stage=row["stage"], from_substate=row["substate"],
            to_stage=move.stage, to_substate=move.substate, reason=reason, override=override, at=now,
            playbook_version=int(pb.version) if pb.version.isdigit() else None)).run()
        if move.kind != "back":  # the step is taken: its blocked-gate alerts are settled
            await alerting.close_alerts((Alert.opportunity == row["id"]) & (Alert.kind == "gate_blocked"), now)
        if override:
            await audit.record("gate.override", actor_id=viewer.id, target_type="opportunity", target_id=row["id"],
                               detail={"to": data.to, "reason": reason})
    # the answer is computed from what was loaded for the gate, not read a second time
    moved = {**row, "stage": move.stage, "substate": move.substate, "status": status, "stage_entered_at": now,
             "updated_at": now, "version": row["version"] + 1, "playbook_version": pb.version,
             "lost_reason": reason if move.kind == "lost" else row["lost_reason"]}
    if present is None:
        present = await present_materials(row["id"])
    if who is None:
        who = await resolve_relations(pb, row["owner"])
    return _out(moved, pb, facts_of(moved, present), who, now, tz, locale)
