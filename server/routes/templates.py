"""Quick-entry templates: the prefill a form starts with, and saving an entry. Thin handlers."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.domain.access import Viewer
from server.queries import templates
from server.queries.templates import TemplateSaved
from server.routes.pages import request_locale
from server.schemas import refuse_nul

Req = Request[Viewer, str, object]


class EntryIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    values: dict[str, Any]

    def __post_init__(self) -> None:
        refuse_nul(self)


class PrefillOut(msgspec.Struct, kw_only=True):
    values: dict[str, Any]


@get("/api/v1/templates/{key:str}/prefill", tags=["templates"])
async def template_prefill(request: Req, key: FromPath[str],
                           customer_id: Annotated[str, QueryParameter(max_length=64)]) -> PrefillOut:
    template = templates.find_template(request.app.state.playbook, key)
    return PrefillOut(values=await templates.prefill(request.user, template, customer_id))


@post("/api/v1/templates/{key:str}/entries", status_code=201, tags=["templates"],
      description="Save a quick entry: a repeat order opens an opportunity and records the call; a visit log "
                  "records a visit (it ends the customer's silence)")
async def save_entry(request: Req, key: FromPath[str], data: JSONBody[EntryIn]) -> TemplateSaved:
    state = request.app.state
    template = templates.find_template(state.playbook, key)
    return await templates.save(request.user, template, data.values, state.playbook, state.settings.tz,
                                request_locale(request))


TEMPLATE_HANDLERS = [template_prefill, save_entry]
