"""The silent-customer workbench: the list (set-based SQL), snoozes, and the digest's counts per owner.

Candidates are the open opportunities silent beyond their stage's threshold and the customers
without an open opportunity silent beyond the default one. The database computes each one's risk
with the formula of ``server.domain.silence`` (``risk_sql``), keeps one row per customer (its
riskiest deal), orders them as ``silence.most_at_risk`` does and hands back one page; the page's
risk values are then worked out again by the pure rule.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

from piccolo.querystring import QueryString

from server.db import write_transaction
from server.domain import silence
from server.domain.access import Viewer, scope_for
from server.domain.playbook import Playbook
from server.errors import ApiError, not_found
from server.queries import audit, scope
from server.queries.customers import assert_visible
from server.queries.insight_sql import (as_date, as_datetime, as_float, days_since, fetch, placeholders, probe_each,
                                        real, round2, silent_condition, utc, where_sql)
from server.queries.common import parse_id, sid
from server.schemas_insight import SilentItem, SilentPage, SnoozedItem, SnoozeIn, SnoozeOut
from server.tables import Customer, CustomerSnooze, Opportunity

LIMIT = 200
_BASIS_OPP = "COALESCE(opportunity.last_contact_at, opportunity.created_at)"
_BASIS_CUSTOMER = "COALESCE(customer.last_contact_at, customer.created_at)"
_NOT_SNOOZED = "(s.until IS NULL OR s.until < {})"
# Every silent, not snoozed candidate (an open deal, or a customer without one) with its risk; per customer
# the riskiest one (ties: the longer silence, then the deal id) and how many silent deals it has; one page
# of those, most at risk first (ties: the longer silence, then the customer id) -- silence.most_at_risk's
# order -- then the page's details. Only `limit` rows leave the database.
_RANKED = (
    "WITH cand AS ("
    "SELECT opportunity.customer AS customer_id, opportunity.id AS opportunity_id, opportunity.stage AS stage, "
    f"opportunity.amount AS amount, {_BASIS_OPP} AS basis, {{}} AS risk FROM opportunity "
    "LEFT JOIN customer_snooze s ON s.customer = opportunity.customer "
    f"WHERE opportunity.status = 'open' AND {{}} AND {{}} AND {_NOT_SNOOZED} "
    "UNION ALL SELECT customer.id AS customer_id, NULL AS opportunity_id, NULL AS stage, NULL AS amount, "
    f"{_BASIS_CUSTOMER} AS basis, {{}} AS risk FROM customer "
    "LEFT JOIN customer_snooze s ON s.customer = customer.id "
    f"WHERE {_BASIS_CUSTOMER} < {{}} AND {{}} AND {_NOT_SNOOZED} "
    "AND NOT EXISTS (SELECT 1 FROM opportunity o WHERE o.customer = customer.id AND o.status = 'open'{})"
    "), ranked AS (SELECT cand.*, "
    "ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY risk DESC, basis, opportunity_id) AS rn, "
    "COUNT(opportunity_id) OVER (PARTITION BY customer_id) AS deals FROM cand), "
    "best AS (SELECT ranked.*, COUNT(*) OVER () AS total FROM ranked WHERE rn = 1 "
    "ORDER BY risk DESC, basis, customer_id LIMIT {}) "
    "SELECT best.customer_id AS customer_id, best.opportunity_id AS opportunity_id, best.stage AS stage, "
    "best.amount AS amount, best.basis AS basis, best.deals AS deals, best.total AS total, "
    "c.name AS customer_name, c.phone AS phone, c.company AS company, o.title AS title, "
    "COALESCE(o.owner, c.owner) AS owner_id, u.display_name AS owner_name, "
    "CASE WHEN best.opportunity_id IS NULL THEN c.last_contact_at ELSE o.last_contact_at END AS last_contact_at "
    "FROM best JOIN customer c ON c.id = best.customer_id LEFT JOIN opportunity o ON o.id = best.opportunity_id "
    "JOIN app_user u ON u.id = COALESCE(o.owner, c.owner) ORDER BY best.risk DESC, best.basis, best.customer_id")
# The snoozed customers of the list: silent (a deal of theirs in scope, or they without an open deal), snooze held.
_SNOOZED = (
    "SELECT s.customer AS customer_id, customer.name AS customer_name, s.until AS until, s.reason AS reason, "
    "s.\"user\" AS user_id FROM customer_snooze s JOIN customer ON customer.id = s.customer WHERE s.until >= {} AND ("
    "EXISTS (SELECT 1 FROM opportunity WHERE opportunity.customer = s.customer AND opportunity.status = 'open' "
    f"AND {{}} AND {{}}) OR ({_BASIS_CUSTOMER} < {{}} AND {{}} "
    "AND NOT EXISTS (SELECT 1 FROM opportunity o WHERE o.customer = customer.id AND o.status = 'open')))")


async def _wheres(viewer: Viewer, scope_name: str):
    """(opportunity filter, customer filter): what the viewer owns, or their team's (through scope.py)."""
    if scope_name == "me":
        return Opportunity.owner == viewer.id, Customer.owner == viewer.id
    problem = silence.team_scope_problem(viewer)
    if problem:
        raise ApiError(403, "forbidden", problem)
    access = scope_for(viewer)
    return await scope.opportunity_where(access), await scope.customer_where(access)


