"""msgspec Structs of the alert API: inbox, push subscriptions, team chat robots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.schemas import In, Out, refuse_nul


class InboxItemOut(Out, kw_only=True):
    id: str
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read: bool
    closed: bool = False
    urgent: bool = False


class InboxPage(Out, kw_only=True):
    items: list[InboxItemOut]
    unread: int
    next: str | None = None


class UnreadOut(Out, kw_only=True):
    unread: int


class VapidKeyOut(Out, kw_only=True):
    key: str


class SubscriptionKeys(msgspec.Struct, kw_only=True):
    p256dh: Annotated[str, Meta(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_\-=]+$")]
    auth: Annotated[str, Meta(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_\-=]+$")]


class SubscriptionIn(msgspec.Struct, kw_only=True):
    """The browser's PushSubscription.toJSON(); unknown extras (expirationTime) are ignored."""

    endpoint: Annotated[str, Meta(min_length=10, max_length=1000)]
    keys: SubscriptionKeys
    locale: Literal["zh_CN", "en"] | None = None
    device: Annotated[str, Meta(max_length=200)] | None = None

    def __post_init__(self) -> None:
        refuse_nul(self)


class SubscriptionOut(Out, kw_only=True):
    id: str
    endpoint_host: str
    device: str | None
    created_at: datetime
    last_sent_at: datetime | None


class SubscriptionList(Out, kw_only=True):
    items: list[SubscriptionOut]


class TestPushOut(Out, kw_only=True):
    alert_id: str
    devices: int


class WebhookIn(In, kw_only=True):
    kind: Literal["dingtalk", "wecom"]
    url: Annotated[str, Meta(min_length=10, max_length=1000)]
    secret: Annotated[str, Meta(max_length=200)] | None = None
    enabled: bool = True


class WebhookOut(Out, kw_only=True):
    id: str
    team_id: str
    kind: str
    url_host: str
    has_secret: bool
    enabled: bool
