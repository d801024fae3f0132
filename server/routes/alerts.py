"""Alerts API: inbox, Web Push subscriptions and a test push, team chat robots. Thin handlers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from litestar import Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from server.adapters.webpush import PushSender, public_key_b64
from server.db import write_transaction
from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import alerting, inbox, push, webhooks
from server.routes.pages import request_locale
from server.schemas_alerts import (
    InboxPage,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    TestPushOut,
    UnreadOut,
    VapidKeyOut,
    WebhookIn,
    WebhookOut,
)

Req = Request[Viewer, str, object]


@get("/api/v1/inbox", tags=["alerts"])
async def get_inbox(request: Req, before: Annotated[str | None, QueryParameter(max_length=20)] = None,
                    limit: Annotated[int, QueryParameter(ge=1, le=100)] = inbox.PAGE_SIZE) -> InboxPage:
    state = request.app.state
    return await inbox.list_inbox(request.user, state.playbook, state.settings.tz, request_locale(request), before,
                                  limit)


@get("/api/v1/inbox/unread", tags=["alerts"])
async def get_unread(request: Req) -> UnreadOut:
    return UnreadOut(unread=await inbox.unread_count(request.user.id))


@post("/api/v1/inbox/{item_id:str}/read", status_code=200, tags=["alerts"])
async def read_item(request: Req, item_id: FromPath[str]) -> UnreadOut:
    return UnreadOut(unread=await inbox.mark_read(request.user, item_id))


@post("/api/v1/inbox/read-all", status_code=200, tags=["alerts"])
async def read_all(request: Req) -> UnreadOut:
    return UnreadOut(unread=await inbox.mark_read(request.user, None))


@get("/api/v1/push/vapid-public-key", opt={"exclude_from_auth": True}, tags=["push"])
async def vapid_public_key(request: Request) -> VapidKeyOut:
    return VapidKeyOut(key=public_key_b64(request.app.state.vapid))


@post("/api/v1/push/subscriptions", status_code=201, tags=["push"])
async def subscribe(request: Req, data: JSONBody[SubscriptionIn]) -> SubscriptionOut:
    return await push.subscribe(request.user, data, request.app.state.settings.push_hosts, request_locale(request))


@get("/api/v1/push/subscriptions", tags=["push"])
async def list_subscriptions(request: Req) -> SubscriptionList:
    return await push.list_subscriptions(request.user)


@delete("/api/v1/push/subscriptions", status_code=204, tags=["push"])
async def unsubscribe(request: Req, endpoint: Annotated[str, QueryParameter(min_length=1, max_length=1000)]) -> None:
    await push.unsubscribe(request.user, endpoint)


@post("/api/v1/push/test", status_code=201, tags=["push"])
async def test_push(request: Req) -> TestPushOut:
    """A test notification to every device of the caller, sent now (quiet hours do not apply)."""
    state, now = request.app.state, datetime.now(timezone.utc)
    async with write_transaction():
        alert_id = await alerting.raise_alert(key=f"test:{request.user.id}:{now.timestamp()}", kind="test",
                                              recipients=[str(request.user.id)], now=now, quiet_until=now,
                                              urgent=True)
    devices = len((await push.list_subscriptions(request.user)).items)
    async with PushSender(state.vapid, state.settings.vapid_subject) as sender:
        # only the caller's devices: other people's pushes stay with the push job (and its quiet hours)
        await push.deliver(now, sender, state.playbook, state.settings.tz, state.settings.push_hosts,
                           user_id=request.user.id)
    return TestPushOut(alert_id=str(alert_id), devices=devices)


def _admin(request: Req) -> None:
    if not request.user.is_admin:
        raise ApiError(403, "forbidden", "Only an admin may configure a team's chat robots.")


@put("/api/v1/teams/{team_id:str}/webhooks", tags=["alerts"])
async def put_webhook(request: Req, team_id: FromPath[str], data: JSONBody[WebhookIn]) -> WebhookOut:
    _admin(request)
    return await webhooks.set_webhook(request.user.id, team_id, data, request.app.state.settings.webhook_hosts)


@get("/api/v1/teams/{team_id:str}/webhooks", tags=["alerts"])
async def get_webhooks(request: Req, team_id: FromPath[str]) -> list[WebhookOut]:
    _admin(request)
    return await webhooks.list_webhooks(team_id)


ALERT_HANDLERS = [get_inbox, get_unread, read_item, read_all, vapid_public_key, subscribe, list_subscriptions,
                  unsubscribe, test_push, put_webhook, get_webhooks]
