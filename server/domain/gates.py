"""Gates and transitions of an opportunity: what is done, what is missing, who owes it.

Pure functions over the playbook and an OppFacts value; the query layer
gathers the facts (present materials, filled fields, last contact and note)
and resolves relations (owner, owner.manager, role:legal…) to user ids.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from server.domain.deadlines import due_at
from server.domain.playbook import Node, Playbook, Stage


class OppFacts(msgspec.Struct, frozen=True, kw_only=True):
    stage: str
    substate: str | None
    fields: dict
    present_materials: frozenset[str]
    stage_entered_at: datetime
    last_contact_at: datetime | None = None
    last_note_at: datetime | None = None


class Missing(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    node: str
    material: str | None = None
    field: str | None = None
    action: str | None = None
    owner_user_id: str | None = None
    owner_role: str


class TransitionError(ValueError):
    """The playbook has no such edge (422 invalid_transition)."""


class Move(msgspec.Struct, frozen=True):
    stage: str
    substate: str | None
    kind: str  # forward / back / lost / won


def _filled(value) -> bool:
    return value is not None and (not isinstance(value, str) or value.strip() != "")


def node_complete(node: Node, facts: OppFacts) -> bool:
    materials_ok = all(m.key in facts.present_materials for m in node.materials)
    fields_ok = all(_filled(facts.fields.get(f)) for f in node.fields)
    if node.completion in ("materials", "fields"):
        return materials_ok and fields_ok
    if node.completion == "activity":
        return facts.last_contact_at is not None and facts.last_contact_at >= facts.stage_entered_at
    if node.completion == "note":
        return facts.last_note_at is not None and facts.last_note_at >= facts.stage_entered_at
    return False  # "transition": done when the stage is left


def node_due(node: Node, facts: OppFacts, tz: ZoneInfo) -> datetime | None:
    if node.deadline is None:
        return None
    anchor = facts.stage_entered_at
    if node.deadline.from_ == "last_customer_contact" and facts.last_contact_at:
        anchor = max(anchor, facts.last_contact_at)
    elif node.deadline.from_ == "last_owner_note" and facts.last_note_at:
        anchor = max(anchor, facts.last_note_at)
    return due_at(amount=node.deadline.amount, unit=node.deadline.unit, anchor=anchor, tz=tz)


def _position(pb: Playbook, stage: str, substate: str | None) -> tuple[int, int]:
    index = next(i for i, s in enumerate(pb.stages) if s.key == stage)
    subs = pb.stages[index].substates
    return index, (subs.index(substate) if substate in subs else -1)


def _behind(node: Node, facts: OppFacts) -> str:
    """A node of a step already left: done, or skipped when its materials or fields are still missing
    (an admin overrode the gate, or the node did not gate). Activities, notes and transitions of
    past steps count as done: their evidence belongs to the step that was left."""
    if node.completion in ("materials", "fields") and not node_complete(node, facts):
        return "skipped"
    return "done"


def node_status(pb: Playbook, stage: Stage, node: Node, facts: OppFacts, now: datetime, tz: ZoneInfo) -> str:
    """done / pending / overdue for nodes in play; done or skipped for nodes behind; ahead for the rest."""
    cur_stage, cur_sub = _position(pb, facts.stage, facts.substate)
    node_stage = next(i for i, s in enumerate(pb.stages) if s.key == stage.key)
    if pb.stages[cur_stage].terminal == "lost":
        return "done" if node_complete(node, facts) else "cancelled"
    if node_stage < cur_stage or pb.stages[cur_stage].terminal == "won":
        return _behind(node, facts)
    if node_stage > cur_stage:
        return "ahead"
    if node.substate is not None and cur_sub >= 0:
        node_sub = stage.substates.index(node.substate)
        if node_sub < cur_sub:
            return _behind(node, facts)
        if node_sub > cur_sub:
            return "ahead"
    if node_complete(node, facts):
        return "done"
    due = node_due(node, facts, tz)
    return "overdue" if due is not None and now > due else "pending"


def _gating_nodes(stage: Stage, substate: str | None) -> list[Node]:
    """Nodes that must be complete to leave (stage, substate)."""
    gating = [n for n in stage.nodes if n.gate]
    if not stage.substates:
        return gating
    last = substate == stage.substates[-1]
    return [n for n in gating if n.substate == substate or (n.substate is None and last)]


def missing_for_exit(pb: Playbook, facts: OppFacts, who: dict[str, str | None]) -> list[Missing]:
    """What blocks leaving the current stage/substate forward, and who owes each item.

    ``who`` maps relations (owner, owner.manager, role:commercial, …) to user ids.
    A material is owed by the node's first collaborator when it has one (they
    supply material), otherwise by its executor; fields and actions by the executor.
    """
    stage = pb.stage(facts.stage)
    out: list[Missing] = []
    if stage is None:
        return out
    for node in _gating_nodes(stage, facts.substate):
        if node_complete(node, facts):
            continue
        supplier = node.collaborators[0] if node.collaborators else node.executor
        for material in node.materials:
            if material.key not in facts.present_materials:
                out.append(Missing(node=node.key, material=material.key, owner_user_id=who.get(supplier),
                                   owner_role=supplier))
        for field in node.fields:
            if not _filled(facts.fields.get(field)):
                out.append(Missing(node=node.key, field=field, owner_user_id=who.get(node.executor),
                                   owner_role=node.executor))
        if node.completion in ("activity", "note", "transition"):
            out.append(Missing(node=node.key, action=node.completion, owner_user_id=who.get(node.executor),
                               owner_role=node.executor))
    return out


def plan_move(pb: Playbook, stage: str, substate: str | None, to: str, reason: str | None) -> Move:
    """Check that `to` is an edge of the playbook from (stage, substate); say what kind of move it is."""
    here, here_sub = _position(pb, stage, substate)
    current = pb.stages[here]
    if current.terminal is not None:
        raise TransitionError(f"The opportunity is {current.terminal}; it cannot move any more.")
    target_stage = pb.stage(to)
    if target_stage is None:
        owner = next((s for s in pb.stages if to in s.substates), None)
        if owner is None:
            raise TransitionError(f"There is no stage or substate {to!r} in the playbook.")
        if owner.key != current.key or owner.substates.index(to) != here_sub + 1:
            raise TransitionError(f"{to!r} is not the next substate of {current.key!r}.")
        return Move(current.key, to, "forward")
    there = pb.stages.index(target_stage)
    if target_stage.terminal == "lost":
        if not reason:
            raise TransitionError("Moving to lost needs a reason.")
        return Move(target_stage.key, None, "lost")
    if there < here or (there == here and here_sub > 0):
        if target_stage.terminal is not None:
            raise TransitionError(f"{to!r} cannot be reached backwards.")
        if not reason:
            raise TransitionError("Moving back to an earlier stage needs a reason.")
        return Move(target_stage.key, target_stage.substates[0] if target_stage.substates else None, "back")
    if current.substates and here_sub < len(current.substates) - 1:
        raise TransitionError(f"Finish the substates of {current.key!r} first: next is "
                              f"{current.substates[here_sub + 1]!r}.")
    following = next((i for i in range(here + 1, len(pb.stages)) if pb.stages[i].terminal != "lost"), None)
    if there != following:
        raise TransitionError(f"{to!r} is not the next stage after {current.key!r}.")
    kind = "won" if target_stage.terminal == "won" else "forward"
    return Move(target_stage.key, target_stage.substates[0] if target_stage.substates else None, kind)


def next_step(pb: Playbook, stage_key: str, substate: str | None) -> str | None:
    """Where "advance" goes: the next substate, else the next open stage (or won after the last)."""
    stage = pb.stage(stage_key)
    if stage is None or stage.terminal is not None:
        return None
    if stage.substates and substate in stage.substates:
        at = stage.substates.index(substate)
        if at < len(stage.substates) - 1:
            return stage.substates[at + 1]
    here = pb.stages.index(stage)
    return next((s.key for s in pb.stages[here + 1:] if s.terminal != "lost"), None)
