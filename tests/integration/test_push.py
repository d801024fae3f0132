"""Web Push end to end: real pywebpush to a loopback push service that decrypts and verifies every message."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from server import jobs
from server.jobs import housekeeping
from server.db import write_transaction
from server.queries import alerting
from server.adapters.webpush import load_vapid, public_key_b64
from server.settings import load_settings
from server.tables import Opportunity, PushOutbox, PushSubscription

from tests.integration.helpers import make_org
from tests.push_receiver import PushReceiver

T0 = datetime(2026, 11, 10, 1, 0, tzinfo=timezone.utc)  # a Tuesday, 09:00 in Shanghai
H = timedelta(hours=1)
PEOPLE = {
    "mgr_a": (("manager",), "Team A", None),
    "rep_a1": (("rep",), "Team A", "mgr_a"),
    "rep_a2": (("rep",), "Team A", "mgr_a"),
}


@pytest.fixture
def receiver():
    with PushReceiver() as r:
        yield r


async def _late_deal(client, org, stage="signed", substate="pending_delivery_scheduling", urgent=False):
    """A deal whose owner and manager are told at T0 + 72 h (delivery scheduling without a note)."""
    c = (await client.post("/api/v1/customers", json={"name": "苏州恒达"}, headers=org.auth("rep_a1"))).json()
    opp = (await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": "二期"},
                             headers=org.auth("rep_a1"))).json()
    await Opportunity.update({Opportunity.stage: stage, Opportunity.substate: substate,
                              Opportunity.stage_entered_at: T0,
                              Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
        Opportunity.id == opp["id"]).run()
    return opp


async def _subscribe(client, org, who, device, receiver, **extra):
    resp = await client.post("/api/v1/push/subscriptions", headers=org.auth(who),
                             json={**device.subscription(receiver.base_url), **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _run(settings, now):
    return dict(await jobs.run_once(now, jobs.Deps.build(settings)))


async def test_vapid_key_is_made_once_and_kept(client, settings):
    first = (await client.get("/api/v1/push/vapid-public-key")).json()["key"]
    again = public_key_b64(load_vapid(None, settings.var_dir))
    assert first == again and len(first) == 87  # 65-byte uncompressed P-256 point, base64url


async def test_subscription_hosts_are_checked(client, receiver):
    org = await make_org(PEOPLE)
    keys = receiver.device("x").subscription(receiver.base_url)["keys"]
    for endpoint in ("https://evil.example.com/push/1", "http://10.0.0.5/push/1", "https://[::1]/push",
                     "ftp://127.0.0.1/x", "https://user:pw@fcm.googleapis.com/x"):
        resp = await client.post("/api/v1/push/subscriptions", headers=org.auth("rep_a1"),
                                 json={"endpoint": endpoint, "keys": keys})
        assert resp.status_code == 422, (endpoint, resp.text)
        assert resp.json()["code"] == "push_host_not_allowed" and resp.json()["detail"].endswith(".")
    bad_keys = await client.post("/api/v1/push/subscriptions", headers=org.auth("rep_a1"),
                                 json={"endpoint": f"{receiver.base_url}/push/x", "keys": {"p256dh": "!", "auth": "?"}})
    assert bad_keys.status_code == 400


async def test_keys_no_push_can_be_encrypted_for_are_refused_and_never_break_delivery(client, receiver):
    """Found by fuzzing: keys that pass the pattern but are no P-256 point were stored, and the next push to
    that user (the test button, or the job) failed with a 500 for every device in the batch."""
    org = await make_org(PEOPLE)
    endpoint = f"{receiver.base_url}/push/bad"
    for keys in ({"p256dh": "B" * 87, "auth": "A" * 22}, {"p256dh": "B" * 20, "auth": "A" * 22},
                 {**receiver.device("x").subscription(receiver.base_url)["keys"], "auth": "A" * 12}):
        resp = await client.post("/api/v1/push/subscriptions", headers=org.auth("rep_a1"),
                                 json={"endpoint": endpoint, "keys": keys})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_subscription_keys", resp.text
    # One stored before the check: the good device still gets its push, the broken one is forgotten.
    phone = receiver.device("phone")
    await _subscribe(client, org, "rep_a1", phone, receiver)
    await PushSubscription.insert(PushSubscription(user=org.ids["rep_a1"], endpoint=endpoint, p256dh="B" * 87,
                                                   auth="A" * 22, locale="zh_CN")).run()
    resp = await client.post("/api/v1/push/test", headers=org.auth("rep_a1"))
    assert resp.status_code == 201 and resp.json()["devices"] == 2, resp.text
    assert receiver.for_device("phone")[0].payload["title"] == "Salesgate 测试通知"
    assert await PushSubscription.count().where(PushSubscription.endpoint == endpoint).run() == 0


async def test_a_late_step_reaches_both_devices_once_decrypted_and_signed(client, settings, receiver):
    org = await make_org(PEOPLE)
    phone, laptop, manager = receiver.device("phone"), receiver.device("laptop"), receiver.device("mgr")
    await _subscribe(client, org, "rep_a1", phone, receiver)
    await _subscribe(client, org, "rep_a1", laptop, receiver, locale="en")
    await _subscribe(client, org, "mgr_a", manager, receiver)
    opp = await _late_deal(client, org)
    now = T0 + 72 * H + timedelta(minutes=1)
    await asyncio.gather(_run(settings, now), _run(settings, now))  # run-once twice at the same time
    await _run(settings, now)
    assert receiver.errors == []
    assert len(receiver.for_device("phone")) == 1 and len(receiver.for_device("laptop")) == 1
    assert len(receiver.for_device("mgr")) == 1
    got = receiver.for_device("phone")[0]
    assert got.payload["title"] == "逾期：交付排期" and got.payload["url"] == f"/opportunities/{opp['id']}"
    assert got.payload["tag"].startswith("alert-") and "苏州恒达" in got.payload["body"]
    assert receiver.for_device("laptop")[0].payload["title"] == "Overdue: Delivery scheduling"  # that device's language
    assert got.claims["aud"] == receiver.base_url
    assert got.headers["ttl"] == str(24 * 3600) and got.headers["urgency"] == "normal"
    assert got.headers["topic"] == got.payload["tag"]
    assert len(got.headers.get("content-length", "0")) and int(got.headers["content-length"]) < 4096


async def test_gone_subscription_is_deleted_and_busy_service_is_retried_after_its_delay(client, settings, receiver):
    org = await make_org(PEOPLE)
    old, busy = receiver.device("old"), receiver.device("busy")
    old.answers.append((410, {}))
    busy.answers.append((429, {"Retry-After": "120"}))
    await _subscribe(client, org, "rep_a1", old, receiver)
    await _subscribe(client, org, "rep_a1", busy, receiver)
    await _late_deal(client, org)
    now = T0 + 73 * H
    summary = await _run(settings, now)
    assert "1 gone" in summary["push"] and "1 retry" in summary["push"], summary
    assert await PushSubscription.count().run() == 1  # the 410 device is forgotten
    row = await PushOutbox.select().where(PushOutbox.status == "pending").first().run()
    assert row["attempts"] == 1 and row["not_before"] == now + timedelta(seconds=120)
    await _run(settings, now + timedelta(seconds=60))  # too early: the push service asked for 120 s
    assert receiver.for_device("busy") == []
    await _run(settings, now + timedelta(seconds=121))
    assert len(receiver.for_device("busy")) == 1


async def test_server_errors_back_off_and_never_duplicate(client, settings, receiver):
    org = await make_org(PEOPLE)
    flaky = receiver.device("flaky")
    flaky.answers.extend([(500, {}), (503, {})])
    await _subscribe(client, org, "rep_a1", flaky, receiver)
    await _late_deal(client, org)
    now = T0 + 73 * H
    await _run(settings, now)
    await _run(settings, now + timedelta(seconds=31))   # first back-off 30 s
    await _run(settings, now + timedelta(seconds=200))  # second back-off 60 s
    await _run(settings, now + timedelta(seconds=400))
    assert [s for _, s in receiver.refused] == [500, 503]
    assert len(receiver.for_device("flaky")) == 1


async def test_quiet_hours_hold_non_urgent_pushes_until_morning(client, database_url, settings, receiver, tmp_path):
    org = await make_org(PEOPLE)
    await _subscribe(client, org, "rep_a1", receiver.device("phone"), receiver)
    await _late_deal(client, org)
    night = datetime(2026, 11, 13, 15, 0, tzinfo=timezone.utc)  # 23:00 in Shanghai, after the deadline
    await _run(settings, night)
    assert receiver.for_device("phone") == []
    assert (await client.get("/api/v1/inbox", headers=org.auth("rep_a1"))).json()["unread"] == 1  # inbox at once
    await _run(settings, datetime(2026, 11, 13, 23, 59, tzinfo=timezone.utc))  # 07:59
    assert receiver.for_device("phone") == []
    await _run(settings, datetime(2026, 11, 14, 0, 0, tzinfo=timezone.utc))  # 08:00
    assert len(receiver.for_device("phone")) == 1


async def test_urgent_nodes_push_during_quiet_hours(client, settings, receiver):
    org = await make_org(PEOPLE)
    await _subscribe(client, org, "rep_a1", receiver.device("phone"), receiver)
    # the customer-stamped confirmation letter is urgent in the shipped playbook
    await _late_deal(client, org, stage="solution_confirmed", substate=None)
    night = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)  # 23:00, long after every deadline
    await _run(settings, night)
    urgent = [d for d in receiver.for_device("phone") if d.headers["urgency"] == "high"]
    assert urgent, [d.payload for d in receiver.for_device("phone")]


async def test_completed_step_cancels_the_push_waiting_for_morning(client, settings, receiver):
    org = await make_org(PEOPLE)
    await _subscribe(client, org, "rep_a1", receiver.device("phone"), receiver)
    opp = await _late_deal(client, org)
    await _run(settings, datetime(2026, 11, 13, 15, 0, tzinfo=timezone.utc))  # 23:00: held for the morning
    done = await client.patch(f"/api/v1/opportunities/{opp['id']}", headers=org.auth("rep_a1"),
                              json={"fields": {"delivery_date": "2026-12-01"}})
    assert done.status_code == 200
    await _run(settings, datetime(2026, 11, 14, 1, 0, tzinfo=timezone.utc))
    assert receiver.for_device("phone") == []
    assert await PushOutbox.count().where(PushOutbox.status == "cancelled").run() >= 1


async def test_test_button_pushes_now_and_unsubscribe_removes_the_device(client, settings, receiver):
    org = await make_org(PEOPLE)
    device = receiver.device("phone")
    await _subscribe(client, org, "rep_a1", device, receiver)
    listed = (await client.get("/api/v1/push/subscriptions", headers=org.auth("rep_a1"))).json()["items"]
    assert [i["endpoint_host"] for i in listed] == ["127.0.0.1"]
    await _subscribe(client, org, "mgr_a", receiver.device("mgr"), receiver)
    async with write_transaction():  # the manager's push waits for the push job (here: a far-off hour)
        await alerting.raise_alert(key="someone-else", kind="test", recipients=[org.ids["mgr_a"]],
                                   now=datetime.now(timezone.utc), quiet_until=datetime.now(timezone.utc))
    resp = await client.post("/api/v1/push/test", headers=org.auth("rep_a1"))
    assert resp.status_code == 201 and resp.json()["devices"] == 1
    assert receiver.for_device("mgr") == []  # the test button sends only to the caller's own devices
    assert await PushOutbox.count().where(PushOutbox.status == "pending").run() == 1
    assert receiver.for_device("phone")[0].payload["title"] == "Salesgate 测试通知"
    assert receiver.for_device("phone")[0].headers["urgency"] == "high"
    # a month later housekeeping forgets the delivery record, not the push still waiting to go
    now = datetime.now(timezone.utc)
    await PushOutbox.update({PushOutbox.created_at: now - timedelta(days=31)}).where(PushOutbox.id > 0).run()
    assert ", 1 old push records," in await housekeeping.run(now)
    assert [r["status"] for r in await PushOutbox.select(PushOutbox.status).run()] == ["pending"]
    endpoint = device.subscription(receiver.base_url)["endpoint"]
    gone = await client.delete("/api/v1/push/subscriptions", params={"endpoint": endpoint},
                               headers=org.auth("rep_a1"))
    assert gone.status_code == 204
    assert await PushSubscription.count().where(PushSubscription.user == org.ids["rep_a1"]).run() == 0


def test_quiet_hours_setting_is_checked():
    assert load_settings({"SALESGATE_QUIET_HOURS": "off"}).quiet is None
    with pytest.raises(ValueError, match="SALESGATE_QUIET_HOURS"):
        load_settings({"SALESGATE_QUIET_HOURS": "late"})


async def test_two_run_once_processes_at_the_same_time_push_each_alert_once(client, settings, receiver, tmp_path):
    """`salesgate jobs run-once --now` twice at once, as two operating-system processes."""
    import os
    import sys
    from pathlib import Path

    org = await make_org(PEOPLE)
    await _subscribe(client, org, "rep_a1", receiver.device("phone"), receiver)
    await _subscribe(client, org, "mgr_a", receiver.device("mgr"), receiver)
    for _ in range(3):
        await _late_deal(client, org)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGATE_")}
    env.update(SALESGATE_DATABASE_URL=settings.database_url, SALESGATE_VAR_DIR=settings.var_dir,
               SALESGATE_MEDIA_DIR=str(tmp_path / "media"), SALESGATE_PUSH_HOSTS="127.0.0.1",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    now = (T0 + 73 * H).isoformat()
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-m", "server.cli", "jobs", "run-once", "--now", now,
                                                  env=env, stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    printed = b"".join(o[0] for o in outputs).decode()
    assert "deadlines: re-planned" in printed and "pushes:" in printed
    assert receiver.errors == []
    assert len(receiver.for_device("phone")) == 3 and len(receiver.for_device("mgr")) == 3
    assert len({d.payload["tag"] for d in receiver.deliveries}) == 3


async def test_a_device_with_unusable_keys_is_refused_and_never_blocks_the_others(client, settings, receiver):
    """A subscription whose p256dh is not a P-256 point used to make every send of its batch fail
    (one exception in asyncio.gather): nobody got a push while it stayed in the outbox."""
    org = await make_org(PEOPLE)
    good = receiver.device("good")
    keys = good.subscription(receiver.base_url)["keys"]
    for bad in ({**keys, "p256dh": "BNc" + "A" * 84}, {**keys, "auth": "c2hvcnQtYXV0aA"}):
        resp = await client.post("/api/v1/push/subscriptions", headers=org.auth("rep_a1"),
                                 json={"endpoint": f"{receiver.base_url}/push/bad", "keys": bad})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_subscription_keys", resp.text
    await _subscribe(client, org, "rep_a1", good, receiver)
    # one stored before keys were checked
    await PushSubscription.insert(PushSubscription(user=org.ids["mgr_a"], endpoint=f"{receiver.base_url}/push/old",
                                                   p256dh="BNc" + "A" * 84, auth=keys["auth"])).run()
    await _late_deal(client, org)
    summary = await _run(settings, T0 + 73 * H)
    assert "1 gone" in summary["push"], summary
    assert len(receiver.for_device("good")) == 1
    assert [s["endpoint"] for s in await PushSubscription.select(PushSubscription.endpoint).run()] == [
        f"{receiver.base_url}/push/good"]
