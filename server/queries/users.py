"""Users and teams: creation, lookup as a Viewer, disabling."""

from __future__ import annotations

import asyncio
import uuid
import weakref

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.db import write_transaction
from server.domain.access import Viewer, roles_from_db, roles_to_db
from server.queries import audit
from server.queries.common import sid, utcnow
from server.schemas import UserOut
from server.tables import ApiToken, PushSubscription, Session, Team, User

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so that timing does
# not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("salesgate-dummy-password")


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


PASSWORD_CHECKS_AT_ONCE = 2
_check_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def password_matches(password_hash: str | None, password: str) -> bool:
    """verify_password in a worker thread, at most PASSWORD_CHECKS_AT_ONCE at a time per process.

    argon2 takes tens of milliseconds of CPU and 64 MiB a check (its default, RFC 9106 parameters).
    On the event loop every other request of the process waited behind each login; in threads without
    a bound, the load test's burst of 220 logins ran dozens of checks at once: 1.1 GB of RSS per app
    process and every request slowed to seconds. Bounded, logins queue behind each other and the
    other requests go on."""
    loop = asyncio.get_running_loop()
    limiter = _check_limiters.get(loop)
    if limiter is None:
        limiter = _check_limiters[loop] = anyio.CapacityLimiter(PASSWORD_CHECKS_AT_ONCE)
    return await anyio.to_thread.run_sync(verify_password, password_hash, password, limiter=limiter)


async def ensure_team(name: str) -> uuid.UUID:
    row = await Team.select(Team.id).where(Team.name == name).first().run()
    if row:
        return row["id"]
    team = Team(name=name)
    await team.save().run()
    return team.id


async def create_user(*, username: str, password: str, roles: tuple[str, ...],
                      display_name: str | None = None, team: str | None = None,
                      manager_username: str | None = None, phone: str | None = None,
                      actor_id=None, password_hash: str | None = None) -> User:
    """Create a user. ``password_hash`` may be given for bulk loads that share one password."""
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise UserError("username: 1-64 letters, digits, '.', '_' or '-'")
    if len(password) < 8:
        raise UserError("password: at least 8 characters")
    async with write_transaction():
        if await User.exists().where(User.username == username).run():
            raise UserError(f"user {username!r} already exists")
        manager_id = None
        if manager_username:
            manager = await User.select(User.id).where(User.username == manager_username).first().run()
            if not manager:
                raise UserError(f"manager {manager_username!r} does not exist")
            manager_id = manager["id"]
        team_id = await ensure_team(team) if team else None
        user = User(username=username, display_name=display_name or username,
                    password_hash=password_hash or hash_password(password), roles=roles_to_db(roles),
                    team=team_id, manager=manager_id, phone=phone)
        await user.save().run()
        if team_id and "manager" in roles:
            await Team.update({Team.manager_id: user.id}).where(Team.id == team_id).run()
        await audit.record("user.create", actor_id=actor_id, target_type="user", target_id=user.id,
                           detail={"username": username, "roles": list(roles), "team": team})
    return user


async def viewer_for(user_id) -> Viewer | None:
    row = await User.select().where((User.id == user_id) & (User.active == True)).first().run()  # noqa: E712
    if not row:
        return None
    managed = await Team.select(Team.id).where(Team.manager_id == row["id"]).run()
    reports = await User.select(User.id).where(User.manager == row["id"]).run()
    return Viewer(
        id=str(row["id"]), username=row["username"], display_name=row["display_name"],
        roles=roles_from_db(row["roles"]), team_id=sid(row["team"]), manager_id=sid(row["manager"]),
        managed_team_ids=tuple(str(t["id"]) for t in managed),
        report_ids=tuple(str(r["id"]) for r in reports), locale=row["locale"],
        must_change_password=bool(row["must_change_password"]),
    )


def user_out(viewer: Viewer) -> UserOut:
    return UserOut(id=viewer.id, username=viewer.username, display_name=viewer.display_name,
                   roles=list(viewer.roles), team_id=viewer.team_id, manager_id=viewer.manager_id,
                   locale=viewer.locale)


async def find_by_username(username: str) -> dict | None:
    return await User.select().where(User.username == username).first().run()


async def disable_user(user_id, *, actor_id=None, ip: str | None = None) -> None:
    """Disabling ends every session and token of the user at once, and forgets their devices
    (their push subscriptions, and with them any push still queued for them)."""
    now = utcnow()
    async with write_transaction():
        await User.update({User.active: False, User.disabled_at: now}).where(User.id == user_id).run()
        sessions = await Session.update({Session.revoked_at: now}).where(
            (Session.user == user_id) & Session.revoked_at.is_null()).returning(Session.id).run()
        tokens = await ApiToken.update({ApiToken.revoked_at: now}).where(
            (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()).returning(ApiToken.id).run()
        devices = await PushSubscription.delete().where(PushSubscription.user == user_id).returning(
            PushSubscription.id).run()
        await audit.record("user.disable", actor_id=actor_id, target_type="user", target_id=user_id, ip=ip,
                           detail={"sessions": len(sessions), "tokens": len(tokens), "devices": len(devices)})


async def set_locale(user_id, locale: str) -> None:
    await User.update({User.locale: locale}).where(User.id == user_id).run()
