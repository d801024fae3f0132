"""Users and teams as an admin manages them: list, create, edit, disable and enable, reset a
password, hand a person's open records to someone else. Every change is audited."""

from __future__ import annotations

import anyio
from msgspec import UNSET
from piccolo.columns.combination import Or

from server.db import write_transaction
from server.domain.access import Viewer, roles_from_db, roles_to_db
from server.domain.org import manager_loop, password_problem, temporary_password
from server.domain.phones import InvalidPhone, digits_for_search, normalise_phone
from server.errors import ApiError, not_found
from server.queries import audit, users
from server.queries.common import (
    contains_ci,
    decode_cursor,
    encode_cursor,
    parse_id,
    sid,
    utcnow,
)
from server.schemas_admin import (
    AdminUserCreate,
    AdminUserCreated,
    AdminUserDetail,
    AdminUserOut,
    AdminUserPage,
    AdminUserUpdate,
    ReassignOut,
    TemporaryPasswordOut,
)
from server.tables import (
    ApiToken,
    Customer,
    Opportunity,
    PushSubscription,
    Session,
    Team,
    User,
)

PAGE_SIZE = 50
_COLUMNS = (User.id, User.username, User.display_name, User.roles, User.team, User.team.name, User.manager,
            User.manager.display_name, User.phone, User.active, User.must_change_password, User.created_at,
            User.disabled_at)


def user_out(row: dict, cls=AdminUserOut, **extra):
    return cls(id=str(row["id"]), username=row["username"], display_name=row["display_name"],
               roles=list(roles_from_db(row["roles"])), team_id=sid(row["team"]), team_name=row.get("team.name"),
               manager_id=sid(row["manager"]), manager_name=row.get("manager.display_name"), phone=row["phone"],
               active=row["active"], must_change_password=row["must_change_password"],
               created_at=row["created_at"], disabled_at=row["disabled_at"], **extra)


async def load_user(user_id) -> dict:
    row = await User.select(*_COLUMNS).where(User.id == parse_id(user_id, "user")).first().run()
    if row is None:
        raise not_found("user")
    return row


def _like(text: str) -> str:
    # "%" dropped; "_" stays a one-character wildcard (SQLite's LIKE has no default escape character)
    return "%" + text.replace("%", "") + "%"


async def list_users(q: str | None, status: str, team_id: str | None, role: str | None, cursor: str | None,
                     limit: int = PAGE_SIZE) -> AdminUserPage:
    query = User.select(*_COLUMNS).order_by(User.username).limit(limit + 1)
    if q and q.strip():
        pattern = _like(q.strip())
        match = Or(contains_ci(User.username, pattern), contains_ci(User.display_name, pattern))
        digits = digits_for_search(q)
        query = query.where(Or(match, User.phone.like(f"%{digits}%")) if digits else match)
    if status != "all":
        query = query.where(User.active == (status == "active"))
    if team_id:
        query = query.where(User.team == parse_id(team_id, "team"))
    if role:
        query = query.where(User.roles.like(f"%,{role},%"))
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        query = query.where(User.username > str(after))
    rows = await query.run()
    more = len(rows) > limit
    rows = rows[:limit]
    return AdminUserPage(items=[user_out(r) for r in rows],
                         next=encode_cursor(rows[-1]["username"]) if more and rows else None)


async def user_detail(user_id: str) -> AdminUserDetail:
    row = await load_user(user_id)
    uid = row["id"]
    opp_where = (Opportunity.owner == uid) & (Opportunity.status == "open")
    managed = await Team.select(Team.name).where(Team.manager_id == uid).order_by(Team.name).run()
    return user_out(
        row, AdminUserDetail,
        open_customers=await Customer.count().where(Customer.owner == uid).run(),
        open_opportunities=await Opportunity.count().where(opp_where).run(),
        sessions=await Session.count().where((Session.user == uid) & Session.revoked_at.is_null()
                                             & (Session.expires_at > utcnow())).run(),
        tokens=await ApiToken.count().where((ApiToken.user == uid) & ApiToken.revoked_at.is_null()).run(),
        devices=await PushSubscription.count().where(PushSubscription.user == uid).run(),
        reports=await User.count().where((User.manager == uid) & (User.active == True)).run(),  # noqa: E712
        managed_teams=[t["name"] for t in managed],
    )


def _phone(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw)
    except InvalidPhone as exc:
        raise ApiError(422, "invalid_phone", f"phone: {exc}", {"field": "phone"}) from None


async def _team(team_id: str | None):
    if team_id is None:
        return None
    row = await Team.select(Team.id).where(Team.id == parse_id(team_id, "team")).first().run()
    if row is None:
        raise ApiError(422, "unknown_team", "There is no such team.", {"field": "team_id"})
    return row["id"]


