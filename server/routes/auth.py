"""Login, logout and personal API tokens."""

from __future__ import annotations

from datetime import timedelta

from litestar import Request, Response, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody

from server.errors import ApiError
from server.queries import audit, sessions, users
from server.schemas import LoginIn, LoginOut, TokenIn, TokenOut
from server.security import CSRF_COOKIE, SESSION_COOKIE, cached_viewer, forget_viewer

PUBLIC = {"exclude_from_auth": True}


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _check_credentials(request: Request, username: str, password: str) -> str:
    """The user id for good credentials; 429 while throttled; 401 otherwise."""
    retry = await sessions.login_retry_after(username)
    if retry is not None:
        raise ApiError(429, "too_many_attempts",
                       f"Too many failed logins for this account; try again in {retry // 60 + 1} minutes.",
                       {"retry_after": retry}, {"Retry-After": str(retry)})
    user = await users.find_by_username(username)
    ok = await users.password_matches(user["password_hash"] if user else None, password)
    if not ok or not user["active"]:
        await sessions.record_attempt(username, False, client_ip(request))
        await audit.record("login.failed", target_type="user", target_id=user and user["id"],
                           detail={"username": username[:64]}, ip=client_ip(request))
        raise ApiError(401, "invalid_credentials", "The username or password is wrong.")
    await sessions.record_attempt(username, True, client_ip(request))
    return str(user["id"])


def _secure(request: Request) -> bool:
    setting = request.app.state.settings.secure_cookies
    return setting if setting is not None else request.url.scheme == "https"


@post("/api/v1/auth/login", opt=PUBLIC, status_code=200, tags=["auth"])
async def login(request: Request, data: JSONBody[LoginIn]) -> Response[LoginOut]:
    user_id = await _check_credentials(request, data.username, data.password)
    settings = request.app.state.settings
    absolute = timedelta(hours=settings.session_absolute_hours)
    new = await sessions.create_session(user_id, absolute=absolute, ip=client_ip(request),
                                        user_agent=request.headers.get("user-agent"),
                                        replaces=request.cookies.get(SESSION_COOKIE))
    await audit.record("login", actor_id=user_id, ip=client_ip(request))
    forget_viewer(user_id)  # a password reset elsewhere may have changed it
    viewer = await cached_viewer(user_id)
    secure, max_age = _secure(request), int(absolute.total_seconds())
    return Response(
        LoginOut(user=users.user_out(viewer), csrf_token=new.csrf, must_change_password=viewer.must_change_password),
        cookies=[
            Cookie(key=SESSION_COOKIE, value=new.token, httponly=True, samesite="lax", secure=secure,
                   path="/", max_age=max_age),
            Cookie(key=CSRF_COOKIE, value=new.csrf, httponly=False, samesite="lax", secure=secure,
                   path="/", max_age=max_age),
        ],
    )


# The cookies are cleared in the decorator so the handler returns None: the schema then says a 204 has no
# body (a Response[None] made it declare an application/json null body, which the answer never has).
@post("/api/v1/auth/logout", status_code=204, tags=["auth"], response_cookies=[
    Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax"),
    Cookie(key=CSRF_COOKIE, value="", max_age=0, path="/", samesite="lax"),
])
async def logout(request: Request) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.revoke_session(token)
    await audit.record("logout", actor_id=request.user.id, ip=client_ip(request))


@post("/api/v1/auth/tokens", opt=PUBLIC, status_code=201, tags=["auth"])
async def create_token(request: Request, data: JSONBody[TokenIn]) -> TokenOut:
    user_id = await _check_credentials(request, data.username, data.password)
    viewer = await users.viewer_for(user_id)
    if viewer is not None and viewer.must_change_password:
        raise ApiError(403, "password_change_required",
                       "This password is a temporary one: log in to the app and change it before creating a token.")
    token, token_id = await sessions.create_token(user_id, data.name)
    await audit.record("token.create", actor_id=user_id, target_type="api_token", target_id=token_id,
                       detail={"name": data.name}, ip=client_ip(request))
    return TokenOut(token=token, id=token_id, name=data.name)


AUTH_HANDLERS = [login, logout, create_token]
