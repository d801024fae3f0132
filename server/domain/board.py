"""The manager board's rules: the colour of a key account's node, the kickoff-meeting rate, pin limits. Pure.

Key-account line. The nodes drawn are those the playbook marks with ``board_lane`` (contract, delivery
or service), in playbook order. Each gets one colour from its status (``gates.node_status``) at ``now``:

- green  ``done``        the node is complete (or its step was passed with it complete);
- yellow ``due_soon``    in play, not complete, its deadline within the next 24 hours;
- yellow ``open``        in play, not complete, deadline further away (or none): the stage is reached,
                          the work is owed;
- red    ``overdue``     in play, not complete, its deadline passed;
- red    ``skipped``     its step was left without it (a gate overridden): still missing;
- grey   ``not_reached`` its stage (substate) is not reached yet; ``cancelled`` on a lost deal.

Delivery-kickoff-meeting rate, per rep, over a window [from, to): of the kickoff-meeting clocks
(``node_instance`` rows of the kickoff node, ``KICKOFF_NODE``) of the rep's opportunities that fell due in
the window (due_at in [from, min(to, now))), the share done by their deadline:

- done (closed ``done``) at or before ``due_at``                          → on time;
- left play (the deal moved on) at or before ``due_at`` with the kickoff date filled → on time;
- left play before ``due_at`` without the kickoff date (lost, moved back) → not counted;
- still open, or closed after ``due_at``                                   → late.

A clock not due yet is not judged. No counted clock: no rate (None), not 0 %.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from server.domain.playbook import Node, Playbook, Stage

LANES = ("contract", "delivery", "service")
MAX_PINS = 20
DUE_SOON = timedelta(hours=24)
KICKOFF_NODE = "kickoff_meeting_scheduled"
KICKOFF_WINDOW_DAYS = 30

COLOURS = {"done": "green", "due_soon": "yellow", "open": "yellow", "overdue": "red", "skipped": "red",
           "not_reached": "grey", "cancelled": "grey"}


def lane_nodes(pb: Playbook) -> list[tuple[Stage, Node]]:
    """The nodes on a key-account line, in playbook order."""
    return [(s, n) for s, n in pb.nodes if n.board_lane is not None]


def dot_state(status: str, due: datetime | None, now: datetime) -> str:
    """A node's state on the line from its ``gates.node_status`` and deadline (see the module docstring)."""
    if status == "done":
        return "done"
    if status in ("overdue", "skipped", "cancelled"):
        return status
    if status == "pending":
        return "due_soon" if due is not None and due - now <= DUE_SOON else "open"
    return "not_reached"  # ahead


def colour(state: str) -> str:
    return COLOURS[state]


def pin_problem(already: bool, count: int) -> tuple[str, str] | None:
    """(code, sentence) when a pin may not be added (409), else None."""
    if already:
        return "already_pinned", "This customer is already on the team's board."
    if count >= MAX_PINS:
        return "pin_limit", f"A team's board holds at most {MAX_PINS} key accounts; unpin one first."
    return None


def kickoff_outcome(status: str, due_at: datetime, closed_at: datetime | None, complete_now: bool,
                    now: datetime) -> str:
    """on_time / late / not_counted / not_due for one kickoff-meeting clock (see the module docstring)."""
    if due_at > now:
        return "not_due"
    if status == "open" or closed_at is None:
        return "late"
    in_time = closed_at <= due_at
    if status == "done":
        return "on_time" if in_time else "late"
    if not complete_now:  # left play without a kickoff date
        return "not_counted" if in_time else "late"
    return "on_time" if in_time else "late"


def kickoff_rate(outcomes: Iterable[str]) -> tuple[int, int, float | None]:
    """(on time, counted, share) over the outcomes; share None when nothing is counted."""
    listed = list(outcomes)
    on_time = sum(1 for o in listed if o == "on_time")
    counted = sum(1 for o in listed if o in ("on_time", "late"))
    return on_time, counted, (round(on_time / counted, 4) if counted else None)


def hours_between(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() / 3600, 1)