async def _manager(manager_id: str | None):
    if manager_id is None:
        return None
    row = await User.select(User.id, User.active).where(User.id == parse_id(manager_id, "user")).first().run()
    if row is None:
        raise ApiError(422, "unknown_manager", "There is no such user to be the manager.", {"field": "manager_id"})
    if not row["active"]:
        raise ApiError(422, "manager_disabled", "The chosen manager is disabled.", {"field": "manager_id"})
    return row["id"]


async def hash_new_password(password: str, field: str = "password") -> str:
    if password_problem(password):
        raise ApiError(422, "password_too_short", "The password must be 8 to 200 characters long.", {"field": field})
    return await anyio.to_thread.run_sync(users.hash_password, password)


async def create_user(actor: Viewer, data: AdminUserCreate, ip: str | None) -> AdminUserCreated:
    phone = _phone(data.phone)
    temporary = temporary_password() if data.password is None else None
    hashed = await hash_new_password(data.password if data.password is not None else temporary)
    roles = tuple(dict.fromkeys(data.roles))
    async with write_transaction():
        if await User.exists().where(User.username == data.username).run():
            raise ApiError(409, "username_taken", f"The username {data.username} is taken.", {"field": "username"})
        user = User(username=data.username, display_name=data.display_name or data.username, password_hash=hashed,
                    roles=roles_to_db(roles), team=await _team(data.team_id), manager=await _manager(data.manager_id),
                    phone=phone, must_change_password=data.must_change_password or temporary is not None)
        await user.save().run()
        await audit.record("user.create", actor_id=actor.id, target_type="user", target_id=user.id, ip=ip, detail={
            "username": data.username, "roles": list(roles), "team_id": data.team_id, "manager_id": data.manager_id,
            "temporary_password": temporary is not None})
    return user_out(await load_user(user.id), AdminUserCreated, temporary_password=temporary)


async def _check_manager_loop(uid, manager_id) -> None:
    rows = await User.select(User.id, User.manager, User.username).run()
    manager_of = {str(r["id"]): sid(r["manager"]) for r in rows if r["id"] != uid}
    chain = manager_loop(str(uid), sid(manager_id), manager_of)
    if chain:
        names = {str(r["id"]): r["username"] for r in rows}
        text = " → ".join(names.get(i, i) for i in chain)
        raise ApiError(422, "manager_cycle", f"That manager would close a loop: {text}.",
                       {"field": "manager_id", "chain": [names.get(i, i) for i in chain]})


async def update_user(actor: Viewer, user_id: str, data: AdminUserUpdate, ip: str | None) -> AdminUserOut:
    async with write_transaction():
        row = await load_user(user_id)
        uid, changes, detail = row["id"], {}, {}

        def change(column, key: str, old, new) -> None:
            if old != new:
                changes[column] = new
                detail[key] = [None if old is None else str(old), None if new is None else str(new)]
        if data.display_name is not UNSET:
            change(User.display_name, "display_name", row["display_name"], data.display_name)
        old_roles = roles_from_db(row["roles"])
        new_roles = old_roles if data.roles is UNSET else tuple(dict.fromkeys(data.roles))
        if "admin" in old_roles and "admin" not in new_roles and str(uid) == actor.id:
            raise ApiError(422, "own_admin_role", "You cannot take away your own admin role; ask another admin.",
                           {"field": "roles"})
        if new_roles != old_roles:
            changes[User.roles] = roles_to_db(new_roles)
            detail["roles"] = [list(old_roles), list(new_roles)]
        if data.team_id is not UNSET:
            change(User.team, "team_id", row["team"], await _team(data.team_id))
        if data.manager_id is not UNSET:
            manager = await _manager(data.manager_id)
            await _check_manager_loop(uid, manager)
            change(User.manager, "manager_id", row["manager"], manager)
        if data.phone is not UNSET:
            change(User.phone, "phone", row["phone"], _phone(data.phone))
        if not changes:
            return user_out(row)
        await User.update(changes).where(User.id == uid).run()
        if User.team in changes:
            detail["records_moved"] = await _records_follow_team(uid, changes[User.team])
        await audit.record("user.update", actor_id=actor.id, target_type="user", target_id=uid, ip=ip,
                           detail={"username": row["username"], "changes": detail})
        if new_roles != old_roles:
            await audit.record("user.roles", actor_id=actor.id, target_type="user", target_id=uid, ip=ip,
                               detail={"username": row["username"], "from": list(old_roles), "to": list(new_roles)})
    return user_out(await load_user(uid))


