"""Alerts that act: deadline clocks, escalation, closing on completion, the inbox, blocked gates."""

import asyncio
from datetime import datetime, timedelta, timezone

from server import jobs
from server.tables import Alert, InboxItem, NodeAlarm, NodeInstance, Opportunity

from tests.integration.helpers import make_org

T0 = datetime(2026, 11, 10, 1, 0, tzinfo=timezone.utc)  # a Tuesday, 09:00 in Shanghai
H = timedelta(hours=1)

PEOPLE = {
    "admin": (("admin",), None, None),
    "director": (("manager",), "Team A", None),
    "mgr_a": (("manager", "rep"), "Team A", "director"),
    "rep_a1": (("rep",), "Team A", "mgr_a"),
    "rep_a2": (("rep",), "Team A", "mgr_a"),
    "commercial_a": (("commercial",), "Team A", "mgr_a"),
    "legal_a": (("legal",), "Team A", "mgr_a"),
}


async def _opp(client, org, who="rep_a1"):
    c = (await client.post("/api/v1/customers", json={"name": "宁波精工", "phone": "13900001111"},
                           headers=org.auth(who))).json()
    resp = await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": "产线改造"},
                             headers=org.auth(who))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _put_in(opp_id, stage, substate=None, entered=T0):
    """Place an opportunity in a stage as of `entered` (what a real transition at that time would leave)."""
    await Opportunity.update({Opportunity.stage: stage, Opportunity.substate: substate,
                              Opportunity.stage_entered_at: entered, Opportunity.last_note_at: None,
                              Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
        Opportunity.id == opp_id).run()


async def _run(settings, now, storage=None):
    return dict(await jobs.run_once(now, jobs.Deps.build(settings, storage=storage)))


async def _inbox(client, org, who):
    resp = await client.get("/api/v1/inbox", headers=org.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_contract_approval_late_48h_goes_to_the_supervisor_then_escalates_once(client, settings):
    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    await _put_in(opp["id"], "contract_approval")
    await _run(settings, T0 + 47 * H)
    assert await Alert.count().run() == 0
    assert (await _inbox(client, org, "mgr_a"))["items"] == []

    summary = await _run(settings, T0 + 48 * H + timedelta(minutes=1))
    assert "new alerts" in summary["deadlines"]
    items = (await _inbox(client, org, "mgr_a"))["items"]
    titles = [i["title"] for i in items]
    assert titles == ["逾期：合同审批发起"], titles  # the rep's supervisor, in Chinese by default
    assert items[0]["url"] == f"/opportunities/{opp['id']}" and items[0]["read"] is False
    assert "宁波精工" in items[0]["body"] and "产线改造" in items[0]["body"]
    assert (await _inbox(client, org, "rep_a1"))["items"] == []  # this node tells the supervisor only
    listed = (await client.get("/api/v1/opportunities", headers=org.auth("mgr_a"))).json()["items"]
    assert [(o["id"], o["overdue_nodes"]) for o in listed] == [(opp["id"], 2)]  # as of today both contract-approval clocks are past due
    assert (await _inbox(client, org, "director"))["items"] == []

    for _ in range(2):  # a rerun at the same time, and a later one before the next level: nothing new
        await _run(settings, T0 + 48 * H + timedelta(minutes=1))
    await _run(settings, T0 + 60 * H)
    assert await Alert.count().run() == 1 and await InboxItem.count().run() == 1

    await _run(settings, T0 + 72 * H + timedelta(minutes=1))  # +24 h: the supervisor's manager
    director = (await _inbox(client, org, "director"))["items"]
    assert [i["kind"] for i in director] == ["escalation"]
    assert director[0]["title"] == "升级提醒：合同审批发起"
    assert await Alert.count().run() == 2


async def test_completing_the_node_closes_its_alerts_and_stops_the_escalation(client, settings, storage):
    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    await _put_in(opp["id"], "contract_approval")
    await _run(settings, T0 + 49 * H, storage)
    assert await Alert.count().where(Alert.closed_at.is_null()).run() == 1

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    up = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments", headers=org.auth("commercial_a"),
                           data={"material": "stamped_contract_draft"}, files={"file": ("c.pdf", pdf, "application/pdf")})
    assert up.status_code in (201, 404), up.text  # the commercial colleague may not see the deal: the rep uploads
    if up.status_code == 404:
        up = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments", headers=org.auth("rep_a1"),
                               data={"material": "stamped_contract_draft"},
                               files={"file": ("c.pdf", pdf, "application/pdf")})
        assert up.status_code == 201, up.text
    patched = await client.patch(f"/api/v1/opportunities/{opp['id']}", json={"fields": {"contract_no": "HT-2026-01"}},
                                 headers=org.auth("rep_a1"))
    assert patched.status_code == 200, patched.text

    await _run(settings, T0 + 50 * H, storage)
    assert await Alert.count().where(Alert.closed_at.is_null()).run() == 0
    instance = await NodeInstance.select().where(NodeInstance.node_key == "contract_approval_submitted").first().run()
    assert instance["status"] == "done"
    await _run(settings, T0 + 100 * H, storage)  # long past the +24 h level: no reminder after completion
    assert await Alert.count().where(Alert.node_key == "contract_approval_submitted").run() == 1
    items = (await _inbox(client, org, "mgr_a"))["items"]
    assert items[0]["closed"] is True


