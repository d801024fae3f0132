"""Trade-show leads: parse a badge; record a scan as a new customer or merged into a known one.

The rules (what merges, what the scanner is told) are in server.domain.leads.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import msgspec
from piccolo.columns.combination import Or

from server.db import current_engine, write_transaction
from server.domain.access import Viewer, scope_for
from server.domain.activities import is_customer_facing
from server.domain.badges import Lead, PayloadUnrecognised, parse_badge
from server.domain.leads import (
    SCAN_KIND,
    SOURCE,
    Candidate,
    UnknownProducts,
    check_products,
    choose_match,
    customer_name,
    fields_to_fill,
    identity_keys,
    scan_note,
)
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries import audit, scope

# One rule for "a customer-facing activity moves last_contact_at", shared with logged activities.
from server.queries.activities import _touch as touch_last_contact
from server.queries.common import utcnow
from server.schemas import LeadOut, LeadScan, ScanOut
from server.tables import Activity, Contact, Customer


def parse_lead(payload: str) -> Lead:
    try:
        return parse_badge(payload)
    except PayloadUnrecognised as exc:
        raise ApiError(422, "payload_unrecognised", str(exc), {"reason": exc.reason}) from None


def lead_out(lead: Lead) -> LeadOut:
    return LeadOut(**msgspec.structs.asdict(lead))


def _products(playbook: Playbook, requested: list[str] | None, locale: str) -> tuple[list[str], list[str]]:
    """(product keys, their display names), refusing keys the catalogue does not have."""
    names = {p.key: p.name.pick(locale) for p in playbook.products}
    try:
        keys = check_products(requested, list(names))
    except UnknownProducts as exc:
        raise ApiError(422, "unknown_product", str(exc), {"field": "products", "unknown": exc.unknown}) from None
    return keys, [names[k] for k in keys]


async def scan_lead(viewer: Viewer, data: LeadScan, playbook: Playbook, locale: str) -> tuple[ScanOut, bool]:
    """Record a booth scan; returns the answer and whether a customer was created."""
    lead = parse_lead(data.payload)
    keys, names = _products(playbook, data.products, locale)
    note = scan_note(event=data.event, products=names, temperature=data.temperature, note=data.note, locale=locale)
    now = utcnow()
    async with write_transaction():
        await _lock(identity_keys(lead))
        match = choose_match(await _candidates(viewer, lead))
        if match is None:
            customer_id = await _create_customer(viewer, lead, now)
        else:
            customer_id = uuid.UUID(match.customer_id)
            await _fill_blanks(customer_id, lead, match, now)
        activity_id = await _record_scan(viewer, customer_id, note, now)
        visible = match is None or match.visible
        await audit.record("lead.scan", actor_id=viewer.id, target_type="customer", target_id=customer_id, detail={
            "event": data.event, "products": keys, "temperature": data.temperature, "format": lead.format,
            "merged": match is not None, "visible": visible, "activity_id": str(activity_id)})
    out = ScanOut(customer_id=str(customer_id) if visible else None, lead=lead_out(lead), merged=match is not None,
                  visible=visible, activity_id=str(activity_id) if visible else None)
    return out, match is None


async def _lock(keys: list[str]) -> None:
    """Two scans of one new person at once must not both create them. SQLite: the write
    transaction already runs alone. PostgreSQL: a transaction lock per phone/e-mail, in order."""
    if current_engine().engine_type != "postgres":
        return
    for key in keys:
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        await Customer.raw("SELECT pg_advisory_xact_lock({})", number).run()


def _same_person(table, lead: Lead):
    """Phones are stored as E.164 and e-mails lower-cased on every write, so equality is the match."""
    conditions = [c for c in ((table.phone == lead.phone) if lead.phone else None,
                              (table.email == lead.email) if lead.email else None) if c is not None]
    return conditions[0] if len(conditions) == 1 else Or(*conditions)


async def _candidates(viewer: Viewer, lead: Lead) -> list[Candidate]:
    """Every customer of the organisation that is this person, or has them as a contact."""
    if not (lead.phone or lead.email):
        return []
    on_row = {r["id"] for r in await Customer.select(Customer.id).where(_same_person(Customer, lead)).run()}
    via_contact = {r["customer"] for r in await Contact.select(Contact.customer).where(
        _same_person(Contact, lead)).run()}
    ids = list(on_row | via_contact)
    if not ids:
        return []
    rows = await Customer.select(Customer.id, Customer.created_at).where(Customer.id.is_in(ids)).run()
    where = await scope.customer_where(scope_for(viewer))
    visible = {r["id"] for r in await scope.apply(
        Customer.select(Customer.id).where(Customer.id.is_in(ids)), where).run()}
    return [Candidate(customer_id=str(r["id"]), visible=r["id"] in visible, created_at=r["created_at"],
                      on_customer_row=r["id"] in on_row) for r in rows]


async def _create_customer(viewer: Viewer, lead: Lead, now: datetime) -> uuid.UUID:
    name = customer_name(lead)
    customer = Customer(name=name, phone=lead.phone, email=lead.email, company=lead.company, title=lead.title,
                        owner=viewer.id, team=viewer.team_id, source=SOURCE, created_at=now, updated_at=now)
    await Customer.insert(customer).run()
    await Contact.insert(Contact(customer=customer.id, name=name, phone=lead.phone, title=lead.title,
                                 email=lead.email, created_at=now)).run()
    await audit.record("customer.create", actor_id=viewer.id, target_type="customer", target_id=customer.id,
                       detail={"source": SOURCE})
    return customer.id


async def _fill_blanks(customer_id: uuid.UUID, lead: Lead, match: Candidate, now: datetime) -> None:
    if not fields_to_fill({}, lead, match):
        return  # neither visible nor matched on the customer's own row: nothing may change
    row = await Customer.select(Customer.phone, Customer.email, Customer.company, Customer.title).where(
        Customer.id == customer_id).first().run()
    values = fields_to_fill(row, lead, match)
    if values:
        await Customer.update({**{getattr(Customer, k): v for k, v in values.items()}, Customer.updated_at: now}).where(
            Customer.id == customer_id).run()


async def _record_scan(viewer: Viewer, customer_id: uuid.UUID, note: str, now: datetime) -> uuid.UUID:
    facing = is_customer_facing(SCAN_KIND)
    activity = Activity(customer=customer_id, user=viewer.id, kind=SCAN_KIND, customer_facing=facing, note=note,
                        occurred_at=now, created_at=now)
    await Activity.insert(activity).run()
    await touch_last_contact(customer_id, None, now, facing)
    return activity.id
