"""Who moved a deal forward: contribution heat maps (roles × stages) and each role's share of progress. Pure."""

from __future__ import annotations

import msgspec

# The order roles are shown in, and the role a person contributes as when they hold several.
ROLE_ORDER = ("presales", "delivery", "service", "commercial", "legal", "rep", "manager", "admin")


def contributor_role(roles: tuple[str, ...]) -> str:
    """A colleague contributes as their most specific role (a presales engineer who also sells is presales)."""
    return next((r for r in ROLE_ORDER if r in roles), "rep")


class HeatCell(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    stage: str
    count: int
    advanced: int = 0  # contributions made in a stage the deal then left forward


class Heat(msgspec.Struct, kw_only=True):
    roles: list[str]
    stages: list[str]
    counts: list[list[int]]  # counts[role index][stage index]
    total: int
    share_by_role: dict[str, float]  # of all contributions
    progress_share_by_role: dict[str, float]  # of the contributions that preceded a step forward


def heat(cells: list[HeatCell], stage_order: list[str]) -> Heat:
    """A roles × stages matrix over the stages of the playbook (in order) and the roles that appear."""
    roles = [r for r in ROLE_ORDER if any(c.role == r for c in cells)]
    roles += sorted({c.role for c in cells} - set(roles))
    index = {s: i for i, s in enumerate(stage_order)}
    counts = [[0] * len(stage_order) for _ in roles]
    by_role: dict[str, int] = {}
    advanced: dict[str, int] = {}
    for cell in cells:
        if cell.stage in index:
            counts[roles.index(cell.role)][index[cell.stage]] += cell.count
        by_role[cell.role] = by_role.get(cell.role, 0) + cell.count
        advanced[cell.role] = advanced.get(cell.role, 0) + cell.advanced
    total, moved = sum(by_role.values()), sum(advanced.values())
    return Heat(roles=roles, stages=list(stage_order), counts=counts, total=total,
                share_by_role={r: round(by_role.get(r, 0) / total, 4) if total else 0.0 for r in roles},
                progress_share_by_role={r: round(advanced.get(r, 0) / moved, 4) if moved else 0.0 for r in roles})
