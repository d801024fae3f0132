"""The manager board of one team: PHI and trend, per rep overdue nodes / open alerts / silent customers /
kickoff-meeting rate (each with the records behind it), the pinned key accounts' lines, the lost-deal review.

Everything is measured by the opportunity's team (as the PHI is); the rows are the team's active reps plus
anyone who owns a counted record of it. Rules (colours, the rate) are in ``server.domain.board``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from server.db import write_transaction
from server.domain import board as rules
from server.domain.access import Viewer, roles_from_db
from server.domain.gates import OppFacts, node_complete, node_due, node_status
from server.domain.playbook import Playbook
from server.errors import ApiError, not_found
from server.queries import audit, phi, workbench
from server.queries.common import contains_ci, parse_id, sid
from server.queries.customers import assert_visible
from server.queries.insight_sql import as_datetime, fetch, is_postgres
from server.queries.lost_review import lost_review
from server.queries.opp_facts import facts_of, fields_of
from server.schemas_board import (AccountDeal, BoardOut, Dot, KeyAccount, Kickoff, KickoffItem, OpenAlert,
                                  OverdueNode, PinIn, PinOut, RepRow, SilentRef, TeamRef)
from server.tables import Alert, Attachment, BoardPin, Customer, NodeInstance, Opportunity, Team, User

ALL = 1_000_000  # the silent list without a cut: every silent customer of the team is counted


# ---------------------------------------------------------------- whose board

async def teams_for(viewer: Viewer) -> list[TeamRef]:
    """The teams whose board the viewer may open (admins: every team; managers: the teams they manage)."""
    if not viewer.is_admin and not viewer.is_manager:
        raise ApiError(403, "forbidden", "The board is for managers and admins.")
    query = Team.select(Team.id, Team.name).order_by(Team.name)
    if not viewer.is_admin:
        if not viewer.managed_team_ids:
            return []
        query = query.where(Team.id.is_in([parse_id(t) for t in viewer.managed_team_ids]))
    return [TeamRef(id=str(r["id"]), name=r["name"]) for r in await query.run()]


async def resolve_team(viewer: Viewer, team_id: str | None) -> tuple[TeamRef, list[TeamRef]]:
    """The board's team (the first by name when none is asked for) and the teams to switch to.
    A team the viewer may not see does not exist for them (404)."""
    teams = await teams_for(viewer)
    if team_id is None:
        if not teams:
            raise ApiError(404, "not_found", "You manage no team, so there is no board to show.")
        return teams[0], teams
    wanted = str(parse_id(team_id, "team"))
    team = next((t for t in teams if t.id == wanted), None)
    if team is None:
        raise not_found("team")
    return team, teams


# ---------------------------------------------------------------- the board

async def board(viewer: Viewer, team_id: str | None, pb: Playbook, tz: ZoneInfo, now: datetime) -> BoardOut:
    team, teams = await resolve_team(viewer, team_id)
    health = await phi.health(viewer, "team", team.id, pb, tz, now)
    members = await _members(team.id)
    frm = now - timedelta(days=rules.KICKOFF_WINDOW_DAYS)
    overdue = await _overdue(team.id, now)
    alerts = await _alerts(team.id)
    silent = await _silent(viewer, pb, tz, now, set(members) | await _owners(team.id), team.id)
    kickoff = await _kickoff(pb, team.id, frm, now)
    for per_owner in (overdue, alerts, silent, kickoff):
        for owner in per_owner:
            members.setdefault(owner, None)
    names = await _names([u for u, n in members.items() if n is None])
    reps = []
    for user_id, name in members.items():
        outcomes = kickoff.get(user_id, [])
        on_time, counted, rate = rules.kickoff_rate(o.outcome for o in outcomes)
        reps.append(RepRow(user_id=user_id, name=name or names.get(user_id, "—"),
                           overdue=len(overdue.get(user_id, [])), overdue_items=overdue.get(user_id, []),
                           open_alerts=len(alerts.get(user_id, [])), alert_items=alerts.get(user_id, []),
                           silent=len(silent.get(user_id, [])), silent_items=silent.get(user_id, []),
                           kickoff=Kickoff(on_time=on_time, counted=counted, rate=rate,
                                           items=[o for o in outcomes if o.outcome != "not_due"])))
    reps.sort(key=lambda r: (-r.overdue, -r.open_alerts, -r.silent, r.name))
    review = await lost_review(viewer, "team", team.id, pb, now)
    return BoardOut(team=team, teams=teams, as_of=now, kickoff_from=frm, kickoff_to=now, phi=health, reps=reps,
                    accounts=await key_accounts(pb, team.id, tz, now), pin_limit=rules.MAX_PINS,
                    lost_review=review)


async def _members(team_id: str) -> dict[str, str | None]:
    """Active users of the team with the rep role: user id → name."""
    rows = await User.select(User.id, User.display_name, User.roles).where(
        (User.team == team_id) & (User.active == True)).order_by(User.display_name).run()  # noqa: E712
    return {str(r["id"]): r["display_name"] for r in rows if "rep" in roles_from_db(r["roles"])}


async def _owners(team_id: str) -> set[str]:
    rows = await User.select(User.id).where(User.team == team_id).run()
    return {str(r["id"]) for r in rows}


async def _names(ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in([parse_id(i) for i in ids])).run()
    return {str(r["id"]): r["display_name"] for r in rows}


async def _overdue(team_id: str, now: datetime) -> dict[str, list[OverdueNode]]:
    """Open node clocks past due on the team's open opportunities, per owner, the most late first."""
    o = NodeInstance.opportunity
    rows = await NodeInstance.select(
        NodeInstance.node_key, NodeInstance.due_at, o.id.as_alias("opp"), o.title.as_alias("title"),
        o.owner.as_alias("owner"), o.customer.id.as_alias("customer"), o.customer.name.as_alias("customer_name"),
    ).where((NodeInstance.status == "open") & (NodeInstance.due_at < now) & (o.team == team_id)
            & (o.status == "open")).order_by(NodeInstance.due_at).run()
    out: dict[str, list[OverdueNode]] = {}
    for r in rows:
        due = as_datetime(r["due_at"])
        out.setdefault(str(r["owner"]), []).append(OverdueNode(
            opportunity_id=str(r["opp"]), title=r["title"], customer_id=str(r["customer"]),
            customer_name=r["customer_name"], node=r["node_key"], due_at=due,
            hours_late=rules.hours_between(now, due)))
    return out


