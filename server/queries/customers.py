"""Customers and contacts: create, read, search with cursor pagination, prefill."""

from __future__ import annotations

from datetime import date

from piccolo.columns.combination import And, Or

from server.db import write_transaction
from server.domain.access import Viewer, may_assign_owner, scope_for
from server.domain.phones import InvalidPhone, digits_for_search, normalise_phone
from server.errors import ApiError, not_found
from server.queries import audit, scope
from server.queries.common import contains_ci, decode_cursor, encode_cursor, parse_id, sid, utcnow
from server.schemas import ContactOut, CustomerCreate, CustomerOut, CustomerPage, Prefill
from server.tables import Contact, Customer, Opportunity, User

PAGE_SIZE = 50

_COLUMNS = (
    Customer.id, Customer.name, Customer.phone, Customer.email, Customer.company, Customer.title,
    Customer.owner, Customer.owner.display_name, Customer.team, Customer.last_contact_at,
    Customer.created_at, Customer.updated_at,
)


def _phone(raw: str | None, field: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw)
    except InvalidPhone as exc:
        raise ApiError(422, "invalid_phone", f"{field}: {exc}", {"field": field}) from None


def _email(raw: str | None) -> str | None:
    return raw.strip().lower() if raw and raw.strip() else None


def _out(row: dict, contacts: list[ContactOut] | None = None, prefill: Prefill | None = None) -> CustomerOut:
    return CustomerOut(
        id=str(row["id"]), name=row["name"], phone=row["phone"], email=row["email"],
        company=row["company"], title=row["title"], owner_id=str(row["owner"]),
        owner_name=row.get("owner.display_name"), team_id=sid(row["team"]),
        last_contact_at=row["last_contact_at"], created_at=row["created_at"],
        updated_at=row["updated_at"], contacts=contacts or [], prefill=prefill,
    )


def _contact_out(row: dict) -> ContactOut:
    return ContactOut(id=str(row["id"]), name=row["name"], phone=row["phone"], title=row["title"],
                      email=row["email"])


async def _owner_for(viewer: Viewer, owner_id: str | None) -> tuple[str, str | None]:
    """The owner of a new record and their team; refuses owners the viewer may not assign."""
    if owner_id is None:
        return viewer.id, viewer.team_id
    owner = await User.select(User.id, User.team, User.manager, User.active).where(
        User.id == parse_id(owner_id, "user")).first().run()
    if not owner or not owner["active"] or not may_assign_owner(
            viewer, str(owner["id"]), sid(owner["team"]), sid(owner["manager"])):
        raise ApiError(422, "invalid_owner", "owner_id: no such active user that you may assign records to.",
                       {"field": "owner_id"})
    return str(owner["id"]), sid(owner["team"])


async def create_customer(viewer: Viewer, data: CustomerCreate) -> CustomerOut:
    phone = _phone(data.phone, "phone")
    contacts = [(c, _phone(c.phone, f"contacts[{i}].phone")) for i, c in enumerate(data.contacts)]
    owner_id, team_id = await _owner_for(viewer, data.owner_id)
    now = utcnow()
    customer = Customer(name=data.name.strip(), phone=phone, email=_email(data.email),
                        company=(data.company or "").strip() or None, title=data.title,
                        owner=owner_id, team=team_id, created_at=now, updated_at=now)
    async with write_transaction():
        await Customer.insert(customer).run()
        if contacts:
            await Contact.insert(*[
                Contact(customer=customer.id, name=c.name.strip(), phone=p, title=c.title,
                        email=_email(c.email))
                for c, p in contacts
            ]).run()
        await audit.record("customer.create", actor_id=viewer.id, target_type="customer",
                           target_id=customer.id)
    return await get_customer(viewer, str(customer.id))


async def _visible_row(viewer: Viewer, customer_id: str) -> dict:
    cid = parse_id(customer_id, "customer")
    where = await scope.customer_where(scope_for(viewer))
    query = Customer.select(*_COLUMNS).where(Customer.id == cid)
    row = await scope.apply(query, where).first().run()
    if not row:
        raise not_found("customer")
    return row


async def assert_visible(viewer: Viewer, customer_id: str) -> dict:
    return await _visible_row(viewer, customer_id)


async def get_customer(viewer: Viewer, customer_id: str) -> CustomerOut:
    row = await _visible_row(viewer, customer_id)
    contacts = await Contact.select().where(Contact.customer == row["id"]).order_by(Contact.created_at).run()
    contact_list = [_contact_out(c) for c in contacts]
    return _out(row, contact_list, await _prefill(row["id"], [c for c, r in zip(contact_list, contacts) if r["is_key"]]))


async def _prefill(customer_id, key_contacts: list[ContactOut]) -> Prefill:
    """What a repeat order can take over: the last contract number and delivery date."""
    opps = await Opportunity.select(Opportunity.fields, Opportunity.updated_at).where(
        Opportunity.customer == customer_id).order_by(Opportunity.updated_at, ascending=False).limit(20).run()
    contract_no, delivery = None, None
    for opp in opps:
        fields = opp["fields"] if isinstance(opp["fields"], dict) else _json(opp["fields"])
        contract_no = contract_no or fields.get("contract_no")
        delivery = delivery or fields.get("delivery_date")
    try:
        delivery_date = date.fromisoformat(delivery) if delivery else None
    except (TypeError, ValueError):
        delivery_date = None
    return Prefill(last_contract_no=contract_no, last_delivery_date=delivery_date, key_contacts=key_contacts)


def _json(text) -> dict:
    import json

    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def search_customers(viewer: Viewer, q: str | None, cursor: str | None,
                           limit: int = PAGE_SIZE) -> CustomerPage:
    query = Customer.select(*_COLUMNS)
    where = await scope.customer_where(scope_for(viewer))
    conditions = [] if where is None else [where]
    term = (q or "").strip()
    if term:
        like = f"%{_escape_like(term)}%"
        match = Or(Or(contains_ci(Customer.name, like), contains_ci(Customer.company, like)),
                   contains_ci(Customer.email, like))
        digits = digits_for_search(term)
        if digits:
            match = Or(match, Customer.phone.like(f"%{digits[-11:]}%"))
        conditions.append(match)
    if cursor:
        name, last_id = decode_cursor(cursor, 2)
        conditions.append(Or(Customer.name > name, And(Customer.name == name, Customer.id > parse_id(last_id))))
    for condition in conditions:
        query = query.where(condition)
    rows = await query.order_by(Customer.name, Customer.id).limit(limit + 1).run()
    items = [_out(r) for r in rows[:limit]]
    nxt = encode_cursor(rows[limit - 1]["name"], str(rows[limit - 1]["id"])) if len(rows) > limit else None
    return CustomerPage(items=items, next=nxt)


def _escape_like(term: str) -> str:
    # Piccolo's like/ilike do not take an ESCAPE clause; drop the wildcards instead.
    return term.replace("%", "").replace("_", " ").strip() or " "
