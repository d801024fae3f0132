"""Access control in one place: turn a domain Scope into Piccolo where-clauses.

Collaborations are resolved to ids first, so that the final filter is a
plain ``owner IN (…) OR team IN (…) OR id IN (…)`` over indexed columns
(an OR with a correlated sub-select makes PostgreSQL read every row).
"""

from __future__ import annotations

from piccolo.columns.combination import Or

from server.domain.access import Scope
from server.tables import Customer, Opportunity, OpportunityCollaborator


async def _collab_opportunity_ids(user_id: str) -> list:
    rows = await OpportunityCollaborator.select(OpportunityCollaborator.opportunity).where(
        OpportunityCollaborator.user == user_id).run()
    return [r["opportunity"] for r in rows]


async def opportunity_where(scope: Scope):
    if scope.everything:
        return None
    clauses = [Opportunity.owner.is_in(list(scope.owner_ids))]
    if scope.team_ids:
        clauses.append(Opportunity.team.is_in(list(scope.team_ids)))
    if scope.collaborator_id:
        ids = await _collab_opportunity_ids(scope.collaborator_id)
        if ids:
            clauses.append(Opportunity.id.is_in(ids))
    return _or(clauses)


async def customer_where(scope: Scope):
    if scope.everything:
        return None
    clauses = [Customer.owner.is_in(list(scope.owner_ids))]
    if scope.team_ids:
        clauses.append(Customer.team.is_in(list(scope.team_ids)))
    if scope.collaborator_id:
        opp_ids = await _collab_opportunity_ids(scope.collaborator_id)
        if opp_ids:
            rows = await Opportunity.select(Opportunity.customer).where(Opportunity.id.is_in(opp_ids)).run()
            customer_ids = list({r["customer"] for r in rows})
            if customer_ids:
                clauses.append(Customer.id.is_in(customer_ids))
    return _or(clauses)


def _or(clauses):
    where = clauses[0]
    for clause in clauses[1:]:
        where = Or(where, clause)
    return where


def apply(query, where):
    return query if where is None else query.where(where)