async def _alerts(team_id: str) -> dict[str, list[OpenAlert]]:
    """Open alerts on the team's opportunities, per owner, the newest first."""
    o = Alert.opportunity
    rows = await Alert.select(
        Alert.id, Alert.kind, Alert.level, Alert.node_key, Alert.created_at, o.id.as_alias("opp"),
        o.title.as_alias("title"), o.owner.as_alias("owner"), o.customer.name.as_alias("customer_name"),
    ).where(Alert.closed_at.is_null() & (o.team == team_id)).order_by(Alert.created_at, ascending=False).run()
    out: dict[str, list[OpenAlert]] = {}
    for r in rows:
        out.setdefault(str(r["owner"]), []).append(OpenAlert(
            alert_id=r["id"], kind=r["kind"], level=r["level"], node=r["node_key"], opportunity_id=str(r["opp"]),
            title=r["title"], customer_name=r["customer_name"], created_at=as_datetime(r["created_at"])))
    return out


async def _silent(viewer: Viewer, pb: Playbook, tz: ZoneInfo, now: datetime, owners: set[str],
                  team_id: str) -> dict[str, list[SilentRef]]:
    """The workbench's silent customers (snoozed ones left out, one row a customer) owned by the team.
    Asked as the manager of this one team, so an admin's or a multi-team manager's list is not the whole scope."""
    as_manager = msgspec.structs.replace(viewer, roles=("manager",), managed_team_ids=(team_id,), report_ids=())
    page = await workbench.silent_list(as_manager, "team", pb, tz, now, None, ALL)
    out: dict[str, list[SilentRef]] = {}
    for item in page.items:
        if item.owner_id in owners:
            out.setdefault(item.owner_id, []).append(SilentRef(
                customer_id=item.customer_id, customer_name=item.customer_name, opportunity_id=item.opportunity_id,
                days_silent=item.days_silent, threshold_days=item.threshold_days))
    return out


