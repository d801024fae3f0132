"""What the gates and the deadline clocks judge an opportunity by: its facts and its people."""

from __future__ import annotations

import json

from server.domain.access import roles_from_db
from server.domain.gates import OppFacts
from server.domain.playbook import Playbook
from server.queries.common import sid
from server.tables import Attachment, Opportunity, OpportunityCollaborator, User


async def bump_facts(opp_id) -> None:
    """Something a deadline depends on changed: the deadline job re-plans this opportunity's clocks."""
    await Opportunity.update({Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
        Opportunity.id == opp_id).run()


def _json(value, kind: type):
    """A JSON column's value (Piccolo hands back text on some engines): a `kind`, or an empty one."""
    if isinstance(value, kind):
        return value
    try:
        parsed = json.loads(value or "null")
    except (TypeError, ValueError):
        return kind()
    return parsed if isinstance(parsed, kind) else kind()


def fields_of(value) -> dict:
    return _json(value, dict)


def list_of(value) -> list:
    return _json(value, list)


async def present_materials(opp_id) -> frozenset[str]:
    rows = await Attachment.select(Attachment.material).where(
        (Attachment.opportunity == opp_id) & (Attachment.status == "present")).run()
    return frozenset(r["material"] for r in rows if r["material"])


async def resolve_relations(pb: Playbook, owner_id) -> dict[str, str | None]:
    """Relation (owner, owner.manager, role:legal, user:alice) → user id, for this owner."""
    owner = await User.select(User.id, User.team, User.manager).where(User.id == owner_id).first().run()
    who: dict[str, str | None] = {"owner": sid(owner_id)}
    manager = sid(owner["manager"]) if owner else None
    who["owner.manager"] = manager
    grand = None
    if manager:
        row = await User.select(User.manager).where(User.id == manager).first().run()
        grand = sid(row["manager"]) if row else None
    who["owner.manager.manager"] = grand
    wanted = {r for _, n in pb.nodes for r in (n.executor, n.supervisor, *n.collaborators)}
    team_users = []
    if owner and owner["team"]:
        team_users = await User.select(User.id, User.roles).where(
            (User.team == owner["team"]) & (User.active == True)).order_by(User.username).run()  # noqa: E712
    for relation in wanted:
        if relation.startswith("role:"):
            role = relation[5:]
            who[relation] = next((str(u["id"]) for u in team_users if role in roles_from_db(u["roles"])), None)
        elif relation.startswith("user:"):
            row = await User.select(User.id).where((User.username == relation[5:]) & (User.active == True)).first().run()  # noqa: E712
            who[relation] = sid(row["id"]) if row else None
    return who


def facts_of(row: dict, present: frozenset[str]) -> OppFacts:
    return OppFacts(stage=row["stage"], substate=row["substate"], fields=fields_of(row["fields"]),
                    present_materials=present, stage_entered_at=row["stage_entered_at"],
                    last_contact_at=row["last_contact_at"], last_note_at=row["last_note_at"])


async def enlist_collaborators(opp_id, owner_id, nodes, who: dict[str, str | None]) -> None:
    """Colleagues a node in play names as executor or collaborator (role:presales, role:legal, user:x)
    join the opportunity as collaborators, so they can see it and supply what it waits for."""
    from server.queries.scope import forget_collaborations

    wanted: dict[str, str] = {}
    for node in nodes:
        for relation in (node.executor, *node.collaborators):
            user = who.get(relation)
            if user and user != str(owner_id) and relation not in ("owner.manager", "owner.manager.manager"):
                wanted.setdefault(user, relation.split(":", 1)[-1][:20])
    if not wanted:
        return
    await OpportunityCollaborator.insert(*[OpportunityCollaborator(opportunity=opp_id, user=user, role=role)
                                           for user, role in wanted.items()]).on_conflict(action="DO NOTHING").run()
    for user in wanted:
        forget_collaborations(user)
