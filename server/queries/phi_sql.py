"""The SQL behind the Process Health Index: counts per group, never a loop over the organisation's rows.

Each function takes an access filter (a Piccolo where-clause over ``opportunity``, from
``server.queries.scope``) and returns rows grouped as asked (by owner and team, or by week).
"""

from __future__ import annotations

from datetime import datetime

from piccolo.querystring import QueryString

from server.domain import phi
from server.domain.playbook import Playbook
from server.queries.insight_sql import days_between, fetch, placeholders, silent_condition, utc, where_sql

BASIS = "COALESCE(opportunity.last_contact_at, opportunity.created_at)"
GROUP = "opportunity.owner AS owner, opportunity.team AS team"
GROUP_BY = "opportunity.owner, opportunity.team"
OPP_COLUMNS = ("opportunity.id AS id, opportunity.title AS title, opportunity.customer AS customer_id, "
               "customer.name AS customer_name, opportunity.owner AS owner_id, app_user.display_name AS owner_name, "
               "opportunity.stage AS stage, opportunity.substate AS substate, opportunity.amount AS amount")
OPP_JOINS = ("JOIN customer ON customer.id = opportunity.customer "
             "JOIN app_user ON app_user.id = opportunity.owner")


def first_reach_sql(pb: Playbook, where, start: datetime, end: datetime) -> QueryString:
    """Per deal with a transition into solution confirmed (or a later stage) in [start, end): when it first
    reached one (``reached_at``) and when it first entered initial contact (``started_at``).

    One aggregate over those deals' transitions: the planner probes the (opportunity, to_stage, at) index
    per deal or scans, whichever is cheaper; no per-row subquery, and the scope narrows the deals first."""
    reached = phi.reached_stages(pb) or ["-"]
    marks = placeholders(reached)
    return QueryString(
        f"SELECT t.opportunity AS opp, MIN(CASE WHEN t.to_stage IN ({marks}) THEN t.at END) AS reached_at, "
        "MIN(CASE WHEN t.to_stage = {} THEN t.at END) AS started_at FROM stage_transition t "
        "WHERE t.opportunity IN (SELECT r.opportunity FROM stage_transition r "
        f"JOIN opportunity ON opportunity.id = r.opportunity WHERE r.to_stage IN ({marks}) "
        "AND r.at >= {} AND r.at < {} AND {}) GROUP BY t.opportunity",
        *reached, pb.phi.from_stage, *reached, utc(start), utc(end), where_sql(where))


def _days() -> str:
    return days_between("x.reached_at", "x.started_at")


_COUNTED = "x.reached_at >= {} AND x.reached_at < {} AND x.started_at IS NOT NULL AND x.started_at <= x.reached_at"


async def transitions(pb: Playbook, where, start: datetime, end: datetime, weeks: list[datetime],
                      now: datetime) -> list[dict]:
    """Deals that first reached the target stage in the window or in one of the trend's weeks, counted per
    owner, team, week (``bucket``: index into `weeks`, -1 before them) and ``in_window`` (1 or 0): n, days.
    One query for the window and the trend."""
    lo, hi = min(start, weeks[0]), max(end, now)
    bucket = ("CASE WHEN x.reached_at < {} THEN -1 "
              + " ".join("WHEN x.reached_at < {} THEN %d" % i for i in range(len(weeks) - 1))
              + f" ELSE {len(weeks) - 1} END")
    window = "CASE WHEN x.reached_at >= {} AND x.reached_at < {} THEN 1 ELSE 0 END"
    return await fetch(f"SELECT {GROUP}, {bucket} AS bucket, {window} AS in_window, COUNT(*) AS n, "
                       f"SUM({_days()}) AS days FROM ({{}}) x JOIN opportunity ON opportunity.id = x.opp "
                       f"WHERE {_COUNTED} GROUP BY {GROUP_BY}, 3, 4",
                       *[utc(w) for w in weeks], utc(start), utc(end), first_reach_sql(pb, where, lo, hi),
                       utc(lo), utc(hi))


async def transition_list(pb: Playbook, where, start: datetime, end: datetime, limit: int) -> list[dict]:
    return await fetch(f"SELECT {OPP_COLUMNS}, g.started_at AS started_at, g.reached_at AS reached_at, g.days AS days "
                       f"FROM (SELECT x.opp AS gid, x.started_at AS started_at, x.reached_at AS reached_at, "
                       f"{_days()} AS days FROM ({{}}) x WHERE {_COUNTED} ORDER BY days DESC, x.opp LIMIT {{}}) g "
                       f"JOIN opportunity ON opportunity.id = g.gid {OPP_JOINS} ORDER BY g.days DESC, opportunity.id",
                       first_reach_sql(pb, where, start, end), utc(start), utc(end), limit)


