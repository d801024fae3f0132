"""Cookie sessions, personal API tokens and login attempts (for throttling)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from server.db import write_transaction
from server.domain.auth import (
    THROTTLE_WINDOW,
    session_alive,
    should_touch,
    throttle_retry_after,
    token_hash,
)
from server.queries.common import utcnow
from server.tables import ApiToken, LoginAttempt, Session, User


class NewSession:
    def __init__(self, token: str, csrf: str):
        self.token, self.csrf = token, csrf


async def login_retry_after(username: str) -> int | None:
    now = utcnow()
    rows = await LoginAttempt.select(LoginAttempt.at).where(
        (LoginAttempt.username == username) & (LoginAttempt.success == False)  # noqa: E712
        & (LoginAttempt.at > now - THROTTLE_WINDOW)
    ).run()
    return throttle_retry_after([r["at"] for r in rows], now)


async def record_attempt(username: str, success: bool, ip: str | None) -> None:
    await LoginAttempt.insert(LoginAttempt(username=username[:64], success=success, ip=ip)).run()
    if success:
        # A successful login clears the failure count for the account.
        await LoginAttempt.delete().where(
            (LoginAttempt.username == username) & (LoginAttempt.success == False)  # noqa: E712
        ).run()


async def create_session(user_id, *, absolute: timedelta, ip: str | None, user_agent: str | None,
                         replaces: str | None = None) -> NewSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = utcnow()
    async with write_transaction():
        if replaces:
            await Session.update({Session.revoked_at: now}).where(
                Session.token_hash == token_hash(replaces)).run()
        await Session.insert(Session(
            token_hash=token_hash(token), user=user_id, csrf_token=csrf, created_at=now,
            last_seen_at=now, expires_at=now + absolute, ip=ip, user_agent=(user_agent or "")[:300],
        )).run()
    return NewSession(token, csrf)


async def session_user(token: str, *, idle: timedelta, absolute: timedelta) -> tuple[str, str] | None:
    """(user id, csrf token) for a live session, touching its last-seen time."""
    row = await Session.select(
        Session.id, Session.user, Session.csrf_token, Session.created_at, Session.last_seen_at,
        Session.revoked_at, Session.user.active,
    ).where(Session.token_hash == token_hash(token)).first().run()
    now = utcnow()
    if not row or row["revoked_at"] is not None or not row["user.active"]:
        return None
    if not session_alive(created_at=row["created_at"], last_seen_at=row["last_seen_at"], now=now,
                         idle=idle, absolute=absolute):
        return None
    if should_touch(row["last_seen_at"], now):
        await Session.update({Session.last_seen_at: now}).where(Session.id == row["id"]).run()
    return str(row["user"]), row["csrf_token"]


async def revoke_session(token: str) -> None:
    await Session.update({Session.revoked_at: utcnow()}).where(
        (Session.token_hash == token_hash(token)) & Session.revoked_at.is_null()).run()


async def create_token(user_id, name: str) -> tuple[str, str]:
    token = "sgt_" + secrets.token_urlsafe(32)
    row = ApiToken(user=user_id, name=name, token_hash=token_hash(token))
    await row.save().run()
    return token, str(row.id)


async def token_user(token: str) -> str | None:
    row = await ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.revoked_at,
                                ApiToken.last_used_at, ApiToken.user.active).where(
        ApiToken.token_hash == token_hash(token)).first().run()
    if not row or row["revoked_at"] is not None or not row["user.active"]:
        return None
    now = utcnow()
    if row["last_used_at"] is None or should_touch(row["last_used_at"], now):
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"]).run()
    return str(row["user"])


__all__ = ["NewSession", "User", "write_transaction"]
