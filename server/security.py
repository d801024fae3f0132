"""Authentication (cookie sessions and bearer tokens), CSRF, and security headers.

Public handlers opt out with ``opt={"exclude_from_auth": True}``. A cookie
session must send its CSRF token in ``X-CSRF-Token`` on unsafe methods; a
bearer token needs none (browsers never attach it on their own).
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Message, Scope

from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import sessions, users

SESSION_COOKIE = "sg_session"
CSRF_COOKIE = "sg_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_VIEWER_TTL = 10.0
_viewer_cache: dict[str, tuple[float, Viewer]] = {}


async def cached_viewer(user_id: str) -> Viewer | None:
    hit = _viewer_cache.get(user_id)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    viewer = await users.viewer_for(user_id)
    if viewer is not None:
        if len(_viewer_cache) > 10_000:
            _viewer_cache.clear()
        _viewer_cache[user_id] = (now + _VIEWER_TTL, viewer)
    return viewer


def forget_viewer(user_id: str) -> None:
    _viewer_cache.pop(user_id, None)


def forget_all_viewers() -> None:
    """After an admin changes roles, teams or managers: this process sees it at once (others
    within the cache's 10 seconds; sessions and tokens of a disabled user end at once everywhere)."""
    _viewer_cache.clear()


# With a temporary password, a browser session may only change it (pages redirect to /password).
PASSWORD_CHANGE_PATHS = {"/api/v1/me", "/api/v1/me/password", "/api/v1/auth/logout"}


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        settings = connection.app.state.settings
        header = connection.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user_id = await sessions.token_user(header[7:].strip())
            if user_id is None:
                raise NotAuthorizedException("The API token is not valid or has been revoked.")
            return await self._result(user_id, "token")
        token = connection.cookies.get(SESSION_COOKIE)
        if not token:
            raise NotAuthorizedException("Please log in first.")
        found = await sessions.session_user(
            token,
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )
        if found is None:
            raise NotAuthorizedException("Your session has ended; please log in again.")
        user_id, csrf = found
        if connection.scope["method"] not in SAFE_METHODS:
            sent = connection.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, csrf):
                raise ApiError(403, "csrf_failed",
                               "The request lacks a valid CSRF token; reload the page and try again.")
        result = await self._result(user_id, "session")
        path = connection.scope["path"]
        if result.user.must_change_password and path.startswith("/api/") and path not in PASSWORD_CHANGE_PATHS:
            raise ApiError(403, "password_change_required",
                           "Your password is a temporary one: change it first (POST /api/v1/me/password).")
        return result

    async def _result(self, user_id: str, kind: str) -> AuthenticationResult:
        viewer = await cached_viewer(user_id)
        if viewer is None:
            raise NotAuthorizedException("This account is disabled.")
        return AuthenticationResult(user=viewer, auth=kind)


def content_security_policy(connect: tuple[str, ...] = ()) -> str:
    """No inline script or style; `connect` adds origins the pages may fetch from (object storage
    for direct uploads with presigned URLs)."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        " ".join(("connect-src 'self'", *connect)),
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


CSP = content_security_policy()


def security_headers(connect: tuple[str, ...] = ()):
    """The app-level before_send hook: every answer, 404s included, carries the headers."""
    headers = [
        (b"content-security-policy", content_security_policy(connect).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        present = {k.lower() for k, _ in message.get("headers", [])}
        extra = [(k, v) for k, v in headers if k not in present]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))
        message["headers"] = list(message.get("headers", [])) + extra

    return add_security_headers