async def test_pending_delivery_scheduling_three_days_without_owner_note(client, settings):
    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    await _put_in(opp["id"], "signed", "pending_delivery_scheduling")
    await _run(settings, T0 + 71 * H)
    assert await Alert.count().where(Alert.node_key == "delivery_scheduling").run() == 0

    # day 2: the rep writes a note — the three days start again from it
    note = await client.post("/api/v1/activities", headers=org.auth("rep_a1"), json={
        "customer_id": opp["customer_id"], "opportunity_id": opp["id"], "kind": "note",
        "note": "等客户确认场地", "occurred_at": (T0 + 48 * H).isoformat()})
    assert note.status_code == 201, note.text
    await _run(settings, T0 + 73 * H)
    assert await Alert.count().where(Alert.node_key == "delivery_scheduling").run() == 0

    await _run(settings, T0 + 48 * H + 72 * H + timedelta(minutes=1))
    alerts = await Alert.select().where(Alert.node_key == "delivery_scheduling").run()
    assert len(alerts) == 1
    owner_items = (await _inbox(client, org, "rep_a1"))["items"]
    manager_items = (await _inbox(client, org, "mgr_a"))["items"]
    assert [i["title"] for i in owner_items] == ["逾期：交付排期"]  # the owner, copy to the direct manager
    assert [i["title"] for i in manager_items] == ["逾期：交付排期"]


async def test_blocked_gate_puts_an_item_in_the_supervisors_inbox_once_a_day(client, settings):
    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    for _ in range(3):
        resp = await client.post(f"/api/v1/opportunities/{opp['id']}/transition", json={"to": "needs_analysis"},
                                 headers=org.auth("rep_a1"))
        assert resp.status_code == 409 and resp.json()["code"] == "gate_blocked"
    items = (await _inbox(client, org, "mgr_a"))["items"]
    assert len(items) == 1 and items[0]["kind"] == "gate_blocked"
    assert items[0]["title"].startswith("推进被拦截") and "REP_A1" in items[0]["body"]
    en = await client.get("/api/v1/inbox", headers={**org.auth("mgr_a"), "Cookie": "sg_lang=en"})
    assert en.json()["items"][0]["title"].startswith("Advance blocked")
    assert (await _inbox(client, org, "rep_a1"))["items"] == []  # the one who tried is not told about himself


