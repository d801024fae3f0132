"""msgspec Structs for the HTTP API: strict in (unknown fields refused), plain out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, msgspec.Struct):
        return any(_holds_nul(getattr(value, f)) for f in value.__struct_fields__)
    return False


def refuse_nul(body: msgspec.Struct, allow: tuple[str, ...] = ()) -> None:
    """PostgreSQL text cannot hold NUL (\\u0000): refuse it in every body, on both engines, as a 400
    (``allow``: fields that are read, never stored, and say themselves what is wrong with them)."""
    for name in body.__struct_fields__:
        if name not in allow and _holds_nul(getattr(body, name)):
            raise ValueError(f"The text in {name} contains a NUL character (\\u0000), which is not allowed")


class In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for request bodies."""

    def __post_init__(self) -> None:
        refuse_nul(self)


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
    must_change_password: bool = False  # an admin set a temporary password: change it before anything else


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


# ---- opportunities
FieldValue = str | int | float | bool | None


class OpportunityCreate(In, kw_only=True):
    customer_id: Id
    title: Name
    amount: Annotated[float, Meta(ge=0, le=1e12)] | None = None
    owner_id: Id | None = None


class OpportunityUpdate(In, kw_only=True):
    title: Name | None = None
    amount: Annotated[float, Meta(ge=0, le=1e12)] | None = None
    fields: Annotated[dict[Annotated[str, Meta(max_length=64)], Annotated[str, Meta(max_length=500)] | float | None],
                      Meta(max_length=50)] | None = None


class TransitionIn(In, kw_only=True):
    to: Annotated[str, Meta(min_length=1, max_length=64)]
    reason: Annotated[str, Meta(max_length=2000)] | None = None
    override: bool = False


class MaterialState(Out, kw_only=True):
    key: str
    name: str
    present: bool


class NodeState(Out, kw_only=True):
    key: str
    stage: str
    substate: str | None
    name: str
    status: str
    gate: bool
    due_at: datetime | None
    executor: str
    executor_user_id: str | None
    collaborators: list[str]
    supervisor: str
    supervisor_user_id: str | None
    fields: list[str]
    materials: list[MaterialState]


class OpportunityOut(Out, kw_only=True):
    id: str
    customer_id: str
    customer_name: str | None
    title: str
    amount: float | None
    owner_id: str
    owner_name: str | None
    team_id: str | None
    stage: str
    substate: str | None
    status: str
    fields: dict
    lost_reason: str | None
    stage_entered_at: datetime
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    playbook_version: str | None = None  # the playbook version that last judged it (created or moved it)
    nodes: list[NodeState] = []
    blocking: list[dict] = []
    overdue_nodes: int = 0


class OpportunityPage(Out, kw_only=True):
    items: list[OpportunityOut]
    next: str | None


class AttachmentOut(Out, kw_only=True):
    id: str
    opportunity_id: str | None
    material: str | None
    filename: str
    content_type: str
    size: int
    sha256: str | None
    status: str
    uploaded_by: str
    created_at: datetime


class PresignIn(In, kw_only=True):
    material: Annotated[str, Meta(min_length=1, max_length=64)]
    filename: Annotated[str, Meta(min_length=1, max_length=255)]
    size: Annotated[int, Meta(gt=0)]


class PresignOut(Out, kw_only=True):
    attachment_id: str
    url: str
    method: str
    expires_at: datetime


# ---- trade-show leads
BadgePayload = Annotated[str, Meta(max_length=4096, description="the raw text of a badge QR code: vCard 2.1/3.0/4.0, "
                                                                "MECARD or labelled text; at most 4096 characters")]
ProductKey = Annotated[str, Meta(min_length=1, max_length=64, description="a product key of the playbook catalogue")]
LeadFormat = Literal["vcard", "mecard", "text"]
Temperature = Literal["hot", "warm", "cold"]


class LeadParse(In, kw_only=True):
    payload: BadgePayload

    def __post_init__(self) -> None:
        refuse_nul(self, allow=("payload",))  # a payload with binary data is a 422 payload_unrecognised


class LeadScan(In, kw_only=True):
    payload: BadgePayload
    event: Annotated[str, Meta(max_length=200, description="the trade show, e.g. CIIF 2026")] | None = None
    products: Annotated[list[ProductKey], Meta(max_length=50)] | None = None
    note: Annotated[str, Meta(max_length=2000)] | None = None
    temperature: Temperature | None = None

    def __post_init__(self) -> None:
        refuse_nul(self, allow=("payload",))  # a payload with binary data is a 422 payload_unrecognised


class LeadOut(Out, kw_only=True):
    name: str | None
    phone: str | None
    company: str | None
    title: str | None
    email: str | None
    format: LeadFormat


class ScanOut(Out, kw_only=True):
    """``customer_id`` and ``activity_id`` are null (and ``visible`` false) when the person is
    already a customer of someone whose records the scanner may not see."""

    customer_id: str | None
    lead: LeadOut
    merged: bool
    visible: bool
    activity_id: str | None
