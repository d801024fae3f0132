"""Silent customers: when a customer or a deal counts as silent, how risky it is, snoozes, the morning digest.

Pure: `now`, the playbook and the values are parameters. Silence is measured from the last
*customer-facing* activity (call, visit, meeting, message), which the activities query keeps
in ``last_contact_at`` of the customer and of its open deals; a record edit or an internal
note never ends it. A deal or customer never contacted is silent from its creation.

Thresholds: an open opportunity uses the ``silence_days`` of its stage, else the playbook's
``silence_days`` (default 7); a customer without an open opportunity uses the playbook's.
Silent means *more than* the threshold: exactly 7 days is not yet silent.

Risk orders the workbench (most at risk first)::

    risk = days past the threshold × amount weight × stage weight
    amount weight = 1 + log10(1 + amount / 10,000 CNY)    (no amount: 1; 90,000: 2; 990,000: 3)
    stage weight  = 1 + i / (n - 1)                        (i: 0-based position among the n open stages)

The logarithm keeps one very large deal from burying every other customer; a deal further
along the process has more invested in it, so the same silence weighs up to twice as much.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import msgspec

from server.domain.access import Viewer
from server.domain.playbook import Playbook

DAY = timedelta(days=1)
AMOUNT_UNIT = 10_000.0
DIGEST_AT = time(9, 0)
MEETING_PLACEHOLDERS = ("phone", "customer")


def threshold_days(pb: Playbook, stage: str | None) -> int:
    """The silence threshold of an open opportunity in `stage`; None (no open deal): the default."""
    found = pb.stage(stage) if stage else None
    if found is not None and found.silence_days is not None:
        return found.silence_days
    return pb.silence_days


def open_stages(pb: Playbook) -> list[str]:
    return [s.key for s in pb.stages if s.terminal is None]


def cutoffs(pb: Playbook, now: datetime) -> tuple[dict[str, datetime], datetime]:
    """(per open stage with its own threshold: last contact before this is silent; the default cut-off)."""
    per_stage = {key: now - threshold_days(pb, key) * DAY for key in open_stages(pb)
                 if threshold_days(pb, key) != pb.silence_days}
    return per_stage, now - pb.silence_days * DAY


def is_silent(basis: datetime, threshold: int, now: datetime) -> bool:
    """`basis` is the last customer contact (or the creation when there was none)."""
    return now - basis > threshold * DAY


def days_silent(basis: datetime, now: datetime) -> int:
    """Whole days since `basis` (never negative)."""
    return max(0, math.floor((now - basis) / DAY))


def amount_weight(amount: float | None) -> float:
    if not amount or amount <= 0:
        return 1.0
    return 1.0 + math.log10(1.0 + amount / AMOUNT_UNIT)


def stage_weight(pb: Playbook, stage: str | None) -> float:
    stages = open_stages(pb)
    if stage not in stages or len(stages) < 2:
        return 1.0
    return 1.0 + stages.index(stage) / (len(stages) - 1)


def stage_factors(pb: Playbook) -> dict[str | None, tuple[int, float]]:
    """(threshold days, stage weight) of every open stage, and of None (a customer without an open deal)."""
    table: dict[str | None, tuple[int, float]] = {None: (pb.silence_days, 1.0)}
    for key in open_stages(pb):
        table[key] = (threshold_days(pb, key), stage_weight(pb, key))
    return table


def risk(pb: Playbook, *, basis: datetime, stage: str | None, amount: float | None, now: datetime,
         factors: dict[str | None, tuple[int, float]] | None = None) -> float:
    """Days past the threshold, weighted by amount and stage (see the module docstring); 0 when not silent.
    `factors` (from stage_factors) saves working out the stage's numbers again for every row."""
    threshold, weight = (factors or {}).get(stage) or (threshold_days(pb, stage), stage_weight(pb, stage))
    over = (now - basis) / DAY - threshold
    if over <= 0:
        return 0.0
    return round(over * amount_weight(amount) * weight, 2)


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """One silent open deal of a customer, or the customer itself when it has none open."""

    customer_id: str
    opportunity_id: str | None
    basis: datetime
    stage: str | None
    amount: float | None


def most_at_risk(pb: Playbook, candidates: list[Candidate], now: datetime) -> list[tuple[Candidate, float, int]]:
    """One row per customer (its riskiest silent deal), most at risk first: (candidate, risk, deals).

    Ties go to the longer silence, then the customer id, so the order is stable (within a customer: the
    longer silence, then the deal id). The workbench query computes the same order in SQL
    (``server.queries.workbench``); tests/integration/test_workbench_order.py holds the two together.
    """
    best: dict[str, tuple[Candidate, float]] = {}
    deals: dict[str, int] = {}
    factors = stage_factors(pb)
    for c in candidates:
        score = risk(pb, basis=c.basis, stage=c.stage, amount=c.amount, now=now, factors=factors)
        if c.opportunity_id is not None:
            deals[c.customer_id] = deals.get(c.customer_id, 0) + 1
        kept = best.get(c.customer_id)
        if kept is None or score > kept[1] or (score == kept[1] and (c.basis, c.opportunity_id or "")
                                                < (kept[0].basis, kept[0].opportunity_id or "")):
            best[c.customer_id] = (c, score)
    rows = [(c, score, deals.get(c.customer_id, 0)) for c, score in best.values()]
    rows.sort(key=lambda r: (-r[1], r[0].basis, r[0].customer_id))
    return rows


def team_scope_problem(viewer: Viewer) -> str | None:
    """A rep asking for their team's list is refused with this sentence (403), not quietly given their own."""
    if viewer.is_admin or viewer.is_manager:
        return None
    return "Only managers and admins see a team's silent customers; ask for scope=me."


# ---------------------------------------------------------------- snoozes

def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def snooze_problem(until: date, today: date, max_days: int) -> str | None:
    """Why a snooze until `until` (inclusive, organisation time zone) is refused, or None."""
    if until < today:
        return f"The snooze date {until.isoformat()} is in the past; pick today or a later day."
    latest = today + timedelta(days=max_days)
    if until > latest:
        return (f"A customer can be snoozed for at most {max_days} days: pick {latest.isoformat()} "
                "or an earlier day.")
    return None


def is_snoozed(until: date | None, today: date) -> bool:
    """A snooze holds through its last day; the customer is silent again the day after."""
    return until is not None and until >= today


# ---------------------------------------------------------------- the 09:00 digest

def digest_day(now: datetime, tz: ZoneInfo) -> date | None:
    """The local day whose digest is due at `now` (from 09:00 organisation time), else None."""
    local = now.astimezone(tz)
    return local.date() if local.time() >= DIGEST_AT else None


def digest_key(user_id: str, day: date) -> str:
    return f"silent:{user_id}:{day.isoformat()}"


# ---------------------------------------------------------------- the video-meeting link

def meeting_template_problem(template: str) -> str | None:
    """Why a meeting URL template cannot be used, or None. Placeholders: {phone}, {customer}."""
    try:
        sample = fill_meeting_url(template, "+8613800000000", "客户")
    except (KeyError, IndexError, ValueError, AttributeError):
        return "use only the placeholders {phone} and {customer}, e.g. https://meet.example.com/new?invite={phone}"
    url = urlsplit(sample)
    if url.scheme not in ("https", "http") or not url.netloc:
        return f"expected an http(s):// URL, got {template!r}"
    return None


def fill_meeting_url(template: str, phone: str | None, customer: str) -> str:
    """The template with {phone} and {customer} filled in, URL-encoded."""
    return template.format(phone=quote(phone or "", safe="+"), customer=quote(customer, safe=""))
