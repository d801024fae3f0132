"""The admin JSON API (/api/v1/admin/…): users, teams, user import, the audit log. Admins only,
every change audited; cookie sessions need the CSRF header like everywhere else."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Request, Response, Router, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from server.domain.access import Viewer
from server.domain.spreadsheet import MAX_UPLOAD
from server.errors import ApiError
from server.queries import admin, admin_import, admin_teams, audit, audit_view
from server.routes.account import ACCOUNT_HANDLERS
from server.routes.admin_pages import ADMIN_PAGES, audit_filter, require_admin
from server.routes.auth import client_ip
from server.routes.pages import request_locale
from server.schemas_admin import (
    AdminUserCreate,
    AdminUserCreated,
    AdminUserDetail,
    AdminUserOut,
    AdminUserPage,
    AdminUserUpdate,
    AuditPage,
    ImportPreview,
    ImportResult,
    ReassignIn,
    ReassignOut,
    Role,
    TeamCreate,
    TeamList,
    TeamOut,
    TeamUpdate,
    TemporaryPasswordOut,
)
from server.security import forget_all_viewers, forget_viewer

Req = Request[Viewer, str, object]
IMPORT_BODY_LIMIT = MAX_UPLOAD + 64 * 1024  # the file and the multipart envelope
NO_STORE = {"Cache-Control": "no-store"}  # holds a temporary password: shown once, never cached or kept
Query = Annotated[str | None, QueryParameter(max_length=200)]


# ---- users
@get("/users")
async def list_users(
    q: Query = None, status: Annotated[Literal["active", "disabled", "all"], QueryParameter()] = "all",
    team_id: Annotated[str | None, QueryParameter(max_length=64)] = None, role: Annotated[Role | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = admin.PAGE_SIZE,
) -> AdminUserPage:
    return await admin.list_users(q, status, team_id, role, cursor, limit)


@post("/users", status_code=201, description="A new user. Without `password` a temporary one is made and "
      "answered once; the user must change it at first login (also by default when a password is given).")
async def create_user(request: Req, data: JSONBody[AdminUserCreate]) -> Response[AdminUserCreated]:
    created = await admin.create_user(request.user, data, client_ip(request))
    forget_all_viewers()  # a new report changes the manager's view
    return Response(created, status_code=201, headers=NO_STORE)


@get("/users/{user_id:str}")
async def get_user(user_id: FromPath[str]) -> AdminUserDetail:
    return await admin.user_detail(user_id)


@patch("/users/{user_id:str}", description="Only the fields sent change; a manager that would close a loop is 422 "
       "`manager_cycle`. A user moved to another team takes their customers and open deals along.")
async def update_user(request: Req, user_id: FromPath[str], data: JSONBody[AdminUserUpdate]) -> AdminUserOut:
    out = await admin.update_user(request.user, user_id, data, client_ip(request))
    forget_all_viewers()
    return out


@post("/users/{user_id:str}/disable", status_code=200,
      description="Ends the user's sessions and API tokens and deletes their push subscriptions, at once.")
async def disable_user(request: Req, user_id: FromPath[str]) -> AdminUserOut:
    out = await admin.disable_user(request.user, user_id, client_ip(request))
    forget_all_viewers()
    return out


@post("/users/{user_id:str}/enable", status_code=200)
async def enable_user(request: Req, user_id: FromPath[str]) -> AdminUserOut:
    out = await admin.enable_user(request.user, user_id, client_ip(request))
    forget_all_viewers()
    return out


@post("/users/{user_id:str}/password-reset", status_code=200,
      description="A temporary password to hand over (answered once, never stored); the user's sessions end and "
                  "they must change it at their next login.")
async def reset_password(request: Req, user_id: FromPath[str]) -> Response[TemporaryPasswordOut]:
    out = await admin.reset_password(request.user, user_id, client_ip(request))
    forget_viewer(out.user_id)
    return Response(out, status_code=200, headers=NO_STORE)


@post("/users/{user_id:str}/reassign", status_code=200,
      description="Moves the user's customers and open opportunities to another active user and their team, in "
                  "one transaction, with one audit entry per record.")
async def reassign(request: Req, user_id: FromPath[str], data: JSONBody[ReassignIn]) -> ReassignOut:
    return await admin.reassign(request.user, user_id, data.to_user_id, client_ip(request))


# ---- teams
@get("/teams")
async def list_teams() -> TeamList:
    return await admin_teams.list_teams()


@post("/teams", status_code=201)
async def create_team(request: Req, data: JSONBody[TeamCreate]) -> TeamOut:
    out = await admin_teams.create_team(request.user, data, client_ip(request))
    forget_all_viewers()
    return out


@patch("/teams/{team_id:str}", description="Rename a team or set its manager (an active user with the manager role).")
async def update_team(request: Req, team_id: FromPath[str], data: JSONBody[TeamUpdate]) -> TeamOut:
    out = await admin_teams.update_team(request.user, team_id, data, client_ip(request))
    forget_all_viewers()
    return out


# ---- import
async def _upload(request: Req) -> bytes:
    """The file of a multipart form (field `file`), or the raw body (text/csv, an .xlsx)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "file_required", "The form field file is missing.")
        return await upload.read()
    return await request.body()


