"""Importing users from a table: every row checked, every problem named with its row. Pure.

Columns (English or Chinese headers, any order): username, display_name, roles, team,
manager, phone, password. username, display_name and roles must be there; a blank display
name is the username. ``manager`` is the username of the direct manager: someone already in
Salesgate (active) or a row of the same file. Rows without a password get a temporary one at
commit, and everyone imported must change their password at first login.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from server.domain.access import ROLES
from server.domain.org import PASSWORD_MAX, PASSWORD_MIN, manager_loop
from server.domain.phones import InvalidPhone, normalise_phone


def N_(message: str) -> str:
    """Marks a message for translation (pybabel extracts N_); the route translates it."""
    return message


COLUMNS = ("username", "display_name", "roles", "team", "manager", "phone", "password")
REQUIRED = ("username", "display_name", "roles")
HEADER_ALIASES = {
    "用户名": "username", "账号": "username", "登录名": "username", "user": "username", "login": "username",
    "姓名": "display_name", "显示名": "display_name", "名字": "display_name", "name": "display_name",
    "display name": "display_name",
    "角色": "roles", "role": "roles",
    "团队": "team", "部门": "team",
    "上级": "manager", "直属上级": "manager", "经理": "manager",
    "手机": "phone", "手机号": "phone", "电话": "phone", "mobile": "phone",
    "密码": "password", "初始密码": "password",
}
ROLE_ALIASES = {"销售": "rep", "经理": "manager", "售前": "presales", "交付": "delivery", "服务": "service",
                "售后": "service", "商务": "commercial", "法务": "legal", "管理员": "admin"}
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ROLE_SPLIT = re.compile(r"[,;|/、，；\s]+")

MESSAGES = {
    "missing_column": N_("The column %(column)s is missing (needed: username, display_name, roles)."),
    "duplicate_column": N_("The column %(column)s appears twice."),
    "no_rows": N_("The file has a header but no users."),
    "username_required": N_("The username is empty."),
    "username_invalid": N_("The username %(value)s may only hold letters, digits, '.', '_' and '-' (at most 64)."),
    "username_taken": N_("The user %(value)s already exists in Salesgate."),
    "username_repeated": N_("The username %(value)s is already in row %(other)s."),
    "display_name_too_long": N_("The display name is longer than 100 characters."),
    "roles_required": N_("No role is given (for example rep, or rep,manager)."),
    "role_unknown": N_("Unknown role %(value)s; the roles are %(known)s."),
    "team_too_long": N_("The team name is longer than 100 characters."),
    "manager_unknown": N_("The manager %(value)s is neither in Salesgate nor in this file."),
    "manager_disabled": N_("The manager %(value)s is disabled."),
    "manager_self": N_("A user cannot be their own manager."),
    "manager_loop": N_("The managers form a loop: %(chain)s."),
    "phone_invalid": N_("The phone number %(value)s is not valid."),
    "password_too_short": N_("The password is shorter than %(min)s characters."),
    "password_too_long": N_("The password is longer than %(max)s characters."),
}


class RowIssue(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    field: str | None
    code: str
    params: dict[str, str] = {}


class ImportRow(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    team: str | None
    manager: str | None
    phone: str | None
    password: str | None


class ImportPlan(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[ImportRow]
    issues: list[RowIssue]
    new_teams: list[str]
    ignored_columns: list[str]

    @property
    def ok(self) -> bool:
        return not self.issues


def column_of(header: str) -> str | None:
    text = header.strip().lstrip("\ufeff").strip().lower().replace("-", "_")
    if text in COLUMNS:
        return text
    return HEADER_ALIASES.get(text) or HEADER_ALIASES.get(text.replace("_", " "))


def parse_roles(text: str) -> tuple[tuple[str, ...], list[str]]:
    """(known roles, unknown words) of a cell such as "rep, manager" or "销售、经理"."""
    roles, unknown = [], []
    for word in (w for w in _ROLE_SPLIT.split(text.strip()) if w):
        role = ROLE_ALIASES.get(word, word.lower())
        (roles if role in ROLES else unknown).append(role if role in ROLES else word)
    return tuple(dict.fromkeys(roles)), unknown


def plan_import(header: list[str], rows: list[tuple[int, list[str]]], *,
                existing_users: Mapping[str, bool], existing_teams: set[str]) -> ImportPlan:
    """Check every row. ``existing_users`` maps each username in Salesgate to whether it is active."""
    columns, issues, ignored = {}, [], []
    for index, title in enumerate(header):
        name = column_of(title) if title else None
        if name is None:
            if title:
                ignored.append(title)
        elif name in columns:
            issues.append(RowIssue(row=1, field=name, code="duplicate_column", params={"column": name}))
        else:
            columns[name] = index
    issues += [RowIssue(row=1, field=c, code="missing_column", params={"column": c}) for c in REQUIRED if c not in columns]
    if issues:
        return ImportPlan(rows=[], issues=issues, new_teams=[], ignored_columns=ignored)
    if not rows:
        return ImportPlan(rows=[], issues=[RowIssue(row=1, field=None, code="no_rows")], new_teams=[],
                          ignored_columns=ignored)

    def cell(cells: list[str], name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    parsed, first_row = [], {}
    for number, cells in rows:
        row, row_issues = _check_row(number, {c: cell(cells, c) for c in COLUMNS}, existing_users, first_row)
        parsed.append(row)
        issues += row_issues
    issues += _check_managers(parsed, existing_users)
    teams = sorted({r.team for r in parsed if r.team and r.team not in existing_teams})
    return ImportPlan(rows=parsed, issues=sorted(issues, key=lambda i: i.row), new_teams=teams,
                      ignored_columns=ignored)


def _check_row(number: int, values: dict[str, str], existing: Mapping[str, bool],
               first_row: dict[str, int]) -> tuple[ImportRow, list[RowIssue]]:
    issues: list[RowIssue] = []

    def issue(field: str, code: str, **params) -> None:
        issues.append(RowIssue(row=number, field=field, code=code, params={k: str(v) for k, v in params.items()}))

    username = values["username"]
    if not username:
        issue("username", "username_required")
    elif not USERNAME.match(username):
        issue("username", "username_invalid", value=username)
    elif username in existing:
        issue("username", "username_taken", value=username)
    elif username in first_row:
        issue("username", "username_repeated", value=username, other=first_row[username])
    else:
        first_row[username] = number
    display_name = values["display_name"] or username
    if len(display_name) > 100:
        issue("display_name", "display_name_too_long")
    roles, unknown = parse_roles(values["roles"])
    for word in unknown:
        issue("roles", "role_unknown", value=word, known=", ".join(ROLES))
    if not roles and not unknown:
        issue("roles", "roles_required")
    team = values["team"] or None
    if team and len(team) > 100:
        issue("team", "team_too_long")
    phone = None
    if values["phone"]:
        try:
            phone = normalise_phone(values["phone"])
        except InvalidPhone:
            issue("phone", "phone_invalid", value=values["phone"])
    password = values["password"] or None
    if password and len(password) < PASSWORD_MIN:
        issue("password", "password_too_short", min=PASSWORD_MIN)
    elif password and len(password) > PASSWORD_MAX:
        issue("password", "password_too_long", max=PASSWORD_MAX)
    return ImportRow(row=number, username=username, display_name=display_name, roles=roles, team=team,
                     manager=values["manager"] or None, phone=phone, password=password), issues


def _check_managers(rows: list[ImportRow], existing: Mapping[str, bool]) -> list[RowIssue]:
    in_file = {r.username: r for r in rows if r.username}
    manager_of = {r.username: r.manager for r in rows if r.username}
    issues, looped = [], set()
    for r in rows:
        if not r.manager:
            continue
        if r.manager == r.username:
            issues.append(RowIssue(row=r.row, field="manager", code="manager_self"))
        elif r.manager not in in_file and r.manager not in existing:
            issues.append(RowIssue(row=r.row, field="manager", code="manager_unknown", params={"value": r.manager}))
        elif r.manager not in in_file and not existing[r.manager]:
            issues.append(RowIssue(row=r.row, field="manager", code="manager_disabled", params={"value": r.manager}))
        elif r.username not in looped:
            others = {k: v for k, v in manager_of.items() if k != r.username}
            chain = manager_loop(r.username, r.manager, others)
            if chain:
                looped.update(chain)
                issues.append(RowIssue(row=r.row, field="manager", code="manager_loop",
                                       params={"chain": " → ".join(chain)}))
    return issues


def creation_order(rows: list[ImportRow]) -> list[ImportRow]:
    """Managers before the people who report to them (a plan without issues has no loops)."""
    by_name = {r.username: r for r in rows}
    done: set[str] = set()
    ordered: list[ImportRow] = []

    def visit(row: ImportRow) -> None:
        if row.username in done:
            return
        done.add(row.username)
        if row.manager in by_name:
            visit(by_name[row.manager])
        ordered.append(row)
    for r in rows:
        visit(r)
    return ordered
