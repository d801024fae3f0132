"""msgspec Structs of the silent-customer workbench and the Process Health Index."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.schemas import Id, In, Out

WorkbenchScope = Literal["me", "team"]
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


