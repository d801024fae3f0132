"""The manager board: GET /api/v1/board, key-account pins, and the /board pages."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.domain import board as rules
from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import board
from server.routes.insight_pages import trend_chart
from server.routes.pages import _names, render, request_locale
from server.schemas_board import BoardOut, PinIn, PinOut

Req = Request[Viewer, str, object]
TeamId = Annotated[str | None, QueryParameter(max_length=64, description="the team (managers: one they manage; "
                                              "admins: any); default the first by name")]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@get("/api/v1/board", tags=["board"])
async def get_board(request: Req, team_id: TeamId = None) -> BoardOut:
    """One team's board: PHI and its 8-week trend; per rep the overdue nodes, open alerts, silent customers and
    the kickoff-meeting rate, each with the records behind it; the pinned key accounts' lines; the lost-deal
    review. Managers (their teams) and admins (any team); others 403."""
    state = request.app.state
    return await board.board(request.user, team_id, state.playbook, state.settings.tz, _now())


@post("/api/v1/board/pins", status_code=201, tags=["board"])
async def create_pin(request: Req, data: JSONBody[PinIn]) -> PinOut:
    """Pin a customer of the team to its board (409 already_pinned, 409 pin_limit at 20)."""
    return await board.pin(request.user, data, _now())


@delete("/api/v1/board/pins/{customer_id:str}", status_code=204, tags=["board"])
async def delete_pin(request: Req, customer_id: FromPath[str], team_id: TeamId = None) -> None:
    await board.unpin(request.user, customer_id, team_id)


def _refused(request: Req, exc: ApiError) -> Response:
    return render(request, "board.html", b=None, refused=exc.detail, tab="workbench", status=exc.status_code)


async def _board_or_refusal(request: Req, team_id: str | None):
    """The board for a page, or the page saying why not (403/404)."""
    state = request.app.state
    try:
        return await board.board(request.user, team_id, state.playbook, state.settings.tz, _now())
    except ApiError as exc:
        if exc.status_code not in (403, 404):
            raise
        return _refused(request, exc)


@get("/board", include_in_schema=False)
async def board_page(request: Req, team_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
                     q: Annotated[str | None, QueryParameter(max_length=100)] = None) -> Response:
    state = request.app.state
    result = await _board_or_refusal(request, team_id)
    if isinstance(result, Response):
        return result
    candidates = await board.pin_candidates(request.user, result.team.id, q or "")
    totals = {"overdue": sum(r.overdue for r in result.reps), "alerts": sum(r.open_alerts for r in result.reps),
              "silent": sum(r.silent for r in result.reps)}
    return render(request, "board.html", b=result, refused=None, chart=trend_chart(result.phi.weekly),
                  names=_names(state.playbook, request_locale(request)), q=q or "", candidates=candidates,
                  totals=totals, lanes=rules.LANES, tab="workbench")


@get("/board/reps/{user_id:str}", include_in_schema=False)
async def board_rep_page(request: Req, user_id: FromPath[str],
                         show: Annotated[Literal["overdue", "alerts", "silent", "kickoff"],
                                         QueryParameter()] = "overdue",
                         team_id: Annotated[str | None, QueryParameter(max_length=64)] = None) -> Response:
    """The records behind one number of one rep on the board."""
    state = request.app.state
    result = await _board_or_refusal(request, team_id)
    if isinstance(result, Response):
        return result
    rep = next((r for r in result.reps if r.user_id == user_id), None)
    if rep is None:
        return _refused(request, ApiError(404, "not_found", "No such rep on this team's board."))
    return render(request, "board_rep.html", b=result, rep=rep, show=show,
                  names=_names(state.playbook, request_locale(request)), tab="workbench")


BOARD_HANDLERS = [get_board, create_pin, delete_pin, board_page, board_rep_page]
