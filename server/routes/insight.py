"""Workbench API: silent customers and snoozes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from litestar import Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.domain.access import Viewer
from server.queries import workbench
from server.routes.insight_pages import INSIGHT_PAGE_HANDLERS
from server.schemas_insight import SilentPage, SnoozeIn, SnoozeOut, WorkbenchScope

Req = Request[Viewer, str, object]
# "scope" is a name Litestar keeps for the ASGI scope: the parameter is read under an alias.
WbScope = Annotated[WorkbenchScope, QueryParameter(name="scope", description="me (what you own) or team")]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@get("/api/v1/workbench/silent", tags=["workbench"])
async def list_silent(request: Req, scope_: WbScope = "me",
                      limit: Annotated[int, QueryParameter(ge=1, le=1000)] = workbench.LIMIT) -> SilentPage:
    """Customers past their silence threshold, one row each (its riskiest open deal), most at risk first.
    scope=team is for managers (their teams) and admins (everyone); a rep asking for it gets 403."""
    state = request.app.state
    return await workbench.silent_list(request.user, scope_, state.playbook, state.settings.tz, _now(),
                                       state.settings.meeting_url_template, limit)


@post("/api/v1/workbench/snoozes", status_code=201, tags=["workbench"])
async def create_snooze(request: Req, data: JSONBody[SnoozeIn]) -> SnoozeOut:
    """Take a customer off the workbench through `until` (inclusive); at most the playbook's snooze_max_days."""
    state = request.app.state
    return await workbench.snooze(request.user, data, state.playbook, state.settings.tz, _now())


@delete("/api/v1/workbench/snoozes/{customer_id:str}", status_code=204, tags=["workbench"])
async def delete_snooze(request: Req, customer_id: FromPath[str]) -> None:
    await workbench.end_snooze(request.user, customer_id)


INSIGHT_HANDLERS = [list_silent, create_snooze, delete_snooze, *INSIGHT_PAGE_HANDLERS]
