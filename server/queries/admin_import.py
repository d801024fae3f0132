"""Importing users from CSV or XLSX: a preview that writes nothing, and an all-or-nothing commit."""

from __future__ import annotations

import anyio
import msgspec

from server import i18n
from server.db import write_transaction
from server.domain.access import Viewer, roles_to_db
from server.domain.org import temporary_password
from server.domain.spreadsheet import Sheet, SheetError, read_sheet
from server.domain.user_import import (
    MESSAGES,
    ImportPlan,
    RowIssue,
    creation_order,
    plan_import,
)
from server.errors import ApiError
from server.queries import audit, users
from server.schemas_admin import (
    ImportedUser,
    ImportIssueOut,
    ImportPreview,
    ImportResult,
    ImportRowOut,
)
from server.tables import Team, User

HASH_THREADS = 4


def read(data: bytes) -> Sheet:
    try:
        return read_sheet(data)
    except SheetError as exc:
        raise ApiError(exc.status, exc.code, exc.message % exc.params if exc.params else exc.message,
                       exc.params) from None


def issue_text(issue: RowIssue, locale: str) -> str:
    template = i18n.translate(locale, MESSAGES.get(issue.code, issue.code))
    try:
        return template % issue.params if issue.params else template
    except (KeyError, ValueError, TypeError):
        return template


async def _plan(sheet: Sheet) -> ImportPlan:
    existing = {r["username"]: r["active"] for r in await User.select(User.username, User.active).run()}
    teams = {r["name"] for r in await Team.select(Team.name).run()}
    return plan_import(sheet.header, sheet.rows, existing_users=existing, existing_teams=teams)


def _issues_out(plan: ImportPlan, locale: str) -> list[ImportIssueOut]:
    return [ImportIssueOut(row=i.row, field=i.field, code=i.code, message=issue_text(i, locale)) for i in plan.issues]


async def preview(data: bytes, locale: str) -> ImportPreview:
    sheet = read(data)
    plan = await _plan(sheet)
    by_row: dict[int, list[str]] = {}
    for issue in plan.issues:
        by_row.setdefault(issue.row, []).append(issue_text(issue, locale))
    rows = [ImportRowOut(row=r.row, username=r.username, display_name=r.display_name, roles=list(r.roles), team=r.team,
                         manager=r.manager, phone=r.phone, password_given=r.password is not None,
                         errors=by_row.get(r.row, [])) for r in plan.rows]
    return ImportPreview(kind=sheet.kind, ok=plan.ok, rows=rows, errors=_issues_out(plan, locale),
                         new_teams=plan.new_teams, ignored_columns=plan.ignored_columns)


def _refuse(plan: ImportPlan, locale: str) -> ApiError:
    bad_rows = len({i.row for i in plan.issues})
    return ApiError(422, "import_invalid", f"{bad_rows} row(s) have errors; nothing was imported. Fix them and try again.",
                    {"errors": [msgspec.structs.asdict(i) for i in _issues_out(plan, locale)]})


async def _hash_all(passwords: dict[str, str]) -> dict[str, str]:
    """argon2 takes a tenth of a second a password: hash them in threads, before the transaction."""
    hashed: dict[str, str] = {}
    limiter = anyio.CapacityLimiter(HASH_THREADS)

    async def one(username: str, password: str) -> None:
        hashed[username] = await anyio.to_thread.run_sync(users.hash_password, password, limiter=limiter)
    async with anyio.create_task_group() as tg:
        for username, password in passwords.items():
            tg.start_soon(one, username, password)
    return hashed


async def commit(actor: Viewer, data: bytes, locale: str, ip: str | None) -> ImportResult:
    sheet = read(data)
    plan = await _plan(sheet)
    if not plan.ok:
        raise _refuse(plan, locale)
    temporary = {r.username: temporary_password() for r in plan.rows if r.password is None}
    hashes = await _hash_all({r.username: r.password or temporary[r.username] for r in plan.rows})
    async with write_transaction():
        plan = await _plan(sheet)  # again, inside the transaction: someone may have added a user meanwhile
        if not plan.ok:
            raise _refuse(plan, locale)
        teams = {r["name"]: r for r in await Team.select(Team.id, Team.name, Team.manager_id).run()}
        for name in plan.new_teams:
            team = Team(name=name)
            await team.save().run()
            teams[name] = {"id": team.id, "name": name, "manager_id": None}
        ids = {r["username"]: r["id"] for r in await User.select(User.id, User.username).run()}
        created, entries = [], []
        for row in creation_order(plan.rows):
            team = teams[row.team] if row.team else None
            user = User(username=row.username, display_name=row.display_name, password_hash=hashes[row.username],
                        roles=roles_to_db(row.roles), team=team["id"] if team else None,
                        manager=ids.get(row.manager) if row.manager else None, phone=row.phone,
                        must_change_password=True)
            await user.save().run()
            ids[row.username] = user.id
            if team and "manager" in row.roles and team["manager_id"] is None:
                # as `salesgate user add`: a manager in a team manages it (here: when it has nobody yet)
                await Team.update({Team.manager_id: user.id}).where(Team.id == team["id"]).run()
                team["manager_id"] = user.id
            created.append(ImportedUser(id=str(user.id), username=row.username, display_name=row.display_name,
                                        temporary_password=temporary.get(row.username)))
            entries.append(("user.create", "user", user.id, {
                "username": row.username, "roles": list(row.roles), "team": row.team, "manager": row.manager,
                "import_row": row.row, "temporary_password": row.username in temporary}))
        await audit.record_many(entries, actor_id=actor.id, ip=ip)
        await audit.record("user.import", actor_id=actor.id, ip=ip, detail={
            "kind": sheet.kind, "users": len(created), "teams_created": plan.new_teams})
    return ImportResult(created=len(created), teams_created=plan.new_teams, users=created)