def risk_sql(pb: Playbook, now: datetime, basis: str, stage: str | None, amount: str | None) -> QueryString:
    """SQL for silence.risk of a row (rounded to cents as the rule does): the same formula, so the database
    can order by it and hand back one page. `stage`/`amount` are column expressions (None: a customer)."""
    factors = silence.stage_factors(pb)
    days = days_since(now, basis)
    if stage is None:
        threshold, weight, args = str(pb.silence_days), "1.0", []
    else:
        keys = [k for k in factors if k is not None]
        threshold = (f"CASE {stage} " + " ".join(f"WHEN {{}} THEN {factors[k][0]}" for k in keys)
                     + f" ELSE {pb.silence_days} END")
        weight = (f"CASE {stage} " + " ".join(f"WHEN {{}} THEN {factors[k][1]!r}" for k in keys) + " ELSE 1.0 END")
        args = [*keys, *keys]
    weight_of_amount = "1.0" if amount is None else (
        f"CASE WHEN {amount} IS NULL OR {amount} <= 0 THEN 1.0 "
        f"ELSE 1.0 + log10(1.0 + {real(amount)} / {silence.AMOUNT_UNIT!r}) END")
    expr = f"(({real('{}')} - {threshold}) * {real(weight_of_amount)} * {real(weight)})"
    return QueryString(round2(expr), days, *args)


async def silent_list(viewer: Viewer, scope_name: str, pb: Playbook, tz: ZoneInfo, now: datetime,
                      meeting_template: str | None = None, limit: int = LIMIT) -> SilentPage:
    opp_where, customer_where = await _wheres(viewer, scope_name)
    today = silence.local_today(now, tz)
    customer_cut = utc(now - pb.silence_days * silence.DAY)
    rows, snoozed_rows = await asyncio.gather(
        fetch(_RANKED, risk_sql(pb, now, _BASIS_OPP, "opportunity.stage", "opportunity.amount"),
              silent_condition(pb, now, _BASIS_OPP), where_sql(opp_where), today,
              risk_sql(pb, now, _BASIS_CUSTOMER, None, None), customer_cut, where_sql(customer_where), today,
              probe_each(), limit),
        fetch(_SNOOZED, today, silent_condition(pb, now, _BASIS_OPP), where_sql(opp_where), customer_cut,
              where_sql(customer_where)))
    factors = silence.stage_factors(pb)
    ranked = []
    for row in rows:
        c = silence.Candidate(customer_id=str(row["customer_id"]), opportunity_id=sid(row["opportunity_id"]),
                              basis=as_datetime(row["basis"]), stage=row["stage"], amount=as_float(row["amount"]))
        ranked.append((row, c, silence.risk(pb, basis=c.basis, stage=c.stage, amount=c.amount, now=now,
                                            factors=factors), int(row["deals"])))
    phones = await _contact_phones([c.customer_id for row, c, _, _ in ranked if not row["phone"]])
    items = [_item(pb, row, c, risk, deals, now, phones, meeting_template) for row, c, risk, deals in ranked]
    snoozed = [SnoozedItem(customer_id=str(r["customer_id"]), customer_name=r["customer_name"],
                           until=as_date(r["until"]), reason=r["reason"], user_id=str(r["user_id"]))
               for r in snoozed_rows]
    return SilentPage(scope=scope_name, items=items, total=int(rows[0]["total"]) if rows else 0,  # type: ignore[arg-type]
                      snoozed=sorted(snoozed, key=lambda s: (s.until, s.customer_name)), as_of=now)


