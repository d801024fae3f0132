"""Every record endpoint × role × ownership: a record outside your scope does not exist for you.

Records: a customer owned by rep_a1 (team A) with an opportunity on which
presales collaborates, and a customer owned by rep_b1 (team B).
"""

import pytest

from server.tables import Opportunity, OpportunityCollaborator

from tests.integration.helpers import make_org
from tests.unit.test_filetypes import PDF

ATTACHMENT: dict[str, str] = {}

# who: (sees customer of rep_a1, sees customer of rep_b1)
EXPECTED = {
    "admin": (True, True),
    "mgr_a": (True, False),
    "rep_a1": (True, False),
    "rep_a2": (False, False),
    "mgr_b": (False, True),
    "rep_b1": (False, True),
    "presales": (True, False),  # collaborates on an opportunity of that customer
}


@pytest.fixture
async def world(client):
    org = await make_org()
    a = (await client.post("/api/v1/customers", json={"name": "甲客户", "phone": "13800000001"},
                           headers=org.auth("rep_a1"))).json()
    b = (await client.post("/api/v1/customers", json={"name": "乙客户", "phone": "13800000002"},
                           headers=org.auth("rep_b1"))).json()
    opp = Opportunity(customer=a["id"], title="甲项目", owner=org.ids["rep_a1"], team=a["team_id"],
                      stage="initial_contact")
    await Opportunity.insert(opp).run()
    await OpportunityCollaborator.insert(OpportunityCollaborator(opportunity=opp.id, user=org.ids["presales"],
                                                                 role="presales")).run()
    up = await client.post(f"/api/v1/opportunities/{opp.id}/attachments", headers=org.auth("rep_a1"),
                           files={"material": (None, "contract_scan"), "file": ("a.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    ATTACHMENT[str(opp.id)] = up.json()["id"]
    return org, a, b, str(opp.id)


async def _probe(client, auth, customer_id, opp_id):
    """What each endpoint reveals about one customer: a dict endpoint -> visible?"""
    out = {}
    r = await client.get(f"/api/v1/customers/{customer_id}", headers=auth)
    assert r.status_code in (200, 404)
    out["get"] = r.status_code == 200
    r = await client.get(f"/api/v1/customers/{customer_id}/activities", headers=auth)
    assert r.status_code in (200, 404)
    out["activities"] = r.status_code == 200
    r = await client.get("/api/v1/customers", params={"limit": 100}, headers=auth)
    out["list"] = customer_id in [c["id"] for c in r.json()["items"]]
    r = await client.get("/api/v1/customers", params={"q": "客户"}, headers=auth)
    out["search"] = customer_id in [c["id"] for c in r.json()["items"]]
    r = await client.post("/api/v1/activities", json={"customer_id": customer_id, "kind": "call"}, headers=auth)
    assert r.status_code in (201, 404)
    out["log_activity"] = r.status_code == 201
    if opp_id:
        r = await client.post("/api/v1/activities", json={"customer_id": customer_id, "kind": "note",
                                                          "opportunity_id": opp_id}, headers=auth)
        assert r.status_code in (201, 404)
        out["log_on_opportunity"] = r.status_code == 201
        r = await client.get(f"/api/v1/opportunities/{opp_id}", headers=auth)
        assert r.status_code in (200, 404)
        out["get_opportunity"] = r.status_code == 200
        r = await client.get("/api/v1/opportunities", params={"limit": 100}, headers=auth)
        out["list_opportunities"] = opp_id in [o["id"] for o in r.json()["items"]]
        r = await client.patch(f"/api/v1/opportunities/{opp_id}", json={"title": "改名"}, headers=auth)
        assert r.status_code in (200, 404)
        out["patch_opportunity"] = r.status_code == 200
        r = await client.get(f"/api/v1/opportunities/{opp_id}/attachments", headers=auth)
        assert r.status_code in (200, 404)
        out["list_attachments"] = r.status_code == 200
        r = await client.get(f"/api/v1/attachments/{ATTACHMENT[opp_id]}/download", headers=auth)
        assert r.status_code in (302, 404)
        out["download"] = r.status_code == 302
        r = await client.post(f"/api/v1/opportunities/{opp_id}/attachments", headers=auth,
                              files={"material": (None, "contract_scan"), "file": ("a.pdf", PDF, "application/pdf")})
        assert r.status_code in (201, 404)
        out["upload"] = r.status_code == 201
        r = await client.post(f"/api/v1/opportunities/{opp_id}/transition", json={"to": "lost", "reason": "x"},
                              headers=auth | {"Idempotency-Key": "probe"})
        assert r.status_code in (200, 404, 422)
        out["transition"] = r.status_code in (200, 422)
    return out


@pytest.mark.parametrize("who", list(EXPECTED))
async def test_access_matrix_every_endpoint_role_and_ownership(client, world, who):
    org, a, b, opp_id = world
    sees_a, sees_b = EXPECTED[who]
    got_a = await _probe(client, org.auth(who), a["id"], opp_id)
    got_b = await _probe(client, org.auth(who), b["id"], None)
    assert got_a == {k: sees_a for k in got_a}, f"{who} on rep_a1's customer"
    assert got_b == {k: sees_b for k in got_b}, f"{who} on rep_b1's customer"


async def test_anonymous_sees_nothing(client, world):
    _, a, _, _ = world
    for method, path in [("GET", f"/api/v1/customers/{a['id']}"), ("GET", "/api/v1/customers"),
                         ("GET", "/api/v1/me"), ("POST", "/api/v1/activities"), ("POST", "/api/v1/customers"),
                         ("GET", f"/api/v1/customers/{a['id']}/activities")]:
        resp = await client.request(method, path, json={} if method == "POST" else None)
        assert resp.status_code == 401, path
        assert resp.json()["code"] == "not_authenticated"


async def test_customer_pages_follow_the_same_rules(client, world):
    org, a, b, _ = world
    ok = await client.get(f"/customers/{a['id']}", headers=org.auth("rep_a1"))
    assert ok.status_code == 200 and "甲客户" in ok.text
    hidden = await client.get(f"/customers/{b['id']}", headers=org.auth("rep_a1"))
    assert hidden.status_code == 404 and "乙客户" not in hidden.text
    listing = await client.get("/customers", headers=org.auth("rep_a1"))
    assert "甲客户" in listing.text and "乙客户" not in listing.text
