"""Teams as an admin manages them: list, create, rename, set the manager. Audited."""

from __future__ import annotations

from msgspec import UNSET
from piccolo.query.functions.aggregate import Count

from server.db import write_transaction
from server.domain.access import Viewer, roles_from_db
from server.errors import ApiError, not_found
from server.queries import audit
from server.queries.common import parse_id, sid
from server.schemas_admin import TeamCreate, TeamList, TeamOut, TeamUpdate
from server.tables import Team, User


async def list_teams() -> TeamList:
    teams = await Team.select().order_by(Team.name).run()
    counts = await User.select(User.team, Count(User.id, alias="n")).where(
        (User.active == True) & User.team.is_not_null()).group_by(User.team).run()  # noqa: E712
    members = {str(r["team"]): r["n"] for r in counts}
    names = await _names([t["manager_id"] for t in teams if t["manager_id"]])
    return TeamList(items=[_out(t, names, members.get(str(t["id"]), 0)) for t in teams])


async def get_team(team_id: str) -> TeamOut:
    row = await Team.select().where(Team.id == parse_id(team_id, "team")).first().run()
    if row is None:
        raise not_found("team")
    members = await User.count().where((User.team == row["id"]) & (User.active == True)).run()  # noqa: E712
    return _out(row, await _names([row["manager_id"]] if row["manager_id"] else []), members)


def _out(row: dict, names: dict, members: int) -> TeamOut:
    return TeamOut(id=str(row["id"]), name=row["name"], manager_id=sid(row["manager_id"]),
                   manager_name=names.get(str(row["manager_id"])), members=members, created_at=row["created_at"])


async def _names(ids: list) -> dict[str, str]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(ids)).run()
    return {str(r["id"]): r["display_name"] for r in rows}


async def _manager(manager_id: str | None):
    """A team's manager: an active user with the manager role (the role is what lets them see the team)."""
    if manager_id is None:
        return None
    row = await User.select(User.id, User.active, User.roles).where(
        User.id == parse_id(manager_id, "user")).first().run()
    if row is None or not row["active"]:
        raise ApiError(422, "unknown_manager", "Choose an active user as the team's manager.", {"field": "manager_id"})
    if "manager" not in roles_from_db(row["roles"]):
        raise ApiError(422, "not_a_manager", "This user does not have the manager role; give it to them first.",
                       {"field": "manager_id"})
    return row["id"]


async def _name_free(name: str, team_id=None) -> None:
    query = Team.exists().where(Team.name == name)
    if team_id is not None:
        query = query.where(Team.id != team_id)
    if await query.run():
        raise ApiError(409, "team_exists", f"A team named {name} exists already.", {"field": "name"})


async def create_team(actor: Viewer, data: TeamCreate, ip: str | None) -> TeamOut:
    name = data.name.strip()
    async with write_transaction():
        await _name_free(name)
        team = Team(name=name, manager_id=await _manager(data.manager_id))
        await team.save().run()
        await audit.record("team.create", actor_id=actor.id, target_type="team", target_id=team.id, ip=ip,
                           detail={"name": name, "manager_id": data.manager_id})
    return await get_team(str(team.id))


async def update_team(actor: Viewer, team_id: str, data: TeamUpdate, ip: str | None) -> TeamOut:
    async with write_transaction():
        row = await Team.select().where(Team.id == parse_id(team_id, "team")).first().run()
        if row is None:
            raise not_found("team")
        changes, detail = {}, {}
        if data.name is not UNSET and data.name.strip() != row["name"]:
            await _name_free(data.name.strip(), row["id"])
            changes[Team.name] = data.name.strip()
            detail["name"] = [row["name"], data.name.strip()]
        if data.manager_id is not UNSET:
            manager = await _manager(data.manager_id)
            if manager != row["manager_id"]:
                changes[Team.manager_id] = manager
                detail["manager_id"] = [sid(row["manager_id"]), sid(manager)]
        if changes:
            await Team.update(changes).where(Team.id == row["id"]).run()
            await audit.record("team.update", actor_id=actor.id, target_type="team", target_id=row["id"], ip=ip,
                               detail={"name": row["name"], "changes": detail})
    return await get_team(str(row["id"]))
