"""Team chat robots: DingTalk (signed) and WeCom, bursts folded into digests, the 20-a-minute limit kept."""

import base64
import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from server import jobs
from server.tables import Opportunity, TeamWebhook, WebhookMessage, WebhookOutbox

from tests.integration.helpers import make_org

T0 = datetime(2026, 11, 10, 1, 0, tzinfo=timezone.utc)
LATE = T0 + timedelta(hours=72, minutes=1)
SECRET = "SEC0123456789abcdef"
PEOPLE = {
    "admin": (("admin",), None, None),
    "mgr_a": (("manager",), "Team A", None),
    "rep_a1": (("rep",), "Team A", "mgr_a"),
    "mgr_b": (("manager",), "Team B", None),
    "rep_b1": (("rep",), "Team B", "mgr_b"),
}


class Robot:
    """A loopback group robot answering like DingTalk/WeCom ({"errcode": 0})."""

    def __init__(self):
        self.posts: list[tuple[dict, dict]] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                robot.posts.append(({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}, body))
                answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def robot():
    r = Robot()
    yield r
    r.server.shutdown()
    r.server.server_close()


async def _team_id(client, org, who):
    return (await client.get("/api/v1/me", headers=org.auth(who))).json()["team_id"]


async def _late_deals(client, org, n, who="rep_a1"):
    for i in range(n):
        c = (await client.post("/api/v1/customers", json={"name": f"客户{i}"}, headers=org.auth(who))).json()
        opp = (await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": f"项目{i}"},
                                 headers=org.auth(who))).json()
        await Opportunity.update({Opportunity.stage: "signed", Opportunity.substate: "pending_delivery_scheduling",
                                  Opportunity.stage_entered_at: T0,
                                  Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
            Opportunity.id == opp["id"]).run()


async def test_only_admins_configure_robots_on_listed_hosts(client, robot):
    org = await make_org(PEOPLE)
    team = await _team_id(client, org, "mgr_a")
    body = {"kind": "dingtalk", "url": f"{robot.url}/robot/send?access_token=t", "secret": SECRET}
    assert (await client.put(f"/api/v1/teams/{team}/webhooks", json=body, headers=org.auth("mgr_a"))).status_code == 403
    evil = await client.put(f"/api/v1/teams/{team}/webhooks", headers=org.auth("admin"),
                            json={**body, "url": "https://example.com/hook"})
    assert evil.status_code == 422 and evil.json()["code"] == "webhook_host_not_allowed"
    ok = await client.put(f"/api/v1/teams/{team}/webhooks", json=body, headers=org.auth("admin"))
    assert ok.status_code == 200 and ok.json()["has_secret"] is True and "secret" not in ok.json()
    missing = await client.put("/api/v1/teams/00000000-0000-0000-0000-000000000000/webhooks", json=body,
                               headers=org.auth("admin"))
    assert missing.status_code == 404


async def test_dingtalk_burst_becomes_one_signed_digest(client, settings, robot):
    org = await make_org(PEOPLE)
    team = await _team_id(client, org, "mgr_a")
    await client.put(f"/api/v1/teams/{team}/webhooks", headers=org.auth("admin"),
                     json={"kind": "dingtalk", "url": f"{robot.url}/robot/send?access_token=t", "secret": SECRET})
    await _late_deals(client, org, 25)
    await _late_deals(client, org, 1, who="rep_b1")  # another team: not in this robot's group
    await jobs.run_once(LATE, jobs.Deps.build(settings))
    assert len(robot.posts) == 1
    query, body = robot.posts[0]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{query['timestamp']}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == expected and query["access_token"] == "t"
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "Salesgate：25 条提醒"
    text = body["markdown"]["text"]
    assert text.count("逾期：交付排期") == 20 and "另有 5 条" in text
    await jobs.run_once(LATE + timedelta(minutes=1), jobs.Deps.build(settings))
    assert len(robot.posts) == 1  # nothing new, nothing repeated
    assert await WebhookOutbox.count().where(WebhookOutbox.status == "sent").run() == 25


async def test_wecom_single_alert_and_the_minute_budget(client, settings, robot):
    org = await make_org(PEOPLE)
    team = await _team_id(client, org, "mgr_a")
    await client.put(f"/api/v1/teams/{team}/webhooks", headers=org.auth("admin"),
                     json={"kind": "wecom", "url": f"{robot.url}/cgi-bin/webhook/send?key=k"})
    hook = await TeamWebhook.select().first().run()
    await WebhookMessage.insert(*[WebhookMessage(webhook=hook["id"], sent_at=LATE - timedelta(seconds=30))
                                  for _ in range(18)]).run()  # the robot's budget for this minute is spent
    await _late_deals(client, org, 1)
    await jobs.run_once(LATE, jobs.Deps.build(settings))
    assert robot.posts == []
    await jobs.run_once(LATE + timedelta(seconds=45), jobs.Deps.build(settings))
    assert len(robot.posts) == 1
    body = robot.posts[0][1]
    assert body["msgtype"] == "markdown" and body["markdown"]["content"].startswith("### 逾期：交付排期")
