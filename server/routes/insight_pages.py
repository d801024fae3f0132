"""The Workbench tab: silent customers (/workbench)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from litestar import Request, Response, get
from litestar.params import QueryParameter

from server.domain import silence
from server.domain.access import Viewer
from server.queries import workbench
from server.routes.pages import _names, render, request_locale

Req = Request[Viewer, str, object]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _team_view(viewer: Viewer) -> bool:
    return viewer.is_admin or viewer.is_manager


@get("/workbench", include_in_schema=False)
async def workbench_page(request: Req, scope_: Annotated[Literal["me", "team"], QueryParameter(name="scope")] = "me",
                         ) -> Response:
    state, now = request.app.state, _now()
    scope = scope_ if _team_view(request.user) else "me"
    page = await workbench.silent_list(request.user, scope, state.playbook, state.settings.tz, now,
                                       state.settings.meeting_url_template)
    today = silence.local_today(now, state.settings.tz)
    max_days = state.playbook.snooze_max_days
    return render(request, "workbench.html", page=page, scope=scope, team_view=_team_view(request.user),
                  names=_names(state.playbook, request_locale(request)), today=today,
                  latest=today + timedelta(days=max_days), suggested=today + timedelta(days=min(7, max_days)),
                  tab="workbench")


INSIGHT_PAGE_HANDLERS = [workbench_page]
