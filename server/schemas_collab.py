"""msgspec Structs of contributions and daily check-ins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from server.schemas import In, Out, refuse_nul

Line = Annotated[str, Meta(min_length=1, max_length=200, description="one item, 1-200 characters")]


class ContributionIn(In, kw_only=True):
    kind: Annotated[str, Meta(min_length=1, max_length=64, description="a contribution kind of the playbook")]
    note: Annotated[str, Meta(min_length=1, max_length=500)]
    attachment_id: Annotated[str, Meta(max_length=64)] | None = None


class ContributionOut(Out, kw_only=True):
    id: str
    opportunity_id: str
    user_id: str
    user_name: str | None
    role: str
    kind: str
    kind_name: str
    note: str
    stage: str
    attachment_id: str | None
    created_at: datetime


class HeatOut(Out, kw_only=True):
    roles: list[str]
    stages: list[str]
    counts: list[list[int]]
    total: int
    share_by_role: dict[str, float]
    progress_share_by_role: dict[str, float]


class ContributionList(Out, kw_only=True):
    items: list[ContributionOut]
    heat: HeatOut


class SupportIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user_id: Annotated[str, Meta(min_length=1, max_length=64)]
    text: Line

    def __post_init__(self) -> None:
        refuse_nul(self)


class CheckinIn(In, kw_only=True):
    done: Annotated[list[Line], Meta(max_length=10)] = []
    tomorrow: Annotated[list[Line], Meta(max_length=10)] = []
    support: Annotated[list[SupportIn], Meta(max_length=10)] = []
    attachment_ids: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=6)] = []


class SupportOut(Out, kw_only=True):
    user_id: str
    user_name: str | None
    text: str


class CheckinOut(Out, kw_only=True):
    id: str
    user_id: str
    user_name: str | None
    day: date
    done: list[str]
    tomorrow: list[str]
    support: list[SupportOut]
    attachment_ids: list[str]
    updated_at: datetime


class TeamCheckins(Out, kw_only=True):
    day: date
    items: list[CheckinOut]
    missing: list[dict]  # [{"user_id", "user_name"}] of the team who have not checked in
