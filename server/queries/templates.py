"""Quick-entry templates: what a form starts with (a customer's history), and saving one in one transaction."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from server.db import write_transaction
from server.domain.activities import is_customer_facing
from server.domain.playbook import Playbook, Template
from server.domain.templates import TemplateProblem, clean_values, summary
from server.errors import ApiError
from server.queries import audit
from server.queries.activities import _touch
from server.queries.common import utcnow
from server.queries.customers import _owner_for, assert_visible
from server.queries.opp_facts import fields_of
from server.tables import Activity, Contact, Opportunity, StageTransition


class TemplateSaved(msgspec.Struct, kw_only=True):
    customer_id: str
    activity_id: str
    opportunity_id: str | None = None


def find_template(pb: Playbook, key: str) -> Template:
    template = next((t for t in pb.templates if t.key == key), None)
    if template is None:
        raise ApiError(404, "not_found", f"There is no quick-entry template {key!r}.")
    return template


async def history(customer_id) -> dict:
    """The prefill sources of a customer: its last contract, delivery, products, quantity and key contacts."""
    opps = await Opportunity.select(Opportunity.fields).where(Opportunity.customer == customer_id).order_by(
        Opportunity.updated_at, ascending=False).limit(20).run()
    found: dict = {}
    for opp in opps:
        fields = fields_of(opp["fields"])
        for source, key in (("customer.last_contract_no", "contract_no"),
                            ("customer.last_delivery_date", "delivery_date"),
                            ("customer.last_products", "products"), ("customer.last_quantity", "quantity")):
            if source not in found and fields.get(key) not in (None, "", []):
                found[source] = fields[key]
    contacts = await Contact.select(Contact.name).where(
        (Contact.customer == customer_id) & (Contact.is_key == True)).order_by(Contact.created_at).run()  # noqa: E712
    if contacts:
        found["customer.key_contacts"] = "、".join(c["name"] for c in contacts)
    return found


async def prefill(viewer, template: Template, customer_id: str) -> dict:
    """The first values of a template's fields for this customer (only what the viewer may see)."""
    customer = await assert_visible(viewer, customer_id)
    known = await history(customer["id"])
    values: dict = {f.key: known[f.prefill] for f in template.fields if f.prefill and f.prefill in known}
    values.update({f.key: str(customer["id"]) for f in template.fields if f.type == "customer"})
    return values


async def save(viewer, template: Template, values: dict, pb: Playbook, tz: ZoneInfo, locale: str) -> TemplateSaved:
    """A repeat order opens an opportunity (in the stage the template names) and records the call; a visit
    log records a customer-facing visit (it ends the customer's silence); a custom template records a note."""
    if template.scenario == "trade_show":
        raise ApiError(422, "use_scan", "Trade-show leads are saved with POST /api/v1/leads/scan.")
    now = utcnow()
    try:
        clean = clean_values(template, values, pb, now.astimezone(tz).date())
    except TemplateProblem as exc:
        raise ApiError(422, "invalid_value", str(exc), {"field": exc.field}) from None
    customer_field = next((f.key for f in template.fields if f.type == "customer"), None)
    if customer_field is None:
        raise ApiError(422, "invalid_template", "This template names no customer to save against.")
    customer = await assert_visible(viewer, clean[customer_field])
    kind = template.activity_kind or {"repeat_order": "call", "visit_log": "visit"}.get(template.scenario, "note")
    async with write_transaction():
        opp_id = await _open_repeat_order(viewer, template, clean, customer, pb, locale, now) \
            if template.scenario == "repeat_order" else None
        activity = Activity(customer=customer["id"], opportunity=opp_id, user=viewer.id, kind=kind,
                            customer_facing=is_customer_facing(kind), note=summary(template, clean, pb, locale),
                            occurred_at=now, created_at=now)
        await Activity.insert(activity).run()
        await _touch(customer["id"], opp_id, now, is_customer_facing(kind))
        await audit.record("template.save", actor_id=viewer.id, target_type="customer", target_id=customer["id"],
                           detail={"template": template.key, "opportunity_id": str(opp_id) if opp_id else None})
    return TemplateSaved(customer_id=str(customer["id"]), activity_id=str(activity.id),
                         opportunity_id=str(opp_id) if opp_id else None)


async def _open_repeat_order(viewer, template: Template, clean: dict, customer: dict, pb: Playbook, locale: str,
                             now: datetime):
    stage = pb.stage(template.stage) if template.stage else pb.stages[0]
    owner_id, team_id = await _owner_for(viewer, None)
    products = {p.key: p.name.pick(locale) for p in pb.products}
    title = f"{template.name.pick(locale)} · {'、'.join(products.get(p, p) for p in clean.get('products', []))}"
    fields = {k: clean[k] for k in ("products", "quantity", "expected_order_date") if k in clean}
    if clean.get("last_contract_no"):
        fields["previous_contract_no"] = clean["last_contract_no"]
    opp = Opportunity(customer=customer["id"], title=title[:200], owner=owner_id, team=team_id, stage=stage.key,
                      substate=stage.substates[0] if stage.substates else None, stage_entered_at=now,
                      fields=fields, playbook_version=pb.version, created_at=now, updated_at=now)
    await Opportunity.insert(opp).run()
    await StageTransition.insert(StageTransition(opportunity=opp.id, user=viewer.id, to_stage=stage.key,
                                                 to_substate=opp.substate, reason=template.key, at=now)).run()
    return opp.id
