"""The Process Health Index (PHI): three measured sub-indices and a 0-100 score. Pure.

The three numbers, with the article's healthy thresholds (playbook ``phi``):

- stage transition days: mean days from entering the initial-contact stage (``phi.from_stage``)
  to first reaching solution confirmed (``phi.to_stage``, or a later stage when one was skipped),
  over the deals that reached it in the window — healthy at most 5.2;
- key-material completeness: of the materials required by the nodes in play of each open deal
  (its current stage, and substate), the share present in storage — healthy at least 94 %;
- silent interruption rate: the share of open deals silent beyond their stage's threshold —
  healthy at most 8.5 %.

The score: each number is scored against its threshold, capped at 100, and the three are averaged
with equal weights (a number without data — no deal in the window — is left out)::

    transition score   = 100 × min(1, 5.2 / days)          (days ≤ 5.2: 100; 10.4 days: 50)
    completeness score = 100 × min(1, completeness / 0.94)  (≥ 94 %: 100; 47 %: 50)
    silence score      = 100 × min(1, 0.085 / silent rate)  (≤ 8.5 %: 100; 17 %: 50)
    PHI                = mean of the scores, 0-100

The query layer sums the counts per owner and team (``Partial``) with set-based SQL; everything
else (totals, rankings, scores, the window, the weeks) is decided here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

import msgspec

from server.domain.access import Viewer
from server.domain.alerts import nodes_in_play
from server.domain.gates import OppFacts
from server.domain.playbook import Playbook, Thresholds

METRICS = ("stage_transition_days", "material_completeness", "silent_rate")
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
EARLIEST_DAY = date(2000, 1, 1)
TREND_WEEKS = 8


class Partial(msgspec.Struct, kw_only=True):
    """Counts behind the three numbers, for one owner and team (or summed over many)."""

    transitions: int = 0
    transition_days: float = 0.0
    required: int = 0
    present: int = 0
    open: int = 0
    silent: int = 0

    def plus(self, other: "Partial") -> "Partial":
        return Partial(transitions=self.transitions + other.transitions,
                       transition_days=self.transition_days + other.transition_days,
                       required=self.required + other.required, present=self.present + other.present,
                       open=self.open + other.open, silent=self.silent + other.silent)


def total(parts: Iterable[Partial]) -> Partial:
    out = Partial()
    for part in parts:
        out = out.plus(part)
    return out


class Values(msgspec.Struct, frozen=True, kw_only=True):
    stage_transition_days: float | None
    material_completeness: float | None
    silent_rate: float | None


def values_of(p: Partial) -> Values:
    """The three numbers; None where there is nothing to measure."""
    return Values(
        stage_transition_days=round(p.transition_days / p.transitions, 2) if p.transitions else None,
        material_completeness=round(p.present / p.required, 4) if p.required else None,
        silent_rate=round(p.silent / p.open, 4) if p.open else None,
    )


def _capped(ratio: float) -> float:
    return 100.0 * max(0.0, min(1.0, ratio))


def sub_scores(v: Values, th: Thresholds) -> dict[str, float | None]:
    """Each number against its threshold, 0-100 (see the module docstring)."""
    def lower_better(value: float | None, limit: float) -> float | None:
        if value is None:
            return None
        return 100.0 if value <= 0 else round(_capped(limit / value), 1)

    completeness = None
    if v.material_completeness is not None:
        completeness = 100.0 if th.material_completeness <= 0 else round(
            _capped(v.material_completeness / th.material_completeness), 1)
    return {"stage_transition_days": lower_better(v.stage_transition_days, th.stage_transition_days),
            "material_completeness": completeness,
            "silent_rate": lower_better(v.silent_rate, th.silent_rate)}


def score(v: Values, th: Thresholds) -> float | None:
    """The PHI: the mean of the available sub-scores, equal weights; None when nothing is measured."""
    known = [s for s in sub_scores(v, th).values() if s is not None]
    return round(sum(known) / len(known), 1) if known else None


def healthy(v: Values, th: Thresholds) -> dict[str, bool | None]:
    """Each number against its threshold (None: nothing measured); ``all``: every measured one is."""
    out: dict[str, bool | None] = {
        "stage_transition_days": None if v.stage_transition_days is None
        else v.stage_transition_days <= th.stage_transition_days,
        "material_completeness": None if v.material_completeness is None
        else v.material_completeness >= th.material_completeness,
        "silent_rate": None if v.silent_rate is None else v.silent_rate <= th.silent_rate,
    }
    measured = [h for h in out.values() if h is not None]
    out["all"] = all(measured) if measured else None
    return out


def thresholds_json(th: Thresholds) -> dict[str, float]:
    return {"stage_transition_days": th.stage_transition_days,
            "material_completeness": th.material_completeness, "silent_rate": th.silent_rate}


# ---------------------------------------------------------------- who sees what

def scope_problem(viewer: Viewer, scope: str, team_id: str | None, listing: bool = False) -> tuple[int, str] | None:
    """(status, sentence) when the viewer may not ask for this scope, else None.

    Everyone sees their own numbers (scope=me); managers their team's (or one of their teams with
    team_id) and the organisation's with the team ranking — the ranking is published, as the article
    suggests; the deals behind the organisation's numbers are records, listed for admins only.
    """
    if team_id is not None and scope != "team":
        return 422, "team_id goes with scope=team."
    if scope == "me" or viewer.is_admin:
        return None
    if not viewer.is_manager:
        return 403, "Only managers and admins see a team's or the organisation's health; ask for scope=me."
    if scope == "org" and listing:
        return 403, "The deals behind the organisation's numbers are listed for admins; ask for scope=team."
    return None


# ---------------------------------------------------------------- what is measured

def reached_stages(pb: Playbook) -> list[str]:
    """Entering any of these counts as reaching ``phi.to_stage``: it, and the stages after it (lost excluded)."""
    keys = [s.key for s in pb.stages]
    if pb.phi.to_stage not in keys:
        return []
    start = keys.index(pb.phi.to_stage)
    return [s.key for s in pb.stages[start:] if s.terminal != "lost"]


def required_materials(pb: Playbook) -> list[tuple[str, str, str]]:
    """(stage, substate or "", material) for every material required by the nodes in play there."""
    out: list[tuple[str, str, str]] = []
    epoch = datetime(2000, 1, 1)
    for stage in pb.stages:
        if stage.terminal is not None:
            continue
        for substate in stage.substates or [None]:
            facts = OppFacts(stage=stage.key, substate=substate, fields={}, present_materials=frozenset(),
                             stage_entered_at=epoch)
            keys = dict.fromkeys(m.key for n in nodes_in_play(pb, facts) for m in n.materials)
            out += [(stage.key, substate or "", key) for key in keys]
    return out


# ---------------------------------------------------------------- time

class WindowError(ValueError):
    """A from/to pair a person should fix (422 with this sentence)."""


def window(now: datetime, tz: ZoneInfo, start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """[from, to) as aware datetimes: local days, `end` inclusive, never past `now`; default the last 30 days."""
    # Checked before any arithmetic: a day at the ends of the calendar (0001-01-01, 9999-12-31) overflows.
    if any(day is not None and day < EARLIEST_DAY for day in (start, end)):
        raise WindowError(f"Days before {EARLIEST_DAY.isoformat()} are not accepted.")
    if start is not None and end is not None and start > end:
        raise WindowError(f"from ({start.isoformat()}) must not be after to ({end.isoformat()}).")
    to = now if end is None or end >= now.astimezone(tz).date() else _midnight(end + timedelta(days=1), tz)
    frm = to - timedelta(days=DEFAULT_WINDOW_DAYS) if start is None else _midnight(start, tz)
    if frm >= to:
        raise WindowError("The window is empty or in the future; choose days up to today.")
    if to - frm > timedelta(days=MAX_WINDOW_DAYS):
        raise WindowError(f"The window may span at most {MAX_WINDOW_DAYS} days.")
    return frm, to


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def week_starts(now: datetime, tz: ZoneInfo, weeks: int = TREND_WEEKS) -> list[datetime]:
    """Monday 00:00 (local) of the last `weeks` weeks, oldest first; the last is this week's."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return [_midnight(monday - timedelta(weeks=weeks - 1 - i), tz) for i in range(weeks)]
