"""Contributions with evidence, heat maps and shares of progress, and the daily three-things check-in."""

from datetime import datetime, timezone
from pathlib import Path

from server import jobs
from server.tables import Alert, Contribution, OpportunityCollaborator

from tests.integration.helpers import make_org

PNG = (Path(__file__).resolve().parents[2] / "pwa" / "static" / "icons" / "icon-192.png").read_bytes()
PEOPLE = {
    "admin": (("admin",), None, None),
    "mgr_a": (("manager",), "Team A", None),
    "rep_a1": (("rep",), "Team A", "mgr_a"),
    "rep_a2": (("rep",), "Team A", "mgr_a"),
    "presales_a": (("presales",), "Team A", "mgr_a"),
    "rep_b1": (("rep",), "Team B", None),
}


async def _deal(client, org, settings):
    c = (await client.post("/api/v1/customers", json={"name": "常州新材"}, headers=org.auth("rep_a1"))).json()
    opp = (await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": "涂布线"},
                             headers=org.auth("rep_a1"))).json()
    return opp


async def _evidence(client, org, who):
    resp = await client.post("/api/v1/evidence", headers=org.auth(who), files={"file": ("poc.png", PNG, "image/png")})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_presales_joins_when_a_node_names_them_and_records_a_contribution_with_evidence(client, settings):
    org = await make_org(PEOPLE)
    opp = await _deal(client, org, settings)
    assert (await client.get(f"/api/v1/opportunities/{opp['id']}", headers=org.auth("presales_a"))).status_code == 404
    # needs analysis names role:presales; the deadline job plans it and enlists the team's presales engineer
    await client.post(f"/api/v1/opportunities/{opp['id']}/transition", headers=org.auth("admin"),
                      json={"to": "needs_analysis", "override": True, "reason": "演示"})
    await jobs.run_once(datetime.now(timezone.utc), jobs.Deps.build(settings))
    assert await OpportunityCollaborator.count().where(OpportunityCollaborator.user == org.ids["presales_a"]).run() == 1
    evidence = await _evidence(client, org, "presales_a")
    assert evidence["material"] == "evidence" and evidence["content_type"] == "image/png"
    resp = await client.post(f"/api/v1/opportunities/{opp['id']}/contributions", headers=org.auth("presales_a"),
                             json={"kind": "tech_demo", "note": "现场演示视觉检测", "attachment_id": evidence["id"]})
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert (made["role"], made["kind_name"], made["stage"]) == ("presales", "完成技术演示", "needs_analysis")
    # the evidence opens for the people who see the deal, not for anyone else
    for who, status in (("presales_a", 302), ("rep_a1", 302), ("mgr_a", 302), ("rep_b1", 404), ("rep_a2", 404)):
        got = await client.get(f"/api/v1/attachments/{evidence['id']}/download", headers=org.auth(who))
        assert got.status_code == status, (who, got.status_code)


async def test_contribution_rules(client, settings):
    org = await make_org(PEOPLE)
    opp = await _deal(client, org, settings)
    url = f"/api/v1/opportunities/{opp['id']}/contributions"
    bad_kind = await client.post(url, headers=org.auth("rep_a1"), json={"kind": "magic", "note": "x"})
    assert bad_kind.status_code == 422 and bad_kind.json()["code"] == "unknown_kind"
    outsider = await client.post(url, headers=org.auth("rep_b1"), json={"kind": "tech_demo", "note": "x"})
    assert outsider.status_code == 404
    someone_elses = await _evidence(client, org, "rep_a2")
    stolen = await client.post(url, headers=org.auth("rep_a1"),
                               json={"kind": "tech_demo", "note": "x", "attachment_id": someone_elses["id"]})
    assert stolen.status_code == 422 and stolen.json()["code"] == "invalid_attachment"
    pdf_named_png = await client.post("/api/v1/evidence", headers=org.auth("rep_a1"),
                                      files={"file": ("x.png", b"MZ\x90\x00 not an image", "image/png")})
    assert pdf_named_png.status_code == 415
    assert await Contribution.count().run() == 0