async def test_inbox_mark_read_unread_count_and_privacy(client, settings):
    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    await _put_in(opp["id"], "signed", "pending_delivery_scheduling")
    await _run(settings, T0 + 73 * H)
    mine = await _inbox(client, org, "rep_a1")
    assert mine["unread"] == 1
    item = mine["items"][0]["id"]
    other = await client.post(f"/api/v1/inbox/{item}/read", headers=org.auth("rep_a2"))
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    bad = await client.post("/api/v1/inbox/not-a-number/read", headers=org.auth("rep_a1"))
    assert bad.status_code == 404
    done = await client.post(f"/api/v1/inbox/{item}/read", headers=org.auth("rep_a1"))
    assert done.status_code == 200 and done.json() == {"unread": 0}
    assert (await _inbox(client, org, "rep_a1"))["items"][0]["read"] is True
    assert (await client.get("/api/v1/inbox/unread", headers=org.auth("mgr_a"))).json() == {"unread": 1}
    assert (await client.post("/api/v1/inbox/read-all", headers=org.auth("mgr_a"))).json() == {"unread": 0}
    assert (await client.get("/api/v1/inbox")).status_code == 401


async def test_clocks_follow_the_stage_and_a_won_deal_has_none(client, settings):
    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    await _run(settings, T0)
    open_keys = {r["node_key"] for r in await NodeInstance.select().where(NodeInstance.status == "open").run()}
    assert open_keys == {"first_contact", "decision_maker_identified"}
    assert await NodeAlarm.count().run() >= 2
    await _put_in(opp["id"], "won")
    await _run(settings, T0 + H)
    assert await NodeInstance.count().where(NodeInstance.status == "open").run() == 0
    assert await NodeAlarm.count().where(NodeAlarm.fired_tick.is_null()).run() == 0


async def test_two_schedulers_at_once_make_each_alert_once(client, settings):
    org = await make_org(PEOPLE)
    for _ in range(5):
        opp = await _opp(client, org)
        await _put_in(opp["id"], "contract_approval")
    deps = [jobs.Deps.build(settings) for _ in range(3)]
    now = T0 + 73 * H
    await asyncio.gather(*[jobs.run_once(now, d) for d in deps])
    assert await Alert.count().run() == 10  # 5 deals × (deadline + escalation)
    assert await InboxItem.count().run() == 10


async def test_sqlite_scheduler_lease_is_held_by_one_until_it_expires(client):
    from server.queries import leases

    assert await leases.acquire("scheduler", "a", T0, 180)
    assert not await leases.acquire("scheduler", "b", T0 + 60 * timedelta(seconds=1), 180)
    assert await leases.acquire("scheduler", "a", T0 + timedelta(seconds=60), 180)  # renewed by its holder
    assert await leases.acquire("scheduler", "b", T0 + timedelta(seconds=241), 180)  # expired: taken over
    await leases.release("scheduler", "b")
    assert await leases.acquire("scheduler", "c", T0 + timedelta(seconds=242), 180)


async def test_serve_loop_runs_the_jobs_and_a_second_loop_on_sqlite_waits(client, settings):
    """Two schedulers side by side: on SQLite only the lease holder works; on PostgreSQL both may."""
    from server.tables import JobLease

    org = await make_org(PEOPLE)
    opp = await _opp(client, org)
    await _put_in(opp["id"], "signed", "pending_delivery_scheduling", entered=T0 - 30 * 24 * H)
    stops = [asyncio.Event(), asyncio.Event()]
    loops = [asyncio.create_task(jobs.loop(stop, jobs.Deps.build(settings), interval=0.2)) for stop in stops]
    for _ in range(100):
        if await Alert.count().run() == 2:
            break
        await asyncio.sleep(0.1)
    for stop in stops:
        stop.set()
    await asyncio.gather(*loops)
    # a month late: the deadline level (owner + manager) and the +48 h level (the director), once each
    assert await Alert.count().where(Alert.node_key == "delivery_scheduling").run() == 2
    assert await InboxItem.count().run() == 3
    assert await JobLease.count().run() == 0  # released on the way out
