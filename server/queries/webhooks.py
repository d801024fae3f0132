"""Team chat robots: configuration, and delivery that folds bursts into one digest.

DingTalk and WeCom robots accept 20 messages a minute. Each robot gets at most
BUDGET messages in any 60 s; whatever waits when a message goes out travels in
it (one alert as itself, several as one digest), so a burst of 100 alerts
becomes a handful of messages and nothing is dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from server import i18n
from server.adapters import chat
from server.db import current_engine, write_transaction
from server.domain.alerts import endpoint_problem
from server.domain.playbook import Playbook
from server.errors import ApiError, not_found
from server.queries import audit
from server.queries.alerting import raw_sql, utc
from server.queries.common import parse_id, utcnow
from server.queries.inbox import N_, render
from server.schemas_alerts import WebhookIn, WebhookOut
from server.tables import Team, TeamWebhook, WebhookMessage, WebhookOutbox

BUDGET = 18  # of the robots' 20 a minute, leaving room for clock skew
DIGEST_LINES = 20
RETRY_SECONDS = 60


def _out(row: dict) -> WebhookOut:
    return WebhookOut(id=str(row["id"]), team_id=str(row["team"]), kind=row["kind"],
                      url_host=urlsplit(row["url"]).hostname or "", has_secret=bool(row["secret"]),
                      enabled=bool(row["enabled"]))


async def set_webhook(actor_id, team_id: str, data: WebhookIn, hosts: tuple[str, ...]) -> WebhookOut:
    team = await Team.select(Team.id).where(Team.id == parse_id(team_id, "team")).first().run()
    if team is None:
        raise not_found("team")
    problem = endpoint_problem(data.url, hosts)
    if problem:
        raise ApiError(422, "webhook_host_not_allowed", problem.replace("Push endpoints", "Robot addresses")
                       .replace("push endpoint", "robot address"))
    async with write_transaction():
        await TeamWebhook.delete().where((TeamWebhook.team == team["id"]) & (TeamWebhook.kind == data.kind)).run()
        hook = TeamWebhook(team=team["id"], kind=data.kind, url=data.url.strip(), secret=data.secret or None,
                           enabled=data.enabled, created_at=utcnow())
        await TeamWebhook.insert(hook).run()
        await audit.record("team.webhook", actor_id=actor_id, target_type="team", target_id=team["id"],
                           detail={"kind": data.kind, "host": urlsplit(data.url).hostname, "enabled": data.enabled})
    return _out(await TeamWebhook.select().where(TeamWebhook.id == hook.id).first().run())


async def list_webhooks(team_id: str) -> list[WebhookOut]:
    rows = await TeamWebhook.select().where(TeamWebhook.team == parse_id(team_id, "team")).run()
    return [_out(r) for r in rows]


_CLAIM = ("UPDATE webhook_outbox SET status = 'sending', message = {} WHERE id IN (SELECT id FROM webhook_outbox "
          "WHERE webhook = {} AND status = 'pending' AND not_before <= {} ORDER BY id LIMIT {}%s)")


async def _claim(hook_id, now: datetime) -> int | None:
    """Reserve a message of the robot's budget and the alerts it carries; None when nothing waits or no budget."""
    async with write_transaction():
        recent = await WebhookMessage.count().where(
            (WebhookMessage.webhook == hook_id) & (WebhookMessage.sent_at > now - timedelta(seconds=60))).run()
        if recent >= BUDGET:
            return None
        waiting = await WebhookOutbox.exists().where(
            (WebhookOutbox.webhook == hook_id) & (WebhookOutbox.status == "pending")
            & (WebhookOutbox.not_before <= now)).run()
        if not waiting:
            return None
        rows = await WebhookMessage.insert(WebhookMessage(webhook=hook_id, sent_at=now, items=0, ok=False)).returning(
            WebhookMessage.id).run()
        message_id = rows[0]["id"]
        lock = " FOR UPDATE SKIP LOCKED" if current_engine().engine_type == "postgres" else ""
        await current_engine().run_querystring(raw_sql(_CLAIM % lock, message_id, hook_id, utc(now), 500))
        return message_id


def compose(rows: list[dict], pb: Playbook, tz: ZoneInfo, locale: str, public_url: str | None) -> tuple[str, str]:
    """(title, markdown) of one message: a single alert as itself, several as a digest."""
    rendered = [render(r, pb, tz, locale) for r in rows]
    link = (lambda url: f" [{i18n.translate(locale, N_('Open'))}]({public_url}{url})") if public_url else (lambda url: "")
    if len(rendered) == 1:
        title, body, url = rendered[0]
        return title, f"### {title}\n\n{body}{link(url)}"
    title = i18n.translate(locale, N_("Salesgate: %(count)s alerts")) % {"count": len(rendered)}
    lines = [f"- **{t}** {b}{link(u)}" for t, b, u in rendered[:DIGEST_LINES]]
    if len(rendered) > DIGEST_LINES:
        lines.append(i18n.translate(locale, N_("… and %(count)s more in the Salesgate inbox."))
                     % {"count": len(rendered) - DIGEST_LINES})
    return title, f"### {title}\n\n" + "\n".join(lines)


async def deliver(hook: dict, now: datetime, pb: Playbook, tz: ZoneInfo, locale: str,
                  public_url: str | None) -> int:
    """Send what waits for one robot as one message. Returns the number of alerts delivered."""
    message_id = await _claim(hook["id"], now)
    if message_id is None:
        return 0
    a = WebhookOutbox.alert
    claimed = await WebhookOutbox.select(
        WebhookOutbox.id, a.kind, a.node_key, a.params, a.opportunity, a.opportunity.title,
        a.opportunity.customer.name, a.instance.due_at, a.closed_at).where(WebhookOutbox.message == message_id).run()
    settled = [r["id"] for r in claimed if r["alert.closed_at"] is not None]  # done since: not worth a message
    if settled:
        async with write_transaction():
            await WebhookOutbox.update({WebhookOutbox.status: "cancelled"}).where(WebhookOutbox.id.is_in(settled)).run()
    rows = [r for r in claimed if r["alert.closed_at"] is None]
    if not rows:
        return 0
    title, text = compose(rows, pb, tz, locale, public_url)
    ok, line = await chat.send(hook["kind"], hook["url"], hook["secret"], title, text)
    ids = [r["id"] for r in rows]
    async with write_transaction():
        await WebhookMessage.update({WebhookMessage.ok: ok, WebhookMessage.items: len(rows),
                                     WebhookMessage.status_line: line[:300]}).where(
            WebhookMessage.id == message_id).run()
        await WebhookOutbox.update(
            {WebhookOutbox.status: "sent"} if ok else
            {WebhookOutbox.status: "pending", WebhookOutbox.message: None,
             WebhookOutbox.not_before: now + timedelta(seconds=RETRY_SECONDS)}).where(
            WebhookOutbox.id.is_in(ids)).run()
    return len(rows) if ok else 0


async def release_stuck(now: datetime) -> None:
    """A worker that died mid-send leaves rows 'sending': after five minutes they wait again."""
    async with write_transaction():
        await WebhookOutbox.update({WebhookOutbox.status: "pending", WebhookOutbox.message: None}).where(
            (WebhookOutbox.status == "sending") & WebhookOutbox.message.is_in(
                WebhookMessage.select(WebhookMessage.id).where(
                    WebhookMessage.sent_at < now - timedelta(minutes=5)))).run()


async def enabled_hooks() -> list[dict]:
    return await TeamWebhook.select().where(TeamWebhook.enabled == True).run()  # noqa: E712
