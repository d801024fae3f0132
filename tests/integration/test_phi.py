"""The Process Health Index through the API on a hand-built dataset: numbers, scopes, rankings, the deals behind
each number, daily snapshots and the weekly trend."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server import jobs
from server.tables import Opportunity, PhiSnapshot, StageTransition, Team

from tests.integration.helpers import make_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = timedelta(days=1)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _deal(client, org, who, name, moves, contacted_days_ago=None):
    """An opportunity of `who` as if it had entered each (stage, days ago) of `moves` in turn (the first is
    initial contact), last contacted N days ago (None: never)."""
    c = (await client.post("/api/v1/customers", json={"name": name}, headers=org.auth(who))).json()
    resp = await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": f"{name}项目"},
                             headers=org.auth(who))
    assert resp.status_code == 201, resp.text
    opp = resp.json()
    now = datetime.now(timezone.utc)
    previous = None
    for stage, days_ago in moves:
        await StageTransition.insert(StageTransition(opportunity=opp["id"], user=org.ids[who], from_stage=previous,
                                                     to_stage=stage, at=now - days_ago * D)).run()
        previous = stage
    await Opportunity.update({Opportunity.stage: previous, Opportunity.stage_entered_at: now - moves[-1][1] * D}).where(
        Opportunity.id == opp["id"]).run()
    if contacted_days_ago is not None:
        resp = await client.post("/api/v1/activities", headers=org.auth(who), json={
            "customer_id": c["id"], "kind": "call", "occurred_at": (now - contacted_days_ago * D).isoformat()})
        assert resp.status_code == 201, resp.text
    return opp


@pytest.fixture
async def dataset(client):
    """Transition days: 宁波 4, 苏州 8, 杭州 1 (its first arrival counts), 南通 35 days ago (outside the window),
    深圳 6 (skipped solution confirmed: reaching a later stage counts). Files: 宁波 1/1 present, 苏州 0/1, 杭州 0/1,
    南通 0/2, 深圳 0/1, 无锡 none required. Silent: 苏州 (6 d > 5), 南通 (9 d > 5)."""
    org = await make_org()
    deals = {
        "宁波": await _deal(client, org, "rep_a1", "宁波", [("initial_contact", 10), ("solution_confirmed", 6)], 2),
        "苏州": await _deal(client, org, "rep_a1", "苏州", [("initial_contact", 20), ("needs_analysis", 15),
                                                           ("solution_confirmed", 12), ("price_comparison", 7)], 6),
        "杭州": await _deal(client, org, "rep_a1", "杭州", [("initial_contact", 5), ("solution_confirmed", 4),
                                                           ("needs_analysis", 3), ("solution_confirmed", 1)], 1),
        "无锡": await _deal(client, org, "rep_a1", "无锡", [("initial_contact", 0)]),
        "南通": await _deal(client, org, "rep_a2", "南通", [("initial_contact", 40), ("solution_confirmed", 35),
                                                           ("contract_approval", 30)], 9),
        "深圳": await _deal(client, org, "rep_b1", "深圳", [("initial_contact", 9), ("price_comparison", 3)], 4),
    }
    up = await client.post(f"/api/v1/opportunities/{deals['宁波']['id']}/attachments", headers=org.auth("rep_a1"),
                           data={"material": "tech_confirmation_letter"},
                           files={"file": ("letter.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    return org, deals


async def _phi(client, org, who, **params):
    resp = await client.get("/api/v1/phi", params=params, headers=org.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _behind(client, org, who, metric, **params):
    return await client.get("/api/v1/phi/opportunities", params={"metric": metric, **params}, headers=org.auth(who))


async def test_a_reps_own_three_numbers_and_score(client, dataset):
    org, _ = dataset
    me = await _phi(client, org, "rep_a1")
    # (4 + 8 + 1) / 3 = 4.33 days; 1 of 3 files; 1 of 4 open deals silent
    assert (me["stage_transition_days"], me["material_completeness"], me["silent_rate"]) == (4.33, 0.3333, 0.25)
    assert me["counts"] == {"transitions": 3, "transition_days": 13.0, "required": 3, "present": 1, "open": 4,
                            "silent": 1}
    assert me["thresholds"] == {"stage_transition_days": 5.2, "material_completeness": 0.94, "silent_rate": 0.085}
    assert me["healthy"] == {"stage_transition_days": True, "material_completeness": False, "silent_rate": False,
                             "all": False}
    # 100; 0.3333 / 0.94 → 35.5; 0.085 / 0.25 → 34.0; mean 56.5
    assert me["sub_scores"] == {"stage_transition_days": 100.0, "material_completeness": 35.5, "silent_rate": 34.0}
    assert me["score"] == 56.5
    assert me["scope"] == "me" and me["teams"] == [] and me["reps"] == []
    assert len(me["weekly"]) == 8
    assert (me["weekly"][-1]["material_completeness"], me["weekly"][-1]["silent_rate"]) == (0.3333, 0.25)


async def test_team_and_organisation_numbers_and_rankings(client, dataset):
    org, _ = dataset
    team_a = await _phi(client, org, "mgr_a", scope="team")
    # 南通's arrival is outside the window; its two files and its silence count
    assert (team_a["stage_transition_days"], team_a["material_completeness"], team_a["silent_rate"]) == (4.33, 0.2, 0.4)
    assert [r["name"] for r in team_a["reps"]] == ["REP_A1", "REP_A2"]  # 56.5, then 南通's rep with 0 of 2 files
    assert team_a["reps"][1]["score"] == pytest.approx((0 + 100 * 0.085 / 1.0) / 2, abs=0.1)

    company = await _phi(client, org, "mgr_a", scope="org")
    # (4 + 8 + 1 + 6) / 4 = 4.75; 1 of 6 files; 2 of 6 silent
    assert (company["stage_transition_days"], company["material_completeness"], company["silent_rate"]) == (
        4.75, 0.1667, 0.3333)
    teams = {t["name"]: t for t in company["teams"]}
    assert set(teams) == {"Team A", "Team B"}
    assert teams["Team B"]["stage_transition_days"] == 6.0 and teams["Team B"]["silent_rate"] == 0.0
    assert [t["name"] for t in company["teams"]] == sorted(teams, key=lambda n: -teams[n]["score"])

    team_b = await _phi(client, org, "admin", scope="team", team_id=teams["Team B"]["id"])
    assert (team_b["stage_transition_days"], team_b["material_completeness"], team_b["silent_rate"]) == (6.0, 0.0, 0.0)


async def test_who_may_ask_for_what(client, dataset):
    org, _ = dataset
    for params in ({"scope": "team"}, {"scope": "org"}):
        resp = await client.get("/api/v1/phi", params=params, headers=org.auth("rep_a1"))
        assert resp.status_code == 403 and "ask for scope=me" in resp.json()["detail"]
    team_b = await Team.select(Team.id).where(Team.name == "Team B").first().run()
    resp = await client.get("/api/v1/phi", params={"scope": "team", "team_id": str(team_b["id"])},
                            headers=org.auth("mgr_a"))
    assert resp.status_code == 404
    resp = await _behind(client, org, "mgr_a", "silent_rate", scope="org")
    assert resp.status_code == 403 and resp.json()["detail"] == (
        "The deals behind the organisation's numbers are listed for admins; ask for scope=team.")
    resp = await client.get("/api/v1/phi", params={"from": "2026-11-20", "to": "2026-11-01"},
                            headers=org.auth("rep_a1"))
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_window"
    for params in ({"from": "0001-01-01", "to": "0001-01-02"}, {"to": "0001-01-01"}, {"to": "9999-12-31"}):
        for path in ("/api/v1/phi", "/api/v1/phi/opportunities"):  # was a 500 (OverflowError)
            resp = await client.get(path, params={**params, "metric": "silent_rate"}, headers=org.auth("rep_a1"))
            assert resp.status_code in (200, 422), (path, params, resp.text)
            assert resp.status_code == 200 or resp.json()["code"] == "invalid_window"
    resp = await client.get("/api/v1/phi", params={"scope": "all"}, headers=org.auth("rep_a1"))
    assert resp.status_code == 400 and "(field scope)" in resp.json()["detail"]
    resp = await _behind(client, org, "rep_a1", "speed")
    assert resp.status_code == 400


async def test_the_deals_behind_each_number(client, dataset):
    org, deals = dataset
    resp = await _behind(client, org, "rep_a1", "stage_transition_days")
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert [(i["title"], i["days"], i["counted"]) for i in page["items"]] == [
        ("苏州项目", 8.0, True), ("宁波项目", 4.0, False), ("杭州项目", 1.0, False)]
    assert (page["value"], page["numerator"], page["denominator"], page["total"]) == (4.33, 13.0, 3, 3)

    page = (await _behind(client, org, "mgr_a", "material_completeness", scope="team")).json()
    missing = [(i["title"], i["missing"]) for i in page["items"]]  # the most missing first
    assert missing[0] == ("南通项目", ["stamped_contract_draft", "legal_opinion"])
    assert sorted(missing[1:3]) == [("杭州项目", ["tech_confirmation_letter"]), ("苏州项目", ["three_party_quotation"])]
    assert missing[3] == ("宁波项目", [])
    assert (page["numerator"], page["denominator"], page["total"]) == (1, 5, 4)
    assert page["items"][-1]["required"] == ["tech_confirmation_letter"] and page["items"][-1]["counted"] is False

    page = (await _behind(client, org, "mgr_a", "silent_rate", scope="team")).json()
    assert [(i["title"], i["counted"], i["days_silent"], i["threshold_days"]) for i in page["items"][:2]] == [
        ("南通项目", True, 9, 5), ("苏州项目", True, 6, 5)]
    assert sorted(i["title"] for i in page["items"][2:]) == ["宁波项目", "无锡项目", "杭州项目"]
    assert (page["value"], page["numerator"], page["denominator"]) == (0.4, 2, 5)
    assert "深圳项目" not in [i["title"] for i in page["items"]]  # another team's deal

    everyone = (await _behind(client, org, "admin", "silent_rate", scope="org")).json()
    assert everyone["total"] == 6 and everyone["numerator"] == 2


async def test_daily_snapshots_feed_the_trend_and_past_windows(client, settings, dataset):
    org, _ = dataset
    deps = jobs.Deps.build(settings)
    week_ago = datetime.now(timezone.utc) - 7 * D
    assert dict(await jobs.run_once(week_ago, deps))["phi_snapshot"] == "recorded 3 owner/team groups"
    assert dict(await jobs.run_once(week_ago + timedelta(minutes=30), deps))["phi_snapshot"] == \
        "recorded less than an hour ago"
    assert dict(await jobs.run_once(week_ago + timedelta(hours=2), deps))["phi_snapshot"].startswith("recorded 3")
    assert await PhiSnapshot.count().run() == 3  # one row per day and group: the rerun updated them

    me = await _phi(client, org, "rep_a1")
    last_week = me["weekly"][-2]
    # a week ago none of the contacts had happened yet, and no deal was past its threshold
    assert (last_week["material_completeness"], last_week["silent_rate"]) == (0.3333, 0.0)
    assert [w["material_completeness"] for w in me["weekly"][:-2]] == [None] * 6

    day = week_ago.astimezone(SHANGHAI).date()
    past = await _phi(client, org, "rep_a1", to=day.isoformat())
    assert past["stocks_as_of"] == day.isoformat()
    assert (past["material_completeness"], past["silent_rate"]) == (0.3333, 0.0)
    assert (past["stage_transition_days"], past["counts"]["transitions"]) == (8.0, 1)  # only 苏州 had arrived
