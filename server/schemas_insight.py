"""msgspec Structs of the silent-customer workbench and the Process Health Index."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.schemas import Id, In, Out

WorkbenchScope = Literal["me", "team"]
PhiScope = Literal["me", "team", "org"]
Metric = Literal["stage_transition_days", "material_completeness", "silent_rate"]
Reason = Annotated[str, Meta(min_length=1, max_length=200, description="why the customer may stay quiet; 1-200 characters")]


class SilentItem(Out, kw_only=True):
    customer_id: str
    opportunity_id: str | None = msgspec.field(default=None)
    customer_name: str
    phone: str | None
    days_silent: int
    last_contact_at: datetime | None
    owner_id: str
    owner_name: str | None = None
    company: str | None = None
    opportunity_title: str | None = None
    stage: str | None = None
    threshold_days: int
    amount: float | None = None
    risk: float = msgspec.field(default=0.0)
    silent_opportunities: int = 0
    meeting_url: str | None = None


class SnoozedItem(Out, kw_only=True):
    customer_id: str
    customer_name: str
    until: date
    reason: str
    user_id: str


class SilentPage(Out, kw_only=True):
    scope: WorkbenchScope
    items: list[SilentItem]
    total: int
    snoozed: list[SnoozedItem] = []
    as_of: datetime


class SnoozeIn(In, kw_only=True):
    customer_id: Id
    reason: Reason
    until: Annotated[date, Meta(description="the last day of the snooze (organisation time zone), inclusive")]


class SnoozeOut(Out, kw_only=True):
    customer_id: str
    reason: str
    until: date
    user_id: str
    created_at: datetime


# ---- PHI

class PhiCounts(Out, kw_only=True):
    transitions: int
    transition_days: float
    required: int
    present: int
    open: int
    silent: int


class PhiWeek(Out, kw_only=True):
    week_start: date
    stage_transition_days: float | None
    material_completeness: float | None
    silent_rate: float | None
    score: float | None


class PhiRank(Out, kw_only=True):
    id: str | None
    name: str
    score: float | None
    stage_transition_days: float | None
    material_completeness: float | None
    silent_rate: float | None
    open: int


class PhiOut(Out, kw_only=True):
    scope: PhiScope
    team_id: str | None = None
    from_: datetime = msgspec.field(name="from")
    to: datetime
    stage_transition_days: float | None
    material_completeness: float | None
    silent_rate: float | None
    score: float | None
    thresholds: dict[str, float]
    healthy: dict[str, bool | None]
    sub_scores: dict[str, float | None]
    counts: PhiCounts
    stocks_as_of: date | None = msgspec.field(default=None)
    weekly: list[PhiWeek] = []
    teams: list[PhiRank] = []
    reps: list[PhiRank] = []


class PhiOpportunity(Out, kw_only=True):
    opportunity_id: str
    title: str
    customer_id: str
    customer_name: str | None
    owner_id: str
    owner_name: str | None
    stage: str
    substate: str | None = None
    amount: float | None = None
    counted: bool = msgspec.field(default=False)
    days: float | None = None
    started_at: datetime | None = None
    reached_at: datetime | None = None
    required: list[str] = []
    missing: list[str] = []
    days_silent: int | None = None
    threshold_days: int | None = None
    last_contact_at: datetime | None = None


class PhiOpportunityPage(Out, kw_only=True):
    metric: Metric
    scope: PhiScope
    value: float | None
    threshold: float
    numerator: float
    denominator: int
    items: list[PhiOpportunity]
    total: int
