"""Activities: a customer-facing one moves last_contact_at of the customer and its deals."""

from __future__ import annotations

from server.db import write_transaction
from server.domain.access import Viewer, scope_for
from server.domain.activities import InvalidActivity, check_activity, is_customer_facing, later
from server.errors import ApiError, not_found
from server.queries import scope
from server.queries.common import parse_id, sid, utcnow
from server.queries.customers import assert_visible
from server.schemas import ActivityCreate, ActivityOut, ActivityPage
from server.tables import Activity, Customer, Opportunity


def _out(row: dict) -> ActivityOut:
    return ActivityOut(
        id=str(row["id"]), customer_id=str(row["customer"]), opportunity_id=sid(row["opportunity"]),
        user_id=str(row["user"]), user_name=row.get("user.display_name"), kind=row["kind"],
        customer_facing=row["customer_facing"], note=row["note"], occurred_at=row["occurred_at"],
        created_at=row["created_at"],
    )


async def create_activity(viewer: Viewer, data: ActivityCreate) -> ActivityOut:
    now = utcnow()
    occurred = data.occurred_at or now
    try:
        check_activity(data.kind, occurred, now)
    except InvalidActivity as exc:
        raise ApiError(422, "invalid_activity", str(exc)) from None
    customer = await assert_visible(viewer, data.customer_id)
    opp_id = None
    if data.opportunity_id:
        where = await scope.opportunity_where(scope_for(viewer))
        query = Opportunity.select(Opportunity.id).where(
            (Opportunity.id == parse_id(data.opportunity_id, "opportunity"))
            & (Opportunity.customer == customer["id"]))
        opp = await scope.apply(query, where).first().run()
        if not opp:
            raise not_found("opportunity for this customer")
        opp_id = opp["id"]
    facing = is_customer_facing(data.kind)
    activity = Activity(customer=customer["id"], opportunity=opp_id, user=viewer.id, kind=data.kind,
                        customer_facing=facing, note=data.note, occurred_at=occurred, created_at=now)
    async with write_transaction():
        await Activity.insert(activity).run()
        await _touch(customer["id"], opp_id, occurred, facing)
    row = await Activity.select(*Activity.all_columns(), Activity.user.display_name).where(
        Activity.id == activity.id).first().run()
    return _out(row)


async def _touch(customer_id, opp_id, occurred, facing: bool) -> None:
    """Runs inside the write transaction: read-then-write of the last-contact times."""
    now = utcnow()
    if not facing:
        if opp_id is not None:
            await Opportunity.update({Opportunity.last_note_at: occurred, Opportunity.updated_at: now,
                                      Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
                Opportunity.id == opp_id).run()
        return
    current = await Customer.select(Customer.last_contact_at).where(Customer.id == customer_id).first().run()
    await Customer.update({Customer.last_contact_at: later(current["last_contact_at"], occurred),
                           Customer.updated_at: now}).where(Customer.id == customer_id).run()
    # A call about the customer ends the silence of its open deals, or of the one named.
    opp_where = (Opportunity.id == opp_id) if opp_id is not None else (
        (Opportunity.customer == customer_id) & (Opportunity.status == "open"))
    for opp in await Opportunity.select(Opportunity.id, Opportunity.last_contact_at).where(opp_where).run():
        await Opportunity.update({Opportunity.last_contact_at: later(opp["last_contact_at"], occurred),
                                  Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
            Opportunity.id == opp["id"]).run()


async def list_activities(viewer: Viewer, customer_id: str, limit: int = 100) -> ActivityPage:
    customer = await assert_visible(viewer, customer_id)
    rows = await Activity.select(*Activity.all_columns(), Activity.user.display_name).where(
        Activity.customer == customer["id"]).order_by(Activity.occurred_at, ascending=False).limit(limit).run()
    return ActivityPage(items=[_out(r) for r in rows])