async def test_heat_map_counts_and_share_of_progress(client, settings):
    org = await make_org(PEOPLE)
    opp = await _deal(client, org, settings)
    url = f"/api/v1/opportunities/{opp['id']}/contributions"
    for who, kind in (("rep_a1", "logistics_solved"), ("rep_a1", "sample_shipped"), ("mgr_a", "contract_reviewed")):
        assert (await client.post(url, headers=org.auth(who), json={"kind": kind, "note": "记录"})).status_code == 201
    await client.post(f"/api/v1/opportunities/{opp['id']}/transition", headers=org.auth("admin"),
                      json={"to": "needs_analysis", "override": True, "reason": "演示"})
    await jobs.run_once(datetime.now(timezone.utc), jobs.Deps.build(settings))
    await client.post(url, headers=org.auth("presales_a"), json={"kind": "solution_written", "note": "方案"})
    heat = (await client.get(url, headers=org.auth("mgr_a"))).json()["heat"]
    assert heat["roles"] == ["presales", "rep", "manager"]
    col = heat["stages"].index
    assert heat["counts"][heat["roles"].index("rep")][col("initial_contact")] == 2
    assert heat["counts"][heat["roles"].index("presales")][col("needs_analysis")] == 1
    assert heat["total"] == 4
    assert heat["share_by_role"] == {"presales": 0.25, "rep": 0.5, "manager": 0.25}
    # the three first-stage contributions preceded the move forward; the presales one has not (yet)
    assert heat["progress_share_by_role"] == {"presales": 0.0, "rep": 0.6667, "manager": 0.3333}
    team = (await client.get("/api/v1/contributions/heat", params={"scope": "team"}, headers=org.auth("mgr_a"))).json()
    assert team["total"] == 4
    other = (await client.get("/api/v1/contributions/heat", params={"scope": "team"}, headers=org.auth("rep_b1"))).json()
    assert other["total"] == 0
    org_wide = await client.get("/api/v1/contributions/heat", params={"scope": "org"}, headers=org.auth("mgr_a"))
    assert org_wide.status_code == 403


async def test_daily_checkin_support_request_reaches_the_colleague_once(client, settings):
    org = await make_org(PEOPLE)
    shot = await _evidence(client, org, "rep_a1")
    body = {"done": ["拜访常州新材", "提交报价"], "tomorrow": ["合同盖章"],
            "support": [{"user_id": org.ids["presales_a"], "text": "明天上午需要远程演示"}],
            "attachment_ids": [shot["id"]]}
    first = await client.put("/api/v1/checkins/today", json=body, headers=org.auth("rep_a1"))
    assert first.status_code == 200, first.text
    saved = first.json()
    assert saved["done"] == ["拜访常州新材", "提交报价"] and saved["support"][0]["user_name"] == "PRESALES_A"
    again = await client.put("/api/v1/checkins/today", json={**body, "tomorrow": ["合同盖章", "催款"]},
                             headers=org.auth("rep_a1"))
    assert again.json()["id"] == saved["id"] and again.json()["tomorrow"] == ["合同盖章", "催款"]
    inbox = (await client.get("/api/v1/inbox", headers=org.auth("presales_a"))).json()["items"]
    assert [(i["kind"], i["title"], i["body"]) for i in inbox] == [("support", "REP_A1 请求支持", "明天上午需要远程演示")]
    assert await Alert.count().where(Alert.kind == "support").run() == 1
    myself = await client.put("/api/v1/checkins/today", headers=org.auth("rep_a1"),
                              json={"support": [{"user_id": org.ids["rep_a1"], "text": "帮帮我"}]})
    assert myself.status_code == 422 and myself.json()["code"] == "unknown_colleague"
    team = (await client.get("/api/v1/checkins/team", headers=org.auth("mgr_a"))).json()
    assert [i["user_name"] for i in team["items"]] == ["REP_A1"]
    assert sorted(m["user_name"] for m in team["missing"]) == ["PRESALES_A", "REP_A2"]
    assert (await client.get("/api/v1/checkins/team", headers=org.auth("rep_a1"))).status_code == 403
    assert (await client.get("/api/v1/checkins/today", headers=org.auth("rep_a2"))).json() is None


async def test_support_request_naming_something_that_is_not_a_colleague_is_a_422(client):
    org = await make_org(PEOPLE)
    for who in ("zzz", "00000000-0000-0000-0000-000000000000"):
        resp = await client.put("/api/v1/checkins/today", headers=org.auth("rep_a1"),
                                json={"support": [{"user_id": who, "text": "帮忙"}]})
        assert resp.status_code == 422 and resp.json()["code"] == "unknown_colleague", resp.text