async def _present(opp_ids: list) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for start in range(0, len(opp_ids), 500):
        rows = await Attachment.select(Attachment.opportunity, Attachment.material).where(
            Attachment.opportunity.is_in(opp_ids[start:start + 500]) & (Attachment.status == "present")).run()
        for r in rows:
            if r["material"]:
                out.setdefault(str(r["opportunity"]), set()).add(r["material"])
    return {k: frozenset(v) for k, v in out.items()}


async def _kickoff(pb: Playbook, team_id: str, frm: datetime, now: datetime) -> dict[str, list[KickoffItem]]:
    """The kickoff-meeting clocks of the team's opportunities that fell due in [frm, now), judged per owner."""
    node = pb.node(rules.KICKOFF_NODE)
    if node is None:
        return {}
    o = NodeInstance.opportunity
    rows = await NodeInstance.select(
        NodeInstance.status, NodeInstance.due_at, NodeInstance.closed_at, o.id.as_alias("opp"),
        o.title.as_alias("title"), o.owner.as_alias("owner"), o.fields.as_alias("fields"),
        o.customer.name.as_alias("customer_name"),
    ).where((NodeInstance.node_key == rules.KICKOFF_NODE) & (NodeInstance.due_at >= frm)
            & (NodeInstance.due_at < now) & (o.team == team_id)).order_by(NodeInstance.due_at).run()
    present = await _present(list({r["opp"] for r in rows}))
    out: dict[str, list[KickoffItem]] = {}
    for r in rows:
        facts = OppFacts(stage="", substate=None, fields=fields_of(r["fields"]),
                         present_materials=present.get(str(r["opp"]), frozenset()), stage_entered_at=now)
        due, closed = as_datetime(r["due_at"]), as_datetime(r["closed_at"])
        outcome = rules.kickoff_outcome(r["status"], due, closed, node_complete(node, facts), now)
        out.setdefault(str(r["owner"]), []).append(KickoffItem(
            opportunity_id=str(r["opp"]), title=r["title"], customer_name=r["customer_name"], due_at=due,
            closed_at=closed, outcome=outcome))
    return out


# ---------------------------------------------------------------- key accounts

_DEAL = (Opportunity.id, Opportunity.customer, Opportunity.title, Opportunity.stage, Opportunity.substate,
         Opportunity.status, Opportunity.fields, Opportunity.stage_entered_at, Opportunity.last_contact_at,
         Opportunity.last_note_at, Opportunity.created_at, Opportunity.owner.display_name)


async def key_accounts(pb: Playbook, team_id: str, tz: ZoneInfo, now: datetime) -> list[KeyAccount]:
    """The pinned accounts in order, each with its most relevant deal (the latest open one, else the latest
    won one) and that deal's contract, delivery and service nodes along one line."""
    pins = await BoardPin.select(BoardPin.customer, BoardPin.customer.name, BoardPin.position,
                                 BoardPin.pinned_by.display_name, BoardPin.pinned_at).where(
        BoardPin.team == team_id).order_by(BoardPin.position).order_by(BoardPin.pinned_at).run()
    if not pins:
        return []
    deals = await Opportunity.select(*_DEAL).where(
        Opportunity.customer.is_in([p["customer"] for p in pins]) & Opportunity.status.is_in(["open", "won"])
    ).order_by(Opportunity.created_at, ascending=False).run()
    chosen: dict[str, dict] = {}
    for status in ("open", "won"):
        for d in deals:
            if d["status"] == status:
                chosen.setdefault(str(d["customer"]), d)
    present = await _present([d["id"] for d in chosen.values()])
    lane = rules.lane_nodes(pb)
    out = []
    for p in pins:
        deal = chosen.get(str(p["customer"]))
        dots: list[Dot] = []
        if deal is not None:
            facts = facts_of(deal, present.get(str(deal["id"]), frozenset()))
            for stage, node in lane:
                status = node_status(pb, stage, node, facts, now, tz)
                due = node_due(node, facts, tz) if status in ("pending", "overdue") else None
                state = rules.dot_state(status, due, now)
                dots.append(Dot(node=node.key, lane=node.board_lane or "", stage=stage.key, state=state,
                                colour=rules.colour(state), due_at=due,
                                hours_left=rules.hours_between(due, now) if due else None))
        out.append(KeyAccount(
            customer_id=str(p["customer"]), customer_name=p["customer.name"], position=p["position"],
            pinned_by=p["pinned_by.display_name"], pinned_at=as_datetime(p["pinned_at"]),
            opportunity=AccountDeal(id=str(deal["id"]), title=deal["title"], stage=deal["stage"],
                                    substate=deal["substate"], status=deal["status"],
                                    owner_name=deal["owner.display_name"]) if deal else None,
            dots=dots))
    return out


