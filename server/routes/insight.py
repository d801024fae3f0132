"""Workbench and health API: silent customers, snoozes, the Process Health Index and the deals behind it."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from litestar import Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server.domain.access import Viewer
from server.queries import phi, phi_detail, workbench
from server.routes.insight_pages import INSIGHT_PAGE_HANDLERS
from server.schemas_insight import (
    Metric,
    PhiOpportunityPage,
    PhiOut,
    PhiScope,
    SilentPage,
    SnoozeIn,
    SnoozeOut,
    WorkbenchScope,
)

Req = Request[Viewer, str, object]
From = Annotated[date | None, QueryParameter(name="from", description="first day of the window (organisation time "
                                             "zone); default: 30 days before `to`")]
To = Annotated[date | None, QueryParameter(description="last day of the window, inclusive; default: now")]
# "scope" is a name Litestar keeps for the ASGI scope: the parameter is read under an alias.
WbScope = Annotated[WorkbenchScope, QueryParameter(name="scope", description="me (what you own) or team")]
HealthScope = Annotated[PhiScope, QueryParameter(name="scope", description="me, team or org")]
TeamId = Annotated[str | None, QueryParameter(max_length=64, description="one team (scope=team): admins any, "
                                              "managers one they manage")]


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


@get("/api/v1/phi", tags=["health"])
async def get_phi(request: Req, scope_: HealthScope = "me", team_id: TeamId = None, from_: From = None,
                  to: To = None) -> PhiOut:
    """The three sub-indices against their thresholds, the 0-100 score, the last 8 weeks, and rankings
    (teams for scope=org, reps for scope=team)."""
    state = request.app.state
    return await phi.health(request.user, scope_, team_id, state.playbook, state.settings.tz, _now(), from_, to)


@get("/api/v1/phi/opportunities", tags=["health"])
async def list_phi_opportunities(request: Req, metric: FromQuery[Metric], scope_: HealthScope = "me",
                                 team_id: TeamId = None,
                                 from_: From = None, to: To = None,
                                 limit: Annotated[int, QueryParameter(ge=1, le=1000)] = phi_detail.LIMIT,
                                 ) -> PhiOpportunityPage:
    """The deals behind one number; `counted` marks those pulling it away from healthy."""
    state = request.app.state
    return await phi_detail.behind(request.user, metric, scope_, team_id, state.playbook, state.settings.tz, _now(),
                                   from_, to, limit)


INSIGHT_HANDLERS = [list_silent, create_snooze, delete_snooze, get_phi, list_phi_opportunities,
                    *INSIGHT_PAGE_HANDLERS]
