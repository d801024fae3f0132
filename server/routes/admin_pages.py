"""The admin screens (/admin/…): server-rendered from the same queries as the admin API; admin.js
sends every change to the API. Admins only: anyone else gets a page saying so."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from litestar import Request, Response, Router, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from server.domain.access import ROLES, Viewer, roles_from_db
from server.errors import ApiError
from server.queries import admin, admin_teams, audit_view
from server.routes.pages import render, request_locale
from server.tables import User

Req = Request[Viewer, str, object]
Query = Annotated[str | None, QueryParameter(max_length=200)]


def require_admin(connection, _handler) -> None:
    """The guard of the admin API and screens."""
    if not getattr(connection.scope.get("user"), "is_admin", False):
        raise ApiError(403, "forbidden", "Only an administrator may manage users and teams or read the audit log.")


def _error_page(request: Request, exc: ApiError) -> Response:
    return render(request, "admin_error.html", status=exc.status_code, status_code=exc.status_code, tab="me")


async def _people() -> list[dict]:
    """Everyone active, for the manager and receiver pickers."""
    rows = await User.select(User.id, User.username, User.display_name, User.roles).where(
        User.active == True).order_by(User.display_name).run()  # noqa: E712
    return [{"id": str(r["id"]), "username": r["username"], "name": r["display_name"],
             "manager": "manager" in roles_from_db(r["roles"])} for r in rows]


def _when(text: str | None, name: str, tz, *, end: bool) -> datetime | None:
    """A date (a whole local day; `to` includes it) or an ISO time (local when it has no offset)."""
    if not text:
        return None
    try:
        if len(text.strip()) == 10:
            day = datetime.combine(datetime.fromisoformat(text.strip()).date(), time(0), tz)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ApiError(400, "invalid_date", f"{name} is not a date (2026-11-27) or an ISO time.",
                       {"field": name}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def audit_filter(request: Req, actor, action, target, since, until) -> audit_view.AuditFilter:
    tz = request.app.state.settings.tz
    return audit_view.AuditFilter(actor=actor or None, action=action or None, target=target or None,
                                  since=_when(since, "from", tz, end=False), until=_when(until, "to", tz, end=True))


@get("/")
async def admin_home() -> Redirect:
    return Redirect("/admin/users", status_code=302)


@get("/users")
async def users_page(request: Req, q: Query = None, status: Annotated[Literal["active", "disabled", "all"], QueryParameter()] = "all",
                     cursor: Annotated[str | None, QueryParameter(max_length=500)] = None) -> Response:
    page = await admin.list_users(q, status, None, None, cursor)
    return render(request, "admin_users.html", tab="me", section="users", page=page, q=q or "", state=status)


@get("/users/new")
async def new_user_page(request: Req) -> Response:
    teams = (await admin_teams.list_teams()).items
    return render(request, "admin_user_form.html", tab="me", section="users", user=None, detail=None,
                  teams=teams, people=await _people(), roles=ROLES)


@get("/users/{user_id:str}")
async def user_page(request: Req, user_id: FromPath[str]) -> Response:
    detail = await admin.user_detail(user_id)
    teams = (await admin_teams.list_teams()).items
    return render(request, "admin_user_form.html", tab="me", section="users", user=detail, detail=detail,
                  teams=teams, people=await _people(), roles=ROLES)


@get("/teams")
async def teams_page(request: Req) -> Response:
    teams = (await admin_teams.list_teams()).items
    managers = [p for p in await _people() if p["manager"]]
    return render(request, "admin_teams.html", tab="me", section="teams", teams=teams, managers=managers)


@get("/import")
async def import_page(request: Req) -> Response:
    return render(request, "admin_import.html", tab="me", section="import")


@get("/audit")
async def audit_page(request: Req, actor: Query = None, action: Query = None, target: Query = None,
                     since: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
                     until: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
                     cursor: Annotated[str | None, QueryParameter(max_length=500)] = None) -> Response:
    locale = request_locale(request)
    f = audit_filter(request, actor, action, target, since, until)
    page = await audit_view.audit_page(f, cursor, audit_view.PAGE_SIZE, locale)
    filters = {"actor": actor or "", "action": action or "", "target": target or "", "from": since or "",
               "to": until or ""}
    actions = [(a, audit_view.action_label(a, locale)) for a in await audit_view.known_actions()]
    return render(request, "admin_audit.html", tab="me", section="audit", page=page, filters=filters,
                  actions=actions, query={k: v for k, v in filters.items() if v})


ADMIN_PAGES = [Router(path="/admin", guards=[require_admin], include_in_schema=False,
                      exception_handlers={ApiError: _error_page},
                      route_handlers=[admin_home, users_page, new_user_page, user_page, teams_page, import_page,
                                      audit_page])]
