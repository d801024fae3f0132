"""Access control in one place: turn a domain Scope into Piccolo where-clauses.

Collaborations are resolved to ids first, so that the final filter is a
plain ``owner IN (…) OR team IN (…) OR id IN (…)`` over indexed columns
(an OR with a correlated sub-select makes PostgreSQL read every row).
"""

from __future__ import annotations

import time

from piccolo.columns.combination import Or

from server.domain.access import Scope
from server.tables import Customer, Opportunity, OpportunityCollaborator


_COLLAB_TTL = 10.0  # the same staleness as the cached Viewer (roles, teams)
_collab_cache: dict[str, tuple[float, list]] = {}


async def _collab_opportunity_ids(user_id: str) -> list:
    now = time.monotonic()
    hit = _collab_cache.get(user_id)
    if hit and hit[0] > now:
        return hit[1]
    rows = await OpportunityCollaborator.select(OpportunityCollaborator.opportunity).where(
        OpportunityCollaborator.user == user_id).run()
    ids = [r["opportunity"] for r in rows]
    if len(_collab_cache) > 10_000:
        _collab_cache.clear()
    _collab_cache[user_id] = (now + _COLLAB_TTL, ids)
    return ids


def forget_collaborations(user_id: str | None = None) -> None:
    """Call after changing collaborators, so this process sees it at once."""
    if user_id is None:
        _collab_cache.clear()
    else:
        _collab_cache.pop(str(user_id), None)


async def _where(scope: Scope, table, collab_ids):
    """owner IN (…) OR team IN (…) OR id IN (records reached through collaborations)."""
    if scope.everything:
        return None
    clauses = [table.owner.is_in(list(scope.owner_ids))]
    if scope.team_ids:
        clauses.append(table.team.is_in(list(scope.team_ids)))
    if scope.collaborator_id:
        ids = await collab_ids(scope.collaborator_id)
        if ids:
            clauses.append(table.id.is_in(ids))
    return _or(clauses)


async def _collab_customer_ids(user_id: str) -> list:
    opp_ids = await _collab_opportunity_ids(user_id)
    if not opp_ids:
        return []
    rows = await Opportunity.select(Opportunity.customer).where(Opportunity.id.is_in(opp_ids)).run()
    return list({r["customer"] for r in rows})


async def opportunity_where(scope: Scope):
    return await _where(scope, Opportunity, _collab_opportunity_ids)


async def customer_where(scope: Scope):
    return await _where(scope, Customer, _collab_customer_ids)


async def owner_team_where(scope: Scope, table):
    """The scope's owners and teams over any table with owner and team columns, collaborations left out:
    what a person or a team is measured by (the PHI, its daily snapshots), not what they may open."""
    return await _where(Scope(everything=scope.everything, owner_ids=scope.owner_ids, team_ids=scope.team_ids),
                        table, None)


def _or(clauses):
    where = clauses[0]
    for clause in clauses[1:]:
        where = Or(where, clause)
    return where


def apply(query, where):
    return query if where is None else query.where(where)