async def _records_follow_team(uid, team_id) -> dict:
    """A person who moves to another team takes their customers and open deals along, so the new
    team's manager sees them (and gets their alerts) and the old one no longer does."""
    customers = await Customer.update({Customer.team: team_id, Customer.updated_at: utcnow()}).where(
        Customer.owner == uid).returning(Customer.id).run()
    opps = await Opportunity.update({
        Opportunity.team: team_id, Opportunity.updated_at: utcnow(), Opportunity.version: Opportunity.version + 1,
        Opportunity.facts_rev: Opportunity.facts_rev + 1,
    }).where((Opportunity.owner == uid) & (Opportunity.status == "open")).returning(Opportunity.id).run()
    return {"customers": len(customers), "opportunities": len(opps)}


async def disable_user(actor: Viewer, user_id: str, ip: str | None) -> AdminUserOut:
    row = await load_user(user_id)
    if str(row["id"]) == actor.id:
        raise ApiError(422, "own_account", "You cannot disable your own account; ask another admin.")
    if row["active"]:
        await users.disable_user(row["id"], actor_id=actor.id, ip=ip)
    return user_out(await load_user(row["id"]))


async def enable_user(actor: Viewer, user_id: str, ip: str | None) -> AdminUserOut:
    async with write_transaction():
        row = await load_user(user_id)
        if not row["active"]:
            await User.update({User.active: True, User.disabled_at: None}).where(User.id == row["id"]).run()
            await audit.record("user.enable", actor_id=actor.id, target_type="user", target_id=row["id"], ip=ip,
                               detail={"username": row["username"]})
    return user_out(await load_user(row["id"]))


async def reset_password(actor: Viewer, user_id: str, ip: str | None) -> TemporaryPasswordOut:
    """A temporary password to hand over; the user's sessions end and they must change it at login.
    Their API tokens stay (scripts keep running); disabling the user ends those."""
    row = await load_user(user_id)
    temporary = temporary_password()
    hashed = await hash_new_password(temporary)
    now = utcnow()
    async with write_transaction():
        await User.update({User.password_hash: hashed, User.must_change_password: True}).where(
            User.id == row["id"]).run()
        ended = await Session.update({Session.revoked_at: now}).where(
            (Session.user == row["id"]) & Session.revoked_at.is_null()).returning(Session.id).run()
        await audit.record("user.password_reset", actor_id=actor.id, target_type="user", target_id=row["id"], ip=ip,
                           detail={"username": row["username"], "sessions_ended": len(ended)})
    return TemporaryPasswordOut(user_id=str(row["id"]), temporary_password=temporary)


async def reassign(actor: Viewer, user_id: str, to_user_id: str, ip: str | None) -> ReassignOut:
    """Move the user's customers and open opportunities to another active user and their team, in
    one transaction, with one audit entry per record. Won and lost deals keep their owner: they
    are history (PHI, lost-deal review)."""
    async with write_transaction():
        source = await load_user(user_id)
        target = await User.select(User.id, User.team, User.active, User.username).where(
            User.id == parse_id(to_user_id, "user")).first().run()
        if target is None or not target["active"]:
            raise ApiError(422, "invalid_reassign_target", "Choose an active user to take over the records.",
                           {"field": "to_user_id"})
        if target["id"] == source["id"]:
            raise ApiError(422, "invalid_reassign_target", "Choose someone else than the user themselves.",
                           {"field": "to_user_id"})
        now, team = utcnow(), target["team"]
        customers = await Customer.update({Customer.owner: target["id"], Customer.team: team,
                                           Customer.updated_at: now}).where(
            Customer.owner == source["id"]).returning(Customer.id, Customer.name).run()
        opps = await Opportunity.update({
            Opportunity.owner: target["id"], Opportunity.team: team, Opportunity.updated_at: now,
            Opportunity.version: Opportunity.version + 1, Opportunity.facts_rev: Opportunity.facts_rev + 1,
        }).where((Opportunity.owner == source["id"]) & (Opportunity.status == "open")).returning(
            Opportunity.id, Opportunity.title).run()
        base = {"from_user_id": str(source["id"]), "from_username": source["username"],
                "to_user_id": str(target["id"]), "to_username": target["username"], "team_id": sid(team)}
        entries = [("customer.reassign", "customer", c["id"], {**base, "name": c["name"]}) for c in customers]
        entries += [("opportunity.reassign", "opportunity", o["id"], {**base, "title": o["title"]}) for o in opps]
        await audit.record_many(entries, actor_id=actor.id, ip=ip)
    return ReassignOut(from_user_id=str(source["id"]), to_user_id=str(target["id"]), team_id=sid(team),
                       customers=len(customers), opportunities=len(opps))
