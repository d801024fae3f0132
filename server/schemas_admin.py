"""msgspec Structs of the admin API (/api/v1/admin/…) and of changing one's own password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.schemas import Id, In, Out, PhoneText

Role = Literal["rep", "manager", "presales", "delivery", "service", "commercial", "legal", "admin"]
Roles = Annotated[list[Role], Meta(min_length=1, max_length=8, description="at least one role")]
NewUsername = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                                  description="1-64 letters, digits, '.', '_' or '-'")]
DisplayName = Annotated[str, Meta(min_length=1, max_length=100)]
TeamName = Annotated[str, Meta(min_length=1, max_length=100)]
NewPassword = Annotated[str, Meta(max_length=200, description="at least 8 characters")]


# ---- users
class AdminUserCreate(In, kw_only=True):
    username: NewUsername
    display_name: DisplayName | None = None
    roles: Roles
    team_id: Id | None = None
    manager_id: Id | None = None
    phone: PhoneText | None = None
    password: NewPassword | None = msgspec.field(default=None)
    must_change_password: bool = True


class AdminUserUpdate(In, kw_only=True):
    """Only the fields sent change; null clears team, manager or phone."""

    display_name: DisplayName | UnsetType = UNSET
    roles: Roles | UnsetType = UNSET
    team_id: Id | None | UnsetType = UNSET
    manager_id: Id | None | UnsetType = UNSET
    phone: PhoneText | None | UnsetType = UNSET


class AdminUserOut(Out, kw_only=True):
    id: str
    username: str
    display_name: str
    roles: list[str]
    team_id: str | None
    team_name: str | None
    manager_id: str | None
    manager_name: str | None
    phone: str | None
    active: bool
    must_change_password: bool
    created_at: datetime
    disabled_at: datetime | None


class AdminUserCreated(AdminUserOut, kw_only=True):
    temporary_password: str | None = None  # only when no password was given: shown once


class AdminUserDetail(AdminUserOut, kw_only=True):
    """What disabling this user would end and leave behind."""

    open_customers: int
    open_opportunities: int
    sessions: int
    tokens: int
    devices: int
    reports: int
    managed_teams: list[str]


class AdminUserPage(Out, kw_only=True):
    items: list[AdminUserOut]
    next: str | None


class TemporaryPasswordOut(Out, kw_only=True):
    user_id: str
    temporary_password: str


class ReassignIn(In, kw_only=True):
    to_user_id: Id


class ReassignOut(Out, kw_only=True):
    from_user_id: str
    to_user_id: str
    team_id: str | None
    customers: int
    opportunities: int


# ---- teams
class TeamCreate(In, kw_only=True):
    name: TeamName
    manager_id: Id | None = None


class TeamUpdate(In, kw_only=True):
    name: TeamName | UnsetType = UNSET
    manager_id: Id | None | UnsetType = UNSET


class TeamOut(Out, kw_only=True):
    id: str
    name: str
    manager_id: str | None
    manager_name: str | None
    members: int
    created_at: datetime


class TeamList(Out, kw_only=True):
    items: list[TeamOut]


# ---- import
class ImportIssueOut(Out, kw_only=True):
    row: int
    field: str | None
    code: str
    message: str


class ImportRowOut(Out, kw_only=True):
    row: int
    username: str
    display_name: str
    roles: list[str]
    team: str | None
    manager: str | None
    phone: str | None
    password_given: bool
    errors: list[str]


class ImportPreview(Out, kw_only=True):
    kind: Literal["csv", "xlsx"]
    ok: bool
    rows: list[ImportRowOut]
    errors: list[ImportIssueOut]
    new_teams: list[str]
    ignored_columns: list[str]


class ImportedUser(Out, kw_only=True):
    id: str
    username: str
    display_name: str
    temporary_password: str | None = None


class ImportResult(Out, kw_only=True):
    created: int
    teams_created: list[str]
    users: list[ImportedUser]


# ---- audit
class AuditEntryOut(Out, kw_only=True):
    id: str
    at: datetime
    actor_id: str | None
    actor_name: str | None
    action: str
    action_label: str
    target_type: str | None
    target_id: str | None
    target_name: str | None
    detail: dict
    ip: str | None


class AuditPage(Out, kw_only=True):
    items: list[AuditEntryOut]
    next: str | None


# ---- one's own password
class PasswordChange(In, kw_only=True):
    current: Annotated[str, Meta(min_length=1, max_length=200)]
    new: NewPassword
