"""The manager board through the API on a hand-built team: overdue nodes, open alerts, silent customers and the
kickoff-meeting rate per rep (each with its records), the key-account line's colours at fixed times, pins and who
may do what, the lost-deal review."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server.queries import board as board_q
from server.tables import (Alert, Attachment, AuditLog, BoardPin, Customer, NodeInstance, Opportunity, StageTransition,
                           Team)

from tests.integration.helpers import make_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
D = timedelta(days=1)
KICKOFF = "kickoff_meeting_scheduled"


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _deal(client, org, who, name, *, contacted_days_ago=None):
    c = await client.post("/api/v1/customers", json={"name": name}, headers=org.auth(who))
    assert c.status_code == 201, c.text
    resp = await client.post("/api/v1/opportunities", json={"customer_id": c.json()["id"], "title": f"{name}项目"},
                             headers=org.auth(who))
    assert resp.status_code == 201, resp.text
    if contacted_days_ago is not None:
        r = await client.post("/api/v1/activities", headers=org.auth(who), json={
            "customer_id": c.json()["id"], "kind": "call",
            "occurred_at": (_now() - contacted_days_ago * D).isoformat()})
        assert r.status_code == 201, r.text
    return c.json(), resp.json()


async def _clock(opp, node, due, status="open", closed=None):
    row = NodeInstance(opportunity=opp["id"], node_key=node, stage="signed", anchor_at=due - 5 * D, due_at=due,
                       status=status, closed_at=closed)
    await NodeInstance.insert(row).run()
    return row


async def _alert(opp, key, closed=False):
    await Alert.insert(Alert(key=key, kind="overdue", opportunity=opp["id"], node_key="first_contact",
                             created_at=_now() - H, closed_at=_now() if closed else None)).run()


async def _board(client, org, who, **params):
    resp = await client.get("/api/v1/board", params=params, headers=org.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _team_id(name):
    return str((await Team.select(Team.id).where(Team.name == name).first().run())["id"])


@pytest.fixture
async def team(client):
    """Team A: rep_a1 and rep_a2 (and mgr_a, a manager who also sells); Team B: rep_b1.

    Overdue clocks: rep_a1 three (宁波 5 h and 30 h late, k_late's kickoff 24 h late), one not yet due, one done
    late (not counted), one on a lost deal (not counted); rep_a2 one (南通, 2 h late); rep_b1 one (other team).
    Open alerts: rep_a1 two (+ one closed), rep_b1 one. Silent: rep_a1's 苏州 (contacted 20 days ago) and 温州
    (lost, no open deal, 9 days). Kickoff clocks of rep_a1: on time (done before due), late (still open past due),
    on time (left with the kickoff date filled before due), not counted (left without it before due), outside the
    window (40 days ago), not due yet: 2 of 3 = 66.67 %."""
    org = await make_org()
    now = _now()
    _, ningbo = await _deal(client, org, "rep_a1", "宁波")
    _, suzhou = await _deal(client, org, "rep_a1", "苏州", contacted_days_ago=20)
    _, lost = await _deal(client, org, "rep_a1", "温州", contacted_days_ago=9)
    _, nantong = await _deal(client, org, "rep_a2", "南通")
    _, shenzhen = await _deal(client, org, "rep_b1", "深圳")
    await _clock(ningbo, "contract_scan", now - 5 * H)
    await _clock(ningbo, "technical_agreement", now - 30 * H)
    await _clock(ningbo, "payment_commitment", now + 5 * H)
    await _clock(ningbo, "legal_archive", now - 50 * H, "done", now - 10 * H)
    await _clock(lost, "contract_scan", now - 50 * H)
    await _clock(nantong, "contract_scan", now - 2 * H)
    await _clock(shenzhen, "contract_scan", now - 2 * H)
    # 温州 lost a day ago, nine days after the last call: the team's only lost deal, over 3 days → flagged
    await StageTransition.insert(StageTransition(opportunity=lost["id"], user=org.ids["rep_a1"],
                                                 from_stage="initial_contact", to_stage="lost", at=now - D)).run()
    await Opportunity.update({Opportunity.status: "lost", Opportunity.stage: "lost"}).where(
        Opportunity.id == lost["id"]).run()
    await _alert(ningbo, "t:1")
    await _alert(ningbo, "t:2")
    await _alert(ningbo, "t:3", closed=True)
    await _alert(shenzhen, "t:4")
    # kickoff meetings
    k = {}
    for name in ("k_done", "k_late", "k_left", "k_gone", "k_old", "k_future"):
        k[name] = (await _deal(client, org, "rep_a1", name))[1]
    await Opportunity.update({Opportunity.fields: {"kickoff_date": "2026-11-20"}}).where(
        Opportunity.id == k["k_left"]["id"]).run()
    await _clock(k["k_done"], KICKOFF, now - 2 * D, "done", now - 3 * D)
    await _clock(k["k_late"], KICKOFF, now - 1 * D)
    await _clock(k["k_left"], KICKOFF, now - 5 * D, "left", now - 6 * D)
    await _clock(k["k_gone"], KICKOFF, now - 4 * D, "left", now - 5 * D)
    await _clock(k["k_old"], KICKOFF, now - 40 * D, "done", now - 41 * D)
    await _clock(k["k_future"], KICKOFF, now + 2 * D)
    return org, {"ningbo": ningbo, "suzhou": suzhou, "nantong": nantong, "shenzhen": shenzhen, "lost": lost, **k}


async def test_per_rep_numbers_and_the_records_behind_them(client, team):
    org, deals = team
    b = await _board(client, org, "mgr_a")
    assert b["team"]["name"] == "Team A" and [t["name"] for t in b["teams"]] == ["Team A"]
    reps = {r["name"]: r for r in b["reps"]}
    assert set(reps) == {"MGR_A", "REP_A1", "REP_A2"}  # the team's reps (mgr_a sells too); not rep_b1
    a1, a2 = reps["REP_A1"], reps["REP_A2"]
    # k_late's kickoff clock is overdue too; 温州 (lost, no open deal, called 9 days ago) is silent too
    assert (a1["overdue"], a1["open_alerts"], a1["silent"]) == (3, 2, 2)
    assert (a2["overdue"], a2["open_alerts"], a2["silent"]) == (1, 0, 0)
    assert [r["name"] for r in b["reps"]][:2] == ["REP_A1", "REP_A2"]  # most overdue first
    # the most late first, with how late
    assert [(o["node"], o["title"]) for o in a1["overdue_items"]] == [
        ("technical_agreement", "宁波项目"), (KICKOFF, "k_late项目"), ("contract_scan", "宁波项目")]
    assert [round(o["hours_late"]) for o in a1["overdue_items"]] == [30, 24, 5]
    assert a1["overdue_items"][0]["opportunity_id"] == deals["ningbo"]["id"]
    assert {a["opportunity_id"] for a in a1["alert_items"]} == {deals["ningbo"]["id"]}
    assert [s["customer_name"] for s in a1["silent_items"]] == ["苏州", "温州"]
    assert a1["silent_items"][0]["days_silent"] == 20
    kick = a1["kickoff"]
    assert (kick["on_time"], kick["counted"], kick["rate"]) == (2, 3, 0.6667)
    outcomes = {i["title"]: i["outcome"] for i in kick["items"]}
    assert outcomes == {"k_done项目": "on_time", "k_late项目": "late", "k_left项目": "on_time",
                        "k_gone项目": "not_counted"}
    assert a2["kickoff"] == {"on_time": 0, "counted": 0, "rate": None, "items": []}

    # the team's PHI is the PHI page's number, with its 8-week trend
    phi = (await client.get("/api/v1/phi", params={"scope": "team"}, headers=org.auth("mgr_a"))).json()
    assert b["phi"]["score"] == phi["score"] and len(b["phi"]["weekly"]) == 8
    assert b["phi"]["sub_scores"] == phi["sub_scores"]
    # lost-deal review of the team: 温州, 8 days between the last call and the move to lost
    review = b["lost_review"]
    assert [(d["title"], d["gap_days"]) for d in review["items"]] == [("温州项目", 8.0)]
    assert review["teams"] == [{"team": "Team A", "lost": 1, "over": 1, "share": 1.0, "flagged": True}]

    # every number taps through to a page listing the same records
    page = await client.get(f"/board/reps/{org.ids['rep_a1']}", params={"show": "overdue"}, headers=org.auth("mgr_a"))
    assert page.status_code == 200 and page.text.count(f"/opportunities/{deals['ningbo']['id']}") == 2
    assert page.text.count("/opportunities/") == 3
    page = await client.get(f"/board/reps/{org.ids['rep_a1']}", params={"show": "silent"}, headers=org.auth("mgr_a"))
    assert f"/customers/{deals['suzhou']['customer_id']}" in page.text
    page = await client.get(f"/board/reps/{org.ids['rep_a1']}", params={"show": "kickoff"}, headers=org.auth("mgr_a"))
    assert page.text.count("/opportunities/") == 4
    html = (await client.get("/board", headers=org.auth("mgr_a"))).text
    assert f"/board/reps/{org.ids['rep_a1']}?team_id=" in html and "67%<small>2/3</small>" in html


async def test_who_may_see_which_board(client, team):
    org, _ = team
    resp = await client.get("/api/v1/board", headers=org.auth("rep_a1"))
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    team_b = await _team_id("Team B")
    resp = await client.get("/api/v1/board", params={"team_id": team_b}, headers=org.auth("mgr_a"))
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    b = await _board(client, org, "mgr_b")
    assert b["team"]["name"] == "Team B" and [r["name"] for r in b["reps"]] == ["REP_B1"]
    assert (b["reps"][0]["overdue"], b["reps"][0]["open_alerts"]) == (1, 1)
    b = await _board(client, org, "admin", team_id=team_b)
    assert b["team"]["name"] == "Team B" and [t["name"] for t in b["teams"]] == ["Team A", "Team B"]
    assert (await client.get("/board", headers=org.auth("rep_a1"))).status_code == 403
    # the Workbench tab links the board for managers and admins only
    for who, shown in (("rep_a1", False), ("mgr_a", True), ("admin", True)):
        for path in ("/workbench", "/health"):
            html = (await client.get(path, headers=org.auth(who))).text
            assert ('href="/board"' in html) is shown, (who, path)
    assert (await client.get("/board", params={"team_id": team_b}, headers=org.auth("mgr_a"))).status_code == 404


async def test_pins(client, team):
    org, deals = team
    ningbo_customer = deals["ningbo"]["customer_id"]
    body = {"customer_id": ningbo_customer}
    resp = await client.post("/api/v1/board/pins", json=body, headers=org.auth("rep_a1"))
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    resp = await client.post("/api/v1/board/pins", json=body, headers=org.auth("mgr_b"))
    assert resp.status_code == 404  # not a customer mgr_b may see
    resp = await client.post("/api/v1/board/pins", json={**body, "team_id": await _team_id("Team B")},
                             headers=org.auth("admin"))
    assert resp.status_code == 422 and resp.json()["code"] == "customer_not_in_team"
    resp = await client.post("/api/v1/board/pins", json=body, headers=org.auth("mgr_a"))
    assert resp.status_code == 201, resp.text
    assert (resp.json()["customer_name"], resp.json()["position"]) == ("宁波", 1)
    resp = await client.post("/api/v1/board/pins", json=body, headers=org.auth("mgr_a"))
    assert resp.status_code == 409 and resp.json()["code"] == "already_pinned"
    audit = await AuditLog.select(AuditLog.action, AuditLog.target_id).where(AuditLog.action == "board.pin").run()
    assert audit == [{"action": "board.pin", "target_id": ningbo_customer}]
    b = await _board(client, org, "mgr_a")
    assert [a["customer_name"] for a in b["accounts"]] == ["宁波"]
    assert b["accounts"][0]["opportunity"]["id"] == deals["ningbo"]["id"]
    assert len(b["accounts"][0]["dots"]) == 11
    # the team's board holds 20 accounts
    team_a = await _team_id("Team A")
    extra = [Customer(name=f"客户{i:02d}", owner=org.ids["rep_a2"], team=team_a) for i in range(19)]
    await Customer.insert(*extra).run()
    for c in extra:
        resp = await client.post("/api/v1/board/pins", json={"customer_id": str(c.id)}, headers=org.auth("mgr_a"))
        assert resp.status_code == 201, resp.text
    resp = await client.post("/api/v1/board/pins", json={"customer_id": deals["suzhou"]["customer_id"]},
                             headers=org.auth("mgr_a"))
    assert resp.status_code == 409 and resp.json()["code"] == "pin_limit"
    # unpin: gone, audited; a second time there is nothing to unpin
    resp = await client.delete(f"/api/v1/board/pins/{ningbo_customer}", headers=org.auth("mgr_a"))
    assert resp.status_code == 204
    resp = await client.delete(f"/api/v1/board/pins/{ningbo_customer}", headers=org.auth("mgr_a"))
    assert resp.status_code == 404
    resp = await client.delete(f"/api/v1/board/pins/{extra[0].id}", headers=org.auth("mgr_b"))
    assert resp.status_code == 404  # another team's pin does not exist for mgr_b
    assert await BoardPin.count().where(BoardPin.team == team_a).run() == 19
    assert await AuditLog.count().where(AuditLog.action == "board.unpin").run() == 1
    # the page's search finds the team's unpinned customers only
    html = (await client.get("/board", params={"q": "宁"}, headers=org.auth("mgr_a"))).text
    assert f'data-pin="{ningbo_customer}"' in html
    html = (await client.get("/board", params={"q": "深圳"}, headers=org.auth("mgr_a"))).text
    assert "data-pin=" not in html


async def test_key_account_line_colours_at_fixed_times(client, app, team):
    """宁波 in signed / pending delivery scheduling, entered 2026-11-23 09:00 (Shanghai), no note since: contract
    nodes done where their files and fields are present, the payment letter skipped (red); delivery scheduling due
    72 h after entry (11-26 09:00); the kickoff meeting, kickoff minutes, delivery plan and acceptance not reached."""
    org, deals = team
    opp_id, customer = deals["ningbo"]["id"], deals["ningbo"]["customer_id"]
    entered = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    await Opportunity.update({Opportunity.stage: "signed", Opportunity.substate: "pending_delivery_scheduling",
                              Opportunity.stage_entered_at: entered, Opportunity.last_note_at: None,
                              Opportunity.fields: {"contract_no": "HT-1", "archive_no": "FW-1"}}).where(
        Opportunity.id == opp_id).run()
    for i, material in enumerate(("stamped_contract_draft", "legal_opinion", "contract_scan", "technical_agreement")):
        await Attachment.insert(Attachment(opportunity=opp_id, material=material, filename=f"{material}.pdf",
                                           content_type="application/pdf", object_key=f"t/{opp_id}/{i}",
                                           status="present", uploaded_by=org.ids["rep_a1"])).run()
    # an older won deal of the same customer: the open one is shown
    won = await client.post("/api/v1/opportunities", json={"customer_id": customer, "title": "旧单"},
                            headers=org.auth("rep_a1"))
    await Opportunity.update({Opportunity.status: "won", Opportunity.stage: "won",
                              Opportunity.created_at: entered - 100 * D}).where(Opportunity.id == won.json()["id"]).run()
    assert (await client.post("/api/v1/board/pins", json={"customer_id": customer},
                              headers=org.auth("mgr_a"))).status_code == 201
    team_a = await _team_id("Team A")
    pb = app.state.playbook

    async def line(at):
        [account] = await board_q.key_accounts(pb, team_a, SHANGHAI, at)
        assert account.opportunity.id == opp_id
        return {d.node: (d.lane, d.colour, d.state) for d in account.dots}, account

    due = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    contract = {"contract_approval_submitted": ("contract", "green", "done"),
                "legal_review": ("contract", "green", "done"), "contract_scan": ("contract", "green", "done"),
                "technical_agreement": ("contract", "green", "done"),
                "payment_commitment": ("contract", "red", "skipped"),
                "legal_archive": ("contract", "green", "done")}
    ahead = {"kickoff_meeting_scheduled": ("delivery", "grey", "not_reached"),
             "kickoff_minutes": ("delivery", "grey", "not_reached"),
             "delivery_plan": ("delivery", "grey", "not_reached"), "acceptance": ("service", "grey", "not_reached")}
    dots, account = await line(due - 30 * H)  # 30 h left
    assert dots == {**contract, "delivery_scheduling": ("delivery", "yellow", "open"), **ahead}
    assert list(dots) == ["contract_approval_submitted", "legal_review", "contract_scan", "technical_agreement",
                          "payment_commitment", "legal_archive", "delivery_scheduling", *ahead]  # playbook order
    scheduling = next(d for d in account.dots if d.node == "delivery_scheduling")
    assert scheduling.due_at == due and scheduling.hours_left == 30.0
    dots, _ = await line(due - 24 * H)  # exactly 24 h left: due soon
    assert dots["delivery_scheduling"] == ("delivery", "yellow", "due_soon")
    dots, account = await line(due + 8 * H)
    assert dots["delivery_scheduling"] == ("delivery", "red", "overdue")
    assert next(d for d in account.dots if d.node == "delivery_scheduling").hours_left == -8.0
    # the rep writes the delivery date: done
    await Opportunity.update({Opportunity.fields: {"contract_no": "HT-1", "archive_no": "FW-1",
                                                   "delivery_date": "2026-12-10"}}).where(Opportunity.id == opp_id).run()
    dots, _ = await line(due + 8 * H)
    assert dots["delivery_scheduling"] == ("delivery", "green", "done")
    # the open deal is lost: the won one is shown, every node behind it (missing files: skipped)
    await Opportunity.update({Opportunity.status: "lost", Opportunity.stage: "lost"}).where(
        Opportunity.id == opp_id).run()
    [account] = await board_q.key_accounts(pb, team_a, SHANGHAI, due)
    assert account.opportunity.id == won.json()["id"]
    assert {d.state for d in account.dots} == {"skipped"}
