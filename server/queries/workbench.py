"""The silent-customer workbench: the list (set-based SQL), snoozes, and the digest's counts per owner.

Rows come from two queries: the open opportunities silent beyond their stage's threshold, and
the customers without an open opportunity silent beyond the default one. The domain then keeps
one row per customer (its riskiest deal) and orders them by risk.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.db import write_transaction
from server.domain import silence
from server.domain.access import Viewer, scope_for
from server.domain.playbook import Playbook
from server.errors import ApiError, not_found
from server.queries import audit, scope
from server.queries.customers import assert_visible
from server.queries.insight_sql import (as_date, as_datetime, as_float, fetch, placeholders, silent_condition, utc,
                                        where_sql)
from server.queries.common import parse_id, sid
from server.schemas_insight import SilentItem, SilentPage, SnoozedItem, SnoozeIn, SnoozeOut
from server.tables import Customer, CustomerSnooze, Opportunity

LIMIT = 200
_BASIS_OPP = "COALESCE(opportunity.last_contact_at, opportunity.created_at)"
_BASIS_CUSTOMER = "COALESCE(customer.last_contact_at, customer.created_at)"
_DETAILS = ("customer.name AS customer_name, customer.phone AS phone, customer.company AS company, "
            "app_user.display_name AS owner_name, s.until AS snooze_until, s.reason AS snooze_reason, "
            "s.\"user\" AS snooze_user")
_OPPORTUNITIES = (
    "SELECT opportunity.id AS opportunity_id, opportunity.customer AS customer_id, opportunity.title AS title, "
    "opportunity.stage AS stage, opportunity.amount AS amount, opportunity.owner AS owner_id, "
    f"opportunity.last_contact_at AS last_contact_at, {_BASIS_OPP} AS basis, {_DETAILS} "
    "FROM opportunity JOIN customer ON customer.id = opportunity.customer "
    "JOIN app_user ON app_user.id = opportunity.owner "
    "LEFT JOIN customer_snooze s ON s.customer = opportunity.customer "
    "WHERE opportunity.status = 'open' AND {} AND {}")
_CUSTOMERS = (
    "SELECT NULL AS opportunity_id, customer.id AS customer_id, customer.owner AS owner_id, "
    f"customer.last_contact_at AS last_contact_at, {_BASIS_CUSTOMER} AS basis, {_DETAILS} "
    "FROM customer JOIN app_user ON app_user.id = customer.owner "
    "LEFT JOIN customer_snooze s ON s.customer = customer.id "
    f"WHERE {_BASIS_CUSTOMER} < {{}} AND {{}} "
    "AND NOT EXISTS (SELECT 1 FROM opportunity o WHERE o.customer = customer.id AND o.status = 'open')")


async def _wheres(viewer: Viewer, scope_name: str):
    """(opportunity filter, customer filter): what the viewer owns, or their team's (through scope.py)."""
    if scope_name == "me":
        return Opportunity.owner == viewer.id, Customer.owner == viewer.id
    problem = silence.team_scope_problem(viewer)
    if problem:
        raise ApiError(403, "forbidden", problem)
    access = scope_for(viewer)
    return await scope.opportunity_where(access), await scope.customer_where(access)


async def _rows(pb: Playbook, now: datetime, opp_where, customer_where) -> list[dict]:
    """Both queries at once (two pooled connections on PostgreSQL; SQLite's reader takes them in turn)."""
    opps, quiet = await asyncio.gather(
        fetch(_OPPORTUNITIES, silent_condition(pb, now, _BASIS_OPP), where_sql(opp_where)),
        fetch(_CUSTOMERS, utc(now - pb.silence_days * silence.DAY), where_sql(customer_where)))
    return opps + quiet


async def silent_list(viewer: Viewer, scope_name: str, pb: Playbook, tz: ZoneInfo, now: datetime,
                      meeting_template: str | None = None, limit: int = LIMIT) -> SilentPage:
    rows = await _rows(pb, now, *await _wheres(viewer, scope_name))
    today = silence.local_today(now, tz)
    by_key, candidates, snoozed = {}, [], {}
    for row in rows:
        customer_id = str(row["customer_id"])
        until = as_date(row["snooze_until"])
        if silence.is_snoozed(until, today):
            snoozed[customer_id] = SnoozedItem(customer_id=customer_id, customer_name=row["customer_name"],
                                               until=until, reason=row["snooze_reason"],
                                               user_id=str(row["snooze_user"]))
            continue
        opp_id = sid(row["opportunity_id"])
        by_key[(customer_id, opp_id)] = row
        candidates.append(silence.Candidate(customer_id=customer_id, opportunity_id=opp_id,
                                            basis=as_datetime(row["basis"]), stage=row.get("stage"),
                                            amount=as_float(row.get("amount"))))
    ranked = silence.most_at_risk(pb, candidates, now)
    phones = await _contact_phones([c.customer_id for c, _, _ in ranked[:limit]
                                    if not by_key[(c.customer_id, c.opportunity_id)]["phone"]])
    items = [_item(pb, by_key[(c.customer_id, c.opportunity_id)], c, risk, deals, now, phones, meeting_template)
             for c, risk, deals in ranked[:limit]]
    return SilentPage(scope=scope_name, items=items, total=len(ranked),  # type: ignore[arg-type]
                      snoozed=sorted(snoozed.values(), key=lambda s: (s.until, s.customer_name)), as_of=now)


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
