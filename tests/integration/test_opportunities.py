"""Opportunities: the responsibility map, fields, and gated transitions (before file upload lands)."""

import asyncio

from server.tables import Attachment, AuditLog, StageTransition

from tests.integration.helpers import make_org


async def _opp(client, org, who="rep_a1"):
    c = (await client.post("/api/v1/customers", json={"name": "杭州智链", "phone": "13812345678"},
                           headers=org.auth(who))).json()
    resp = await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": "仓储升级",
                                                            "amount": 880000}, headers=org.auth(who))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _move(client, org, opp_id, to, who="rep_a1", **extra):
    return await client.post(f"/api/v1/opportunities/{opp_id}/transition", json={"to": to, **extra},
                             headers=org.auth(who))


async def test_new_opportunity_starts_in_the_first_stage_with_the_whole_map(client):
    org = await make_org()
    opp = await _opp(client, org)
    assert (opp["stage"], opp["substate"], opp["status"]) == ("initial_contact", None, "open")
    assert len(opp["nodes"]) == 19
    statuses = {n["key"]: n["status"] for n in opp["nodes"]}
    assert statuses["first_contact"] == "pending" and statuses["tech_confirmation"] == "ahead"
    first = next(n for n in opp["nodes"] if n["key"] == "first_contact")
    assert first["executor_user_id"] == org.ids["rep_a1"] and first["supervisor_user_id"] == org.ids["mgr_a"]
    assert first["due_at"] is not None
    assert await StageTransition.count().run() == 1
    hidden = await client.get(f"/api/v1/opportunities/{opp['id']}", headers=org.auth("rep_a2"))
    assert hidden.status_code == 404
    listed = (await client.get("/api/v1/opportunities", params={"stage": "initial_contact"},
                               headers=org.auth("mgr_a"))).json()
    assert [o["id"] for o in listed["items"]] == [opp["id"]]
    assert (await client.get("/api/v1/opportunities", headers=org.auth("rep_b1"))).json()["items"] == []


async def test_gate_blocks_with_missing_items_then_opens(client):
    org = await make_org()
    opp = await _opp(client, org)
    blocked = await _move(client, org, opp["id"], "needs_analysis")
    assert blocked.status_code == 409
    err = blocked.json()
    assert err["code"] == "gate_blocked"
    missing = err["extra"]["missing"]
    assert {"node": "decision_maker_identified", "field": "decision_maker", "owner_user_id": org.ids["rep_a1"],
            "owner_role": "owner"} in missing
    assert any(m.get("action") == "activity" for m in missing)
    assert await AuditLog.count().where(AuditLog.action == "gate.blocked").run() == 1
    await client.post("/api/v1/activities", json={"customer_id": opp["customer_id"], "kind": "call"},
                      headers=org.auth("rep_a1"))
    patched = await client.patch(f"/api/v1/opportunities/{opp['id']}", json={"fields": {"decision_maker": "王总"}},
                                 headers=org.auth("rep_a1"))
    assert patched.status_code == 200 and patched.json()["blocking"] == []
    moved = await _move(client, org, opp["id"], "needs_analysis")
    assert moved.status_code == 200 and moved.json()["stage"] == "needs_analysis"
    log = await StageTransition.select().order_by(StageTransition.at).run()
    assert [(r["from_stage"], r["to_stage"]) for r in log] == [(None, "initial_contact"),
                                                                ("initial_contact", "needs_analysis")]


async def test_present_material_counts_for_the_gate(client):
    org = await make_org()
    opp = await _opp(client, org)
    for to in ("needs_analysis", "solution_confirmed"):
        assert (await _move(client, org, opp["id"], to, who="admin", override=True, reason="演示")).status_code == 200
    blocked = await _move(client, org, opp["id"], "price_comparison")
    assert [m["material"] for m in blocked.json()["extra"]["missing"]] == ["tech_confirmation_letter"]
    await Attachment.insert(Attachment(opportunity=opp["id"], material="tech_confirmation_letter",
                                       filename="letter.pdf", content_type="application/pdf", size=10,
                                       object_key=f"t/{opp['id']}/1", status="present",
                                       uploaded_by=org.ids["rep_a1"])).run()
    assert (await _move(client, org, opp["id"], "price_comparison")).status_code == 200


async def test_override_is_admin_only_needs_a_reason_and_is_audited(client):
    org = await make_org()
    opp = await _opp(client, org)
    rep = await _move(client, org, opp["id"], "needs_analysis", override=True, reason="急")
    assert rep.status_code == 403
    no_reason = await _move(client, org, opp["id"], "needs_analysis", who="admin", override=True)
    assert no_reason.status_code == 422
    ok = await _move(client, org, opp["id"], "needs_analysis", who="admin", override=True, reason="客户高层拍板")
    assert ok.status_code == 200
    row = await StageTransition.select().where(StageTransition.to_stage == "needs_analysis").first().run()
    assert row["override"] is True and row["reason"] == "客户高层拍板"
    assert await AuditLog.count().where(AuditLog.action == "gate.override").run() == 1


async def test_back_and_lost_need_reasons_and_won_is_final(client):
    org = await make_org()
    opp = await _opp(client, org)
    await _move(client, org, opp["id"], "needs_analysis", who="admin", override=True, reason="x")
    back = await _move(client, org, opp["id"], "initial_contact")
    assert back.status_code == 422 and back.json()["code"] == "invalid_transition"
    assert (await _move(client, org, opp["id"], "initial_contact", reason="重新接触")).status_code == 200
    skip = await _move(client, org, opp["id"], "signed")
    assert skip.status_code == 422
    lost = await _move(client, org, opp["id"], "lost", reason="预算取消")
    assert lost.status_code == 200 and lost.json()["status"] == "lost" and lost.json()["lost_reason"] == "预算取消"
    again = await _move(client, org, opp["id"], "initial_contact", reason="复活")
    assert again.status_code == 422


async def test_two_concurrent_transitions_exactly_one_wins(client):
    org = await make_org()
    opp = await _opp(client, org)
    results = await asyncio.gather(
        _move(client, org, opp["id"], "needs_analysis", who="admin", override=True, reason="a"),
        _move(client, org, opp["id"], "needs_analysis", who="admin", override=True, reason="b"),
    )
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200 and codes[1] in (409, 422), [r.text for r in results]
    assert await StageTransition.count().run() == 2


async def test_patch_refuses_unknown_fields(client):
    org = await make_org()
    opp = await _opp(client, org)
    resp = await client.patch(f"/api/v1/opportunities/{opp['id']}", json={"fields": {"shoe_size": "42"}},
                              headers=org.auth("rep_a1"))
    assert resp.status_code == 422 and resp.json()["code"] == "unknown_field"