def required_sql(pb: Playbook) -> QueryString | None:
    """The materials each (stage, substate) requires, as a VALUES table (column1..3)."""
    rows = phi.required_materials(pb)
    if not rows:
        return None
    return QueryString("(VALUES " + ", ".join("({}, {}, {})" for _ in rows) + ")",
                       *[value for row in rows for value in row])


_PRESENT_PAIRS = ("LEFT JOIN (SELECT a.opportunity AS opp, a.material AS material FROM attachment a "
                  "WHERE a.status = 'present' GROUP BY a.opportunity, a.material) p "
                  "ON p.opp = opportunity.id AND p.material = req.column3")
_REQ_JOIN = "JOIN {} req ON req.column1 = opportunity.stage AND req.column2 = COALESCE(opportunity.substate, '')"


async def completeness(pb: Playbook, where) -> list[dict]:
    """owner, team, required, present — over the open deals."""
    req = required_sql(pb)
    if req is None:
        return []
    return await fetch(f"SELECT {GROUP}, COUNT(*) AS required, COUNT(p.opp) AS present FROM opportunity "
                       f"{_REQ_JOIN} {_PRESENT_PAIRS} WHERE opportunity.status = 'open' AND {{}} GROUP BY {GROUP_BY}",
                       req, where_sql(where))


async def completeness_list(pb: Playbook, where, limit: int) -> list[dict]:
    """Open deals with required materials, the most missing first: id …, required, present, deals (all of them).
    Ranked and cut on the opportunity alone; names are joined for the rows shown only."""
    req = required_sql(pb)
    if req is None:
        return []
    return await fetch(f"SELECT {OPP_COLUMNS}, g.required AS required, g.present AS present, g.deals AS deals FROM ("
                       "SELECT opportunity.id AS gid, COUNT(*) AS required, COUNT(p.opp) AS present, "
                       "COUNT(*) OVER () AS deals, MAX(COALESCE(opportunity.amount, 0)) AS amt "
                       f"FROM opportunity {_REQ_JOIN} {_PRESENT_PAIRS} WHERE opportunity.status = 'open' AND {{}} "
                       "GROUP BY opportunity.id ORDER BY COUNT(*) - COUNT(p.opp) DESC, amt DESC, opportunity.id "
                       f"LIMIT {{}}) g JOIN opportunity ON opportunity.id = g.gid {OPP_JOINS} "
                       "ORDER BY g.required - g.present DESC, g.amt DESC, opportunity.id",
                       req, where_sql(where), limit)


async def present_materials(opp_ids: list) -> list[dict]:
    if not opp_ids:
        return []
    return await fetch("SELECT DISTINCT attachment.opportunity AS opp, attachment.material AS material "
                       f"FROM attachment WHERE attachment.opportunity IN ({placeholders(opp_ids)}) "
                       "AND attachment.status = 'present'", *opp_ids)


async def silence(pb: Playbook, where, now: datetime) -> list[dict]:
    """owner, team, open, silent — over the open deals."""
    return await fetch(f"SELECT {GROUP}, COUNT(*) AS open, SUM(CASE WHEN {{}} THEN 1 ELSE 0 END) AS silent "
                       f"FROM opportunity WHERE opportunity.status = 'open' AND {{}} GROUP BY {GROUP_BY}",
                       silent_condition(pb, now, BASIS), where_sql(where))


async def silence_list(pb: Playbook, where, now: datetime, limit: int) -> list[dict]:
    """Open deals, the silent ones first, longest silence first (cut before the names are joined)."""
    return await fetch(f"SELECT {OPP_COLUMNS}, opportunity.last_contact_at AS last_contact_at, g.basis AS basis, "
                       f"g.silent AS silent FROM (SELECT opportunity.id AS gid, {BASIS} AS basis, "
                       "CASE WHEN {} THEN 1 ELSE 0 END AS silent FROM opportunity "
                       "WHERE opportunity.status = 'open' AND {} "
                       "ORDER BY silent DESC, basis, opportunity.id LIMIT {}) g "
                       f"JOIN opportunity ON opportunity.id = g.gid {OPP_JOINS} "
                       "ORDER BY g.silent DESC, g.basis, opportunity.id",
                       silent_condition(pb, now, BASIS), where_sql(where), limit)
