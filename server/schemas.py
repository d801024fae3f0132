"""msgspec Structs for the HTTP API: strict in (unknown fields refused), plain out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for request bodies."""


class Out(msgspec.Struct, kw_only=True):
    """Base for responses."""


Name = Annotated[str, Meta(min_length=1, max_length=200, description="1-200 characters")]
ShortText = Annotated[str, Meta(max_length=200)]
Title = Annotated[str, Meta(max_length=100)]
PhoneText = Annotated[str, Meta(min_length=1, max_length=40, description="a phone number; mainland numbers without a prefix are +86")]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Note = Annotated[str, Meta(max_length=10_000)]
Id = Annotated[str, Meta(min_length=1, max_length=64)]
Username = Annotated[str, Meta(min_length=1, max_length=64)]
Password = Annotated[str, Meta(min_length=1, max_length=200)]
ActivityKind = Literal["call", "visit", "meeting", "message", "note"]


# ---- auth
class LoginIn(In, kw_only=True):
    username: Username
    password: Password


class TokenIn(In, kw_only=True):
    username: Username
    password: Password
    name: Annotated[str, Meta(min_length=1, max_length=100)]


class TokenOut(Out, kw_only=True):
    token: str
    id: str
    name: str


class UserOut(Out, kw_only=True):
    id: str
    username: str
    display_name: str
    roles: list[str]
    team_id: str | None
    manager_id: str | None
    locale: str | None = None


class LoginOut(Out, kw_only=True):
    user: UserOut
    csrf_token: str


# ---- customers
class ContactIn(In, kw_only=True):
    name: Name
    phone: PhoneText | None = None
    title: Title | None = None
    email: Email | None = None


class CustomerCreate(In, kw_only=True):
    name: Name
    phone: PhoneText | None = None
    company: ShortText | None = None
    title: Title | None = None
    email: Email | None = None
    owner_id: Id | None = None
    contacts: Annotated[list[ContactIn], Meta(max_length=50)] = []


class ContactOut(Out, kw_only=True):
    id: str
    name: str
    phone: str | None
    title: str | None
    email: str | None


class Prefill(Out, kw_only=True):
    last_contract_no: str | None
    last_delivery_date: date | None
    key_contacts: list[ContactOut]


class CustomerOut(Out, kw_only=True):
    id: str
    name: str
    phone: str | None
    email: str | None
    company: str | None
    title: str | None
    owner_id: str
    owner_name: str | None
    team_id: str | None
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime
    contacts: list[ContactOut] = []
    prefill: Prefill | None = None


class CustomerPage(Out, kw_only=True):
    items: list[CustomerOut]
    next: str | None


# ---- activities
class ActivityCreate(In, kw_only=True):
    customer_id: Id
    opportunity_id: Id | None = None
    kind: ActivityKind
    note: Note | None = None
    occurred_at: datetime | None = None


class ActivityOut(Out, kw_only=True):
    id: str
    customer_id: str
    opportunity_id: str | None
    user_id: str
    user_name: str | None
    kind: str
    customer_facing: bool
    note: str | None
    occurred_at: datetime
    created_at: datetime


class ActivityPage(Out, kw_only=True):
    items: list[ActivityOut]


# ---- errors
class ErrorOut(Out, kw_only=True):
    status_code: int
    detail: str
    code: str
    extra: dict = {}
