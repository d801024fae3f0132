"""Changing one's own password: POST /api/v1/me/password and the /password screen (which a user
with a temporary password is sent to until they have changed it)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from litestar.params import JSONBody, QueryParameter

from server.db import write_transaction
from server.domain.access import Viewer
from server.domain.auth import token_hash
from server.domain.org import password_problem
from server.errors import ApiError
from server.queries import audit, sessions, users
from server.queries.admin import hash_new_password
from server.queries.common import utcnow
from server.routes.auth import client_ip
from server.routes.pages import render
from server.schemas_admin import PasswordChange
from server.security import SESSION_COOKIE, forget_viewer
from server.tables import Session, User

Req = Request[Viewer, str, object]


@post("/api/v1/me/password", status_code=204, tags=["me"],
      description="Change your own password: `current` and `new` (8-200 characters). Your other sessions end.")
async def change_password(request: Req, data: JSONBody[PasswordChange]) -> None:
    viewer, ip = request.user, client_ip(request)
    retry = await sessions.login_retry_after(viewer.username)
    if retry is not None:
        raise ApiError(429, "too_many_attempts", f"Too many wrong passwords; try again in {retry // 60 + 1} minutes.",
                       {"retry_after": retry}, {"Retry-After": str(retry)})
    row = await User.select(User.password_hash).where(User.id == viewer.id).first().run()
    if not await users.password_matches(row["password_hash"] if row else None, data.current):
        await sessions.record_attempt(viewer.username, False, ip)
        await audit.record("password.change_failed", actor_id=viewer.id, target_type="user", target_id=viewer.id, ip=ip)
        raise ApiError(422, "wrong_current_password", "The current password is wrong.", {"field": "current"})
    if password_problem(data.new):
        raise ApiError(422, "password_too_short", "The new password must be 8 to 200 characters long.", {"field": "new"})
    if data.new == data.current:
        raise ApiError(422, "password_unchanged", "The new password must differ from the current one.", {"field": "new"})
    hashed = await hash_new_password(data.new, "new")
    keep = request.cookies.get(SESSION_COOKIE)
    async with write_transaction():
        await User.update({User.password_hash: hashed, User.must_change_password: False}).where(
            User.id == viewer.id).run()
        others = (Session.user == viewer.id) & Session.revoked_at.is_null()
        if keep:
            others &= Session.token_hash != token_hash(keep)
        await Session.update({Session.revoked_at: utcnow()}).where(others).run()
        await audit.record("password.change", actor_id=viewer.id, target_type="user", target_id=viewer.id, ip=ip,
                           detail={"was_temporary": viewer.must_change_password})
    forget_viewer(viewer.id)


@get("/password", include_in_schema=False)
async def password_page(request: Req, next: Annotated[str | None, QueryParameter(name="next")] = None) -> Response:
    target = next if next and next.startswith("/") and not next.startswith("//") else "/customers"
    return render(request, "password.html", tab="me", next=target, forced=request.user.must_change_password)


ACCOUNT_HANDLERS = [change_password, password_page]
