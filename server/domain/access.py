"""Who may see which record. Pure: the query layer turns a Scope into SQL.

- an admin sees everything;
- a manager sees what is owned by members of the teams they manage and by
  their direct reports, plus their own;
- everyone sees what they own, and the opportunities (and their customers)
  they collaborate on.
A record outside the scope does not exist for the viewer (404, not 403).
"""

from __future__ import annotations

import msgspec

ROLES = ("rep", "manager", "presales", "delivery", "service", "commercial", "legal", "admin")


class Viewer(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    team_id: str | None = None
    manager_id: str | None = None
    managed_team_ids: tuple[str, ...] = ()
    report_ids: tuple[str, ...] = ()
    locale: str | None = None
    # A temporary password (set by an admin) must be changed before anything else is done.
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_manager(self) -> bool:
        return "manager" in self.roles and bool(self.managed_team_ids or self.report_ids)


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """What a viewer may see: everything, or owners/teams plus collaborations."""

    everything: bool = False
    owner_ids: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()
    collaborator_id: str | None = None


def scope_for(viewer: Viewer, *, team_view: bool = True) -> Scope:
    if viewer.is_admin:
        return Scope(everything=True)
    owners = (viewer.id, *viewer.report_ids) if team_view else (viewer.id,)
    teams = viewer.managed_team_ids if team_view else ()
    return Scope(owner_ids=tuple(dict.fromkeys(owners)), team_ids=teams, collaborator_id=viewer.id)


def may_assign_owner(viewer: Viewer, owner_id: str, owner_team_id: str | None,
                     owner_manager_id: str | None) -> bool:
    """A rep creates records for themselves; a manager for their people; an admin for anyone."""
    if viewer.is_admin or owner_id == viewer.id:
        return True
    if "manager" not in viewer.roles:
        return False
    return owner_team_id in viewer.managed_team_ids or owner_manager_id == viewer.id


def parse_roles(text: str) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(r.strip().lower() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(unknown)}; known roles: {', '.join(ROLES)}")
    if not roles:
        raise ValueError("at least one role is needed")
    return roles


def roles_to_db(roles: tuple[str, ...]) -> str:
    return "," + ",".join(roles) + ","


def roles_from_db(text: str) -> tuple[str, ...]:
    return tuple(r for r in text.split(",") if r)