async def pin(viewer: Viewer, data: PinIn, now: datetime) -> PinOut:
    """Pin a customer of the team to its board: visible to the viewer, of that team, once, at most MAX_PINS."""
    team, _ = await resolve_team(viewer, data.team_id)
    customer = await assert_visible(viewer, data.customer_id)
    if sid(customer["team"]) != team.id:
        raise ApiError(422, "customer_not_in_team", "Pin customers of this team only; this one belongs to another "
                       "team (or none).", {"field": "customer_id"})
    async with write_transaction():
        if is_postgres():  # two pins at once: the second waits, then counts the first (SQLite's writer is exclusive)
            await fetch("SELECT id FROM team WHERE id = {} FOR UPDATE", parse_id(team.id))
        rows = await BoardPin.select(BoardPin.customer, BoardPin.position).where(BoardPin.team == team.id).run()
        problem = rules.pin_problem(any(str(r["customer"]) == str(customer["id"]) for r in rows), len(rows))
        if problem:
            raise ApiError(409, problem[0], problem[1], {"limit": rules.MAX_PINS})
        position = max((r["position"] for r in rows), default=0) + 1
        await BoardPin.insert(BoardPin(team=team.id, customer=customer["id"], position=position,
                                       pinned_by=viewer.id, pinned_at=now)).run()
        await audit.record("board.pin", actor_id=viewer.id, target_type="customer", target_id=customer["id"],
                           detail={"team_id": team.id, "position": position})
    return PinOut(team_id=team.id, customer_id=str(customer["id"]), customer_name=customer["name"],
                  position=position, pinned_by=viewer.id, pinned_at=now)


async def unpin(viewer: Viewer, customer_id: str, team_id: str | None) -> None:
    team, _ = await resolve_team(viewer, team_id)
    cid = parse_id(customer_id, "pin")
    async with write_transaction():
        gone = await BoardPin.delete().where((BoardPin.team == team.id) & (BoardPin.customer == cid)).returning(
            BoardPin.id).run()
        if not gone:
            raise not_found("pin")
        await audit.record("board.unpin", actor_id=viewer.id, target_type="customer", target_id=cid,
                           detail={"team_id": team.id})


async def pin_candidates(viewer: Viewer, team_id: str, q: str, limit: int = 10) -> list[dict]:
    """Customers of the team whose name or company contains `q`, not pinned yet (the page's search)."""
    text = q.strip()
    if not text:
        return []
    pinned = BoardPin.select(BoardPin.customer).where(BoardPin.team == team_id)
    like = f"%{text.replace('%', '').replace('_', '')}%"
    rows = await Customer.select(Customer.id, Customer.name, Customer.company, Customer.owner.display_name).where(
        (Customer.team == team_id) & (contains_ci(Customer.name, like) | contains_ci(Customer.company, like))
        & Customer.id.not_in(pinned)).order_by(Customer.name).limit(limit).run()
    return [{"id": str(r["id"]), "name": r["name"], "company": r["company"], "owner": r["owner.display_name"]}
            for r in rows]
