"""The quick-entry form of a playbook template (/entry/{key}), pre-filled from the customer's history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter

from server.domain.access import Viewer
from server.domain.templates import option_name, quick_dates
from server.errors import ApiError
from server.queries import customers, templates
from server.routes.pages import render, request_locale


@get("/entry/{key:str}", include_in_schema=False)
async def entry_form_page(request: Request[Viewer, str, object], key: FromPath[str],
                          customer_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
                          q: Annotated[str | None, QueryParameter(max_length=100)] = None) -> Response:
    pb, locale = request.app.state.playbook, request_locale(request)
    template = templates.find_template(pb, key)
    if template.scenario == "trade_show":
        return Response(content=b"", status_code=303, headers={"Location": "/scan"})
    customer, values, choices = None, {}, None
    if customer_id:
        try:
            customer = await customers.get_customer(request.user, customer_id)
            values = await templates.prefill(request.user, template, customer_id)
        except ApiError:
            customer = None  # not found or not visible: pick one instead
    if customer is None:  # first pick the customer: recent ones, or a search
        choices = (await customers.search_customers(request.user, q or None, None, 12)).items
    fields = [{"key": f.key, "name": f.name.pick(locale), "type": f.type, "required": f.required,
               "value": values.get(f.key),
               "options": [(o, option_name(f, o, locale)) for o in f.options]} for f in template.fields]
    products = [(p.key, p.name.pick(locale)) for p in pb.products]
    today = datetime.now(request.app.state.settings.tz).date()
    return render(request, "entry_form.html", tab="entry", tpl=template, title=template.name.pick(locale),
                  fields=fields, customer=customer, choices=choices, q=q or "", products=products,
                  quick={k: v.isoformat() for k, v in quick_dates(today).items()},
                  key_contacts=[c.name for c in (customer.prefill.key_contacts if customer and customer.prefill
                                                 else [])])


ENTRY_PAGE_HANDLERS = [entry_form_page]