def _item(pb: Playbook, row: dict, c: silence.Candidate, risk: float, deals: int, now: datetime,
          phones: dict[str, str], meeting_template: str | None) -> SilentItem:
    phone = row["phone"] or phones.get(c.customer_id)
    return SilentItem(
        customer_id=c.customer_id, opportunity_id=c.opportunity_id, customer_name=row["customer_name"],
        phone=phone, days_silent=silence.days_silent(c.basis, now),
        last_contact_at=as_datetime(row["last_contact_at"]), owner_id=str(row["owner_id"]),
        owner_name=row["owner_name"], company=row["company"], opportunity_title=row.get("title"),
        stage=c.stage, threshold_days=silence.threshold_days(pb, c.stage), amount=c.amount, risk=risk,
        silent_opportunities=deals,
        meeting_url=silence.fill_meeting_url(meeting_template, phone, row["customer_name"])
        if meeting_template else None)


async def _contact_phones(customer_ids: list[str]) -> dict[str, str]:
    """A key contact's phone for the listed customers that have none of their own."""
    if not customer_ids:
        return {}
    rows = await fetch("SELECT contact.customer AS customer_id, contact.phone AS phone FROM contact "
                       f"WHERE contact.customer IN ({placeholders(customer_ids)}) AND contact.phone IS NOT NULL "
                       "ORDER BY contact.is_key DESC, contact.created_at", *[parse_id(i) for i in customer_ids])
    out: dict[str, str] = {}
    for row in rows:
        out.setdefault(str(row["customer_id"]), row["phone"])
    return out


# ---------------------------------------------------------------- snoozes

async def snooze(viewer: Viewer, data: SnoozeIn, pb: Playbook, tz: ZoneInfo, now: datetime) -> SnoozeOut:
    customer = await assert_visible(viewer, data.customer_id)
    reason = data.reason.strip()
    if not reason:
        raise ApiError(422, "reason_required", "Say why this customer may stay quiet (reason).", {"field": "reason"})
    problem = silence.snooze_problem(data.until, silence.local_today(now, tz), pb.snooze_max_days)
    if problem:
        raise ApiError(422, "invalid_snooze", problem, {"field": "until", "max_days": pb.snooze_max_days})
    row = CustomerSnooze(customer=customer["id"], user=viewer.id, reason=reason, until=data.until, created_at=now)
    async with write_transaction():
        await CustomerSnooze.insert(row).on_conflict(
            target=CustomerSnooze.customer, action="DO UPDATE",
            values=[CustomerSnooze.user, CustomerSnooze.reason, CustomerSnooze.until, CustomerSnooze.created_at]).run()
        await audit.record("customer.snooze", actor_id=viewer.id, target_type="customer", target_id=customer["id"],
                           detail={"until": data.until.isoformat(), "reason": reason})
    return SnoozeOut(customer_id=str(customer["id"]), reason=reason, until=data.until, user_id=viewer.id,
                     created_at=now)


async def end_snooze(viewer: Viewer, customer_id: str) -> None:
    """The customer is back on the workbench at once (when silent)."""
    customer = await assert_visible(viewer, customer_id)
    async with write_transaction():
        gone = await CustomerSnooze.delete().where(CustomerSnooze.customer == customer["id"]).returning(
            CustomerSnooze.id).run()
        if not gone:
            raise not_found("snooze")
        await audit.record("customer.snooze_end", actor_id=viewer.id, target_type="customer",
                           target_id=customer["id"])


# ---------------------------------------------------------------- the 09:00 digest

_DIGEST = (
    "SELECT x.owner_id AS owner_id, COUNT(DISTINCT x.customer_id) AS n FROM ("
    "SELECT opportunity.owner AS owner_id, opportunity.customer AS customer_id FROM opportunity "
    "LEFT JOIN customer_snooze s ON s.customer = opportunity.customer "
    "WHERE opportunity.status = 'open' AND {} AND (s.until IS NULL OR s.until < {}) "
    "UNION ALL SELECT customer.owner AS owner_id, customer.id AS customer_id FROM customer "
    "LEFT JOIN customer_snooze s ON s.customer = customer.id "
    f"WHERE {_BASIS_CUSTOMER} < {{}} AND (s.until IS NULL OR s.until < {{}}) "
    "AND NOT EXISTS (SELECT 1 FROM opportunity o WHERE o.customer = customer.id AND o.status = 'open')"
    ") x JOIN app_user u ON u.id = x.owner_id WHERE u.active = {} GROUP BY x.owner_id")


async def silent_counts(pb: Playbook, now: datetime, today: date) -> dict[str, int]:
    """Silent, not snoozed customers per active owner, over the whole organisation (one query)."""
    rows = await fetch(_DIGEST, silent_condition(pb, now, _BASIS_OPP), today,
                       utc(now - pb.silence_days * silence.DAY), today, True)
    return {str(r["owner_id"]): int(r["n"]) for r in rows if r["n"]}
