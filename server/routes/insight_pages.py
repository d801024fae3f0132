"""The Workbench tab: silent customers (/workbench), the Process Health Index (/health) and the deals behind it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from litestar import Request, Response, get
from litestar.params import FromQuery, QueryParameter

from server.domain import silence
from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import phi, phi_detail, workbench
from server.routes.pages import _names, render, request_locale
from server.schemas_insight import PhiWeek

Req = Request[Viewer, str, object]
CHART_W, CHART_H, PAD_X, PAD_TOP, PAD_BOTTOM = 340, 150, 28, 12, 26


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _team_view(viewer: Viewer) -> bool:
    return silence.team_scope_problem(viewer) is None


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


def trend_chart(weeks: list[PhiWeek]) -> dict:
    """Where the weekly scores (0-100) go in the SVG: points, line segments (a week without a score
    breaks the line) and the x labels (week start, MM-DD)."""
    step = (CHART_W - 2 * PAD_X) / max(len(weeks) - 1, 1)
    height = CHART_H - PAD_TOP - PAD_BOTTOM
    points, segments, current = [], [], []
    for i, week in enumerate(weeks):
        x = round(PAD_X + i * step, 1)
        if week.score is None:
            if current:
                segments.append(current)
            current = []
            points.append({"x": x, "y": None, "week": week})
            continue
        y = round(PAD_TOP + (100 - week.score) / 100 * height, 1)
        current.append(f"{x},{y}")
        points.append({"x": x, "y": y, "week": week})
    if current:
        segments.append(current)
    grid = [{"value": v, "y": round(PAD_TOP + (100 - v) / 100 * height, 1)} for v in (0, 50, 100)]
    return {"w": CHART_W, "h": CHART_H, "points": points, "lines": [" ".join(s) for s in segments if len(s) > 1],
            "grid": grid, "label_y": CHART_H - 6, "left": PAD_X, "right": CHART_W - PAD_X}


@get("/health", include_in_schema=False)
async def health_page(request: Req,
                      scope_: Annotated[Literal["me", "team", "org"] | None, QueryParameter(name="scope")] = None,
                      team_id: Annotated[str | None, QueryParameter(max_length=64)] = None) -> Response:
    state, viewer = request.app.state, request.user
    scope = scope_ or ("team" if viewer.is_manager else "org" if viewer.is_admin else "me")
    if not _team_view(viewer):
        scope, team_id = "me", None
    result = await phi.health(viewer, scope, team_id, state.playbook, state.settings.tz, _now())
    return render(request, "health.html", phi=result, scope=scope, team_id=team_id or "",
                  scopes=["me", "team", "org"] if _team_view(viewer) else ["me"], chart=trend_chart(result.weekly),
                  th=state.playbook.phi, listing_allowed=scope != "org" or viewer.is_admin, tab="workbench")


@get("/health/opportunities", include_in_schema=False)
async def health_list_page(request: Req,
                           metric: FromQuery[Literal["stage_transition_days", "material_completeness", "silent_rate"]],
                           scope_: Annotated[Literal["me", "team", "org"], QueryParameter(name="scope")] = "me",
                           team_id: Annotated[str | None, QueryParameter(max_length=64)] = None) -> Response:
    state, scope = request.app.state, scope_
    try:
        page = await phi_detail.behind(request.user, metric, scope, team_id, state.playbook, state.settings.tz,
                                       _now())
    except ApiError as exc:
        if exc.status_code != 403:
            raise
        return render(request, "health_list.html", page=None, refused=exc.detail, metric=metric, scope=scope,
                      team_id=team_id or "", tab="workbench", status=403)
    return render(request, "health_list.html", page=page, refused=None, metric=metric, scope=scope,
                  team_id=team_id or "", names=_names(state.playbook, request_locale(request)), tab="workbench")


INSIGHT_PAGE_HANDLERS = [workbench_page, health_page, health_list_page]
