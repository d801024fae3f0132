"""Opportunities API: thin handlers over server.queries.opportunities."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.domain.access import Viewer
from server.queries import opportunities
from server.routes.pages import request_locale
from server.schemas import OpportunityCreate, OpportunityOut, OpportunityPage, OpportunityUpdate, TransitionIn

Req = Request[Viewer, str, object]


def context(request: Req):
    return request.app.state.playbook, request.app.state.settings.tz, request_locale(request)


@post("/api/v1/opportunities", tags=["opportunities"])
async def create_opportunity(request: Req, data: JSONBody[OpportunityCreate]) -> OpportunityOut:
    return await opportunities.create_opportunity(request.user, data, *context(request))


@get("/api/v1/opportunities", tags=["opportunities"])
async def list_opportunities(
    request: Req,
    stage: Annotated[str | None, QueryParameter(max_length=64)] = None,
    owner_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = opportunities.PAGE_SIZE,
) -> OpportunityPage:
    return await opportunities.list_opportunities(request.user, stage, owner_id, cursor, limit)


@get("/api/v1/opportunities/{opp_id:str}", tags=["opportunities"])
async def get_opportunity(request: Req, opp_id: FromPath[str]) -> OpportunityOut:
    return await opportunities.get_opportunity(request.user, opp_id, *context(request))


@patch("/api/v1/opportunities/{opp_id:str}", tags=["opportunities"])
async def update_opportunity(request: Req, opp_id: FromPath[str], data: JSONBody[OpportunityUpdate]) -> OpportunityOut:
    return await opportunities.update_opportunity(request.user, opp_id, data, *context(request))


@post("/api/v1/opportunities/{opp_id:str}/transition", status_code=200, tags=["opportunities"])
async def transition_opportunity(request: Req, opp_id: FromPath[str], data: JSONBody[TransitionIn]) -> OpportunityOut:
    return await opportunities.transition(request.user, opp_id, data, *context(request),
                                          quiet=request.app.state.settings.quiet)


OPPORTUNITY_HANDLERS = [create_opportunity, list_opportunities, get_opportunity, update_opportunity,
                        transition_opportunity]
