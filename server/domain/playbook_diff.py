"""What a playbook draft changes: a structural diff against the active version, and its impact on
the open opportunities (pure; the facts are handed in).

The diff compares the two playbooks with every default filled in (``msgspec.to_builtins`` of the
decoded Structs), so writing a default out or leaving it implicit is not a change. Lists of items
with a ``key`` (stages, nodes, materials, fields, kinds, products, templates) are matched by key:
an item is added, removed or changed in place, and a changed order is reported once per list.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

import msgspec

from server.domain.gates import OppFacts, missing_for_exit
from server.domain.playbook import Playbook


class Change(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    path: str  # stages[signed].nodes[contract_scan].materials[payment_proof]
    kind: str  # added / removed / changed / reordered
    before: Any = None
    after: Any = None


def _keyed(items: list) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in items)


def _diff(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in new:
                out.append(Change(path=sub, kind="removed", before=old[k]))
            elif k not in old:
                out.append(Change(path=sub, kind="added", after=new[k]))
            else:
                _diff(old[k], new[k], sub, out)
        return
    if isinstance(old, list) and isinstance(new, list) and (_keyed(old) or _keyed(new)) \
            and all(isinstance(i, dict) and "key" in i for i in [*old, *new]):
        before = {i["key"]: i for i in old}
        after = {i["key"]: i for i in new}
        for key, item in before.items():
            if key not in after:
                out.append(Change(path=f"{path}[{key}]", kind="removed", before=item))
        for key, item in after.items():
            if key not in before:
                out.append(Change(path=f"{path}[{key}]", kind="added", after=item))
            else:
                _diff(before[key], item, f"{path}[{key}]", out)
        kept_old = [k for k in before if k in after]
        kept_new = [k for k in after if k in before]
        if kept_old != kept_new:
            out.append(Change(path=path, kind="reordered", before=kept_old, after=kept_new))
        return
    if old != new:
        out.append(Change(path=path, kind="changed", before=old, after=new))


def diff(active: Playbook, draft: Playbook) -> list[Change]:
    """Every difference between two valid playbooks; the ``version`` label is not a change."""
    old = msgspec.to_builtins(active)
    new = msgspec.to_builtins(draft)
    old.pop("version", None)
    new.pop("version", None)
    out: list[Change] = []
    _diff(old, new, "", out)
    return out


class OpenOpportunity(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    facts: OppFacts


class ImpactLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One consequence for open opportunities, with the opportunities behind it (ids, at most 50)."""

    kind: str  # stranded / newly_missing / no_longer_missing / newly_blocked / unblocked / new_deadline / deadline_changed
    stage: str
    count: int
    node: str | None = None
    item: str | None = None  # material or field key, or the action
    substate: str | None = None
    opportunities: list[str] = []


def _items(missing) -> set[tuple[str, str]]:
    return {(m.node, m.material or m.field or m.action or "") for m in missing}


def _node_map(pb: Playbook) -> dict[str, tuple[str, Any]]:
    return {node.key: (stage.key, node) for stage in pb.stages for node in stage.nodes}


def impact(active: Playbook, draft: Playbook, open_opps: Iterable[OpenOpportunity], sample: int = 50) -> list[ImpactLine]:
    """What publishing ``draft`` does to the open opportunities, judged now by ``active``.

    - stranded: the opportunity's stage (or substate) no longer exists — publishing is refused;
    - newly_missing / no_longer_missing: an item its current step's gates will (no longer) require;
    - newly_blocked / unblocked: it could move on before and cannot now, or the other way round;
    - new_deadline / deadline_changed: a node with a deadline appears in, or changes its deadline in,
      the opportunity's current stage (its clock is planned anew at the next deadline run).
    """
    groups: dict[tuple, list[str]] = {}

    def add(key: tuple, opp_id: str) -> None:
        groups.setdefault(key, []).append(opp_id)

    old_nodes, new_nodes = _node_map(active), _node_map(draft)
    for opp in open_opps:
        f = opp.facts
        stage = draft.stage(f.stage)
        if stage is None or (f.substate and stage.substates and f.substate not in stage.substates) \
                or (f.substate and not stage.substates):
            add(("stranded", f.stage, None, None, f.substate), opp.id)
            continue
        before = missing_for_exit(active, f, {}) if active.stage(f.stage) else []
        after = missing_for_exit(draft, f, {})
        b_items, a_items = _items(before), _items(after)
        for node, item in sorted(a_items - b_items):
            add(("newly_missing", f.stage, node, item, None), opp.id)
        for node, item in sorted(b_items - a_items):
            add(("no_longer_missing", f.stage, node, item, None), opp.id)
        if after and not before:
            add(("newly_blocked", f.stage, None, None, None), opp.id)
        elif before and not after:
            add(("unblocked", f.stage, None, None, None), opp.id)
        for node in stage.nodes:
            if node.deadline is None:
                continue
            old = old_nodes.get(node.key)
            if old is None or old[0] != stage.key or old[1].deadline is None:
                add(("new_deadline", f.stage, node.key, None, None), opp.id)
            elif old[1].deadline != node.deadline or old[1].escalation != node.escalation:
                add(("deadline_changed", f.stage, node.key, None, None), opp.id)
    order = ["stranded", "newly_blocked", "newly_missing", "unblocked", "no_longer_missing", "new_deadline",
             "deadline_changed"]
    lines = [ImpactLine(kind=k[0], stage=k[1], node=k[2], item=k[3], substate=k[4], count=len(ids),
                        opportunities=ids[:sample]) for k, ids in groups.items()]
    return sorted(lines, key=lambda line: (order.index(line.kind), line.stage, line.node or "", line.item or ""))


def stranded(lines: list[ImpactLine]) -> int:
    return sum(line.count for line in lines if line.kind == "stranded")


def counts(lines: list[ImpactLine]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for line in lines:
        c[line.kind] += line.count
    return dict(c)
