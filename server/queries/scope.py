"""Access control in one place: turn a domain Scope into Piccolo where-clauses."""

from __future__ import annotations

from piccolo.columns.combination import Or, WhereRaw

from server.domain.access import Scope
from server.tables import Customer, Opportunity, OpportunityCollaborator


def _collab_opportunities(user_id: str):
    return OpportunityCollaborator.select(OpportunityCollaborator.opportunity).where(
        OpportunityCollaborator.user == user_id
    )


def opportunity_where(scope: Scope):
    if scope.everything:
        return None
    clauses = [Opportunity.owner.is_in(list(scope.owner_ids))]
    if scope.team_ids:
        clauses.append(Opportunity.team.is_in(list(scope.team_ids)))
    if scope.collaborator_id:
        clauses.append(Opportunity.id.is_in(_collab_opportunities(scope.collaborator_id)))
    return _or(clauses)


def customer_where(scope: Scope):
    if scope.everything:
        return None
    clauses = [Customer.owner.is_in(list(scope.owner_ids))]
    if scope.team_ids:
        clauses.append(Customer.team.is_in(list(scope.team_ids)))
    if scope.collaborator_id:
        collab_customers = Opportunity.select(Opportunity.customer).where(
            Opportunity.id.is_in(_collab_opportunities(scope.collaborator_id))
        )
        clauses.append(Customer.id.is_in(collab_customers))
    return _or(clauses)


def _or(clauses):
    where = clauses[0]
    for clause in clauses[1:]:
        where = Or(where, clause)
    return where


def apply(query, where):
    return query if where is None else query.where(where)


__all__ = ["customer_where", "opportunity_where", "apply", "WhereRaw"]