_IMPORT_DOC = ("CSV (UTF-8, with or without BOM) or XLSX, at most 2 MB, as multipart `file` or the raw body. Columns: "
               "username, display_name, roles, team, manager, phone, password (optional).")


@post("/users/import/preview", status_code=200, request_max_body_size=IMPORT_BODY_LIMIT,
      description=_IMPORT_DOC + " Checks every row and writes nothing.")
async def preview_import(request: Req) -> ImportPreview:
    return await admin_import.preview(await _upload(request), request_locale(request))


@post("/users/import", status_code=201, request_max_body_size=IMPORT_BODY_LIMIT,
      description=_IMPORT_DOC + " All or nothing: 422 `import_invalid` with every row's errors when any row has one.")
async def commit_import(request: Req) -> Response[ImportResult]:
    result = await admin_import.commit(request.user, await _upload(request), request_locale(request), client_ip(request))
    forget_all_viewers()
    return Response(result, status_code=201, headers=NO_STORE)


# ---- audit log
@get("/audit", description="Newest first. actor and target: a username or an id; action: exact, or a prefix "
     "ending in '.' or '*' (user.*); from/to: dates (local, inclusive) or ISO times.")
async def list_audit(
    request: Req, actor: Query = None, action: Query = None, target: Query = None,
    since: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
    until: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = audit_view.PAGE_SIZE,
) -> AuditPage:
    f = audit_filter(request, actor, action, target, since, until)
    return await audit_view.audit_page(f, cursor, limit, request_locale(request))


@get("/audit.csv", description="The filtered log as CSV (UTF-8 with BOM, headers in the caller's language, for "
     "Excel), streamed; the export itself is audited.")
async def export_audit(
    request: Req, actor: Query = None, action: Query = None, target: Query = None,
    since: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
    until: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
) -> Stream:
    f = audit_filter(request, actor, action, target, since, until)
    await audit.record("audit.export", actor_id=request.user.id, ip=client_ip(request), detail={
        "actor": actor, "action": action, "target": target, "from": since, "to": until})
    settings = request.app.state.settings
    name = f"salesgate-audit-{datetime.now(settings.tz):%Y%m%d-%H%M}.csv"
    return Stream(audit_view.export_csv(f, settings.tz, request_locale(request)), media_type="text/csv; charset=utf-8",
                  headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE})


ADMIN_API = Router(path="/api/v1/admin", guards=[require_admin], tags=["admin"], route_handlers=[
    list_users, create_user, get_user, update_user, disable_user, enable_user, reset_password, reassign,
    list_teams, create_team, update_team, preview_import, commit_import, list_audit, export_audit,
])

ADMIN_HANDLERS = [ADMIN_API, *ADMIN_PAGES, *ACCOUNT_HANDLERS]
