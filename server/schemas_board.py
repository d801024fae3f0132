"""msgspec Structs of the manager board (GET /api/v1/board) and its key-account pins."""

from __future__ import annotations

from datetime import datetime

from server.queries.lost_review import LostReview
from server.schemas import Id, In, Out
from server.schemas_insight import PhiOut


class TeamRef(Out, kw_only=True):
    id: str
    name: str


class OverdueNode(Out, kw_only=True):
    """An open node clock past its deadline."""

    opportunity_id: str
    title: str
    customer_id: str
    customer_name: str | None
    node: str
    due_at: datetime
    hours_late: float


class OpenAlert(Out, kw_only=True):
    alert_id: int
    kind: str
    level: int
    node: str | None
    opportunity_id: str
    title: str
    customer_name: str | None
    created_at: datetime


class SilentRef(Out, kw_only=True):
    customer_id: str
    customer_name: str
    opportunity_id: str | None
    days_silent: int
    threshold_days: int


class KickoffItem(Out, kw_only=True):
    opportunity_id: str
    title: str
    customer_name: str | None
    due_at: datetime
    closed_at: datetime | None
    outcome: str  # on_time / late / not_counted


class Kickoff(Out, kw_only=True):
    on_time: int
    counted: int
    rate: float | None
    items: list[KickoffItem]


class RepRow(Out, kw_only=True):
    user_id: str
    name: str
    overdue: int
    overdue_items: list[OverdueNode]
    open_alerts: int
    alert_items: list[OpenAlert]
    silent: int
    silent_items: list[SilentRef]
    kickoff: Kickoff


class Dot(Out, kw_only=True):
    node: str
    lane: str  # contract / delivery / service
    stage: str
    state: str  # done / due_soon / open / overdue / skipped / not_reached / cancelled
    colour: str  # green / yellow / red / grey
    due_at: datetime | None = None
    hours_left: float | None = None  # negative: hours late


class AccountDeal(Out, kw_only=True):
    id: str
    title: str
    stage: str
    substate: str | None
    status: str
    owner_name: str | None


class KeyAccount(Out, kw_only=True):
    customer_id: str
    customer_name: str
    position: int
    pinned_by: str | None
    pinned_at: datetime
    opportunity: AccountDeal | None
    dots: list[Dot]


class BoardOut(Out, kw_only=True):
    team: TeamRef
    teams: list[TeamRef]
    as_of: datetime
    kickoff_from: datetime
    kickoff_to: datetime
    phi: PhiOut
    reps: list[RepRow]
    accounts: list[KeyAccount]
    pin_limit: int
    lost_review: LostReview


class PinIn(In, kw_only=True):
    customer_id: Id
    team_id: Id | None = None


class PinOut(Out, kw_only=True):
    team_id: str
    customer_id: str
    customer_name: str
    position: int
    pinned_by: str | None
    pinned_at: datetime
