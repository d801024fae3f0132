"""The playbook editor: drafts, review (problems, diff, impact), publish, versions kept, restore,
file import/export, and a version published in one process reaching another."""

import copy

import httpx
import msgspec
import yaml

from server.app import create_app
from server.playbook_loader import DEFAULT_PLAYBOOK
from server.queries import playbooks
from server.tables import Attachment, AuditLog, Opportunity, PlaybookVersion, StageTransition

from tests.conftest import running
from tests.integration.helpers import make_org

API = "/api/v1/admin/playbook"


async def _opp_at_solution_confirmed(client, org, *, letter: bool) -> dict:
    c = (await client.post("/api/v1/customers", headers=org.auth("rep_a1"), json={"name": "苏州精工"})).json()
    opp = (await client.post("/api/v1/opportunities", headers=org.auth("rep_a1"),
                             json={"customer_id": c["id"], "title": "二期产线"})).json()
    for to in ("needs_analysis", "solution_confirmed"):
        moved = await client.post(f"/api/v1/opportunities/{opp['id']}/transition", headers=org.auth("admin"),
                                  json={"to": to, "override": True, "reason": "测试"})
        assert moved.status_code == 200, moved.text
    if letter:
        await Attachment.insert(Attachment(opportunity=opp["id"], material="tech_confirmation_letter",
                                           filename="letter.pdf", content_type="application/pdf", size=10,
                                           object_key=f"t/{opp['id']}/1", status="present",
                                           uploaded_by=org.ids["rep_a1"])).run()
    return opp


def _node(document: dict, stage: str, node: str) -> dict:
    st = next(s for s in document["stages"] if s["key"] == stage)
    return next(n for n in st["nodes"] if n["key"] == node)


async def _draft(client, org) -> dict:
    resp = await client.post(f"{API}/drafts", headers=org.auth("admin"), json={})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_the_file_is_version_1_and_opportunities_record_the_version_that_judged_them(client):
    org = await make_org()
    listing = (await client.get(f"{API}/versions", headers=org.auth("admin"))).json()
    assert listing["active"] == 1 and [(v["number"], v["source"]) for v in listing["versions"]] == [(1, "file")]
    assert listing["versions"][0]["label"] == "2026.1" and listing["drafts"] == []
    opp = await _opp_at_solution_confirmed(client, org, letter=False)
    got = (await client.get(f"/api/v1/opportunities/{opp['id']}", headers=org.auth("rep_a1"))).json()
    assert got["playbook_version"] == "1"
    rows = await StageTransition.select(StageTransition.playbook_version).where(
        StageTransition.opportunity == opp["id"]).run()
    assert {r["playbook_version"] for r in rows if r["playbook_version"] is not None} == {1}


async def test_adding_a_required_material_shows_the_diff_and_impact_and_publishing_closes_the_gate(client):
    org = await make_org()
    ready = await _opp_at_solution_confirmed(client, org, letter=True)
    draft = await _draft(client, org)
    assert draft["review"]["valid"] and draft["review"]["changes"] == [] and draft["based_on"] == 1
    doc = copy.deepcopy(draft["document"])
    _node(doc, "solution_confirmed", "tech_confirmation")["materials"].append(
        {"key": "customer_po", "name": {"zh": "客户采购意向书", "en": "Customer letter of intent"}, "types": ["pdf"]})
    saved = await client.put(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"), json={"document": doc})
    assert saved.status_code == 200, saved.text
    review = saved.json()["review"]
    assert review["valid"] and review["stranded"] == 0
    assert [(c["path"], c["kind"]) for c in review["changes"]] == [
        ("stages[solution_confirmed].nodes[tech_confirmation].materials[customer_po]", "added")]
    lines = {(line["kind"], line["stage"], line.get("item")): line for line in review["impact"]}
    assert lines[("newly_missing", "solution_confirmed", "customer_po")]["count"] == 1
    blocked = lines[("newly_blocked", "solution_confirmed", None)]
    assert blocked["count"] == 1 and blocked["opportunities"] == [{"id": ready["id"], "title": "二期产线"}]

    before = (await Opportunity.select(Opportunity.facts_rev).where(Opportunity.id == ready["id"]).first().run())
    pub = await client.post(f"{API}/drafts/{draft['id']}/publish", headers=org.auth("admin"),
                            json={"note": "采购意向书必须在方案确认阶段上传", "expected_active": 1})
    assert pub.status_code == 200, pub.text
    assert pub.json()["active"] == 2
    opp = (await client.get(f"/api/v1/opportunities/{ready['id']}", headers=org.auth("rep_a1"))).json()
    assert [m["material"] for m in opp["blocking"]] == ["customer_po"]
    refused = await client.post(f"/api/v1/opportunities/{ready['id']}/transition", headers=org.auth("rep_a1"),
                                json={"to": "price_comparison"})
    assert refused.status_code == 409 and refused.json()["code"] == "gate_blocked"
    after = (await Opportunity.select(Opportunity.facts_rev).where(Opportunity.id == ready["id"]).first().run())
    assert after["facts_rev"] > before["facts_rev"]  # its deadline clocks are planned again
    entry = await AuditLog.select().where(AuditLog.action == "playbook.publish").first().run()
    assert entry["actor_id"] is not None and str(entry["actor_id"]) == org.ids["admin"]
    listing = (await client.get(f"{API}/versions", headers=org.auth("admin"))).json()
    assert [v["number"] for v in listing["versions"]] == [2, 1] and listing["drafts"] == []
    # the draft is now a published version: never edited again
    again = await client.put(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"), json={"document": doc})
    assert again.status_code == 409 and again.json()["code"] == "not_a_draft"


async def test_an_invalid_draft_is_kept_with_its_problems_and_cannot_be_published(client):
    org = await make_org()
    draft = await _draft(client, org)
    doc = copy.deepcopy(draft["document"])
    _node(doc, "signed", "contract_scan")["executor"] = "the boss"
    doc["stages"][1]["silence_days"] = 0
    saved = await client.put(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"), json={"document": doc})
    assert saved.status_code == 200
    review = saved.json()["review"]
    assert not review["valid"]
    paths = [p["path"] for p in review["problems"]]
    assert any("silence_days" in p for p in paths), review["problems"]
    pub = await client.post(f"{API}/drafts/{draft['id']}/publish", headers=org.auth("admin"), json={})
    assert pub.status_code == 422 and pub.json()["code"] == "playbook_invalid"
    assert pub.json()["extra"]["problems"]
    kept = (await client.get(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"))).json()
    assert kept["document"]["stages"][1]["silence_days"] == 0  # nothing the admin typed is lost
    assert (await client.get(f"{API}/versions", headers=org.auth("admin"))).json()["active"] == 1


async def test_a_draft_that_removes_an_occupied_step_is_refused(client):
    org = await make_org()
    await _opp_at_solution_confirmed(client, org, letter=False)
    draft = await _draft(client, org)
    doc = copy.deepcopy(draft["document"])
    doc["stages"] = [s for s in doc["stages"] if s["key"] != "solution_confirmed"]
    doc["phi"]["to_stage"] = "price_comparison"
    review = (await client.put(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"),
                               json={"document": doc})).json()["review"]
    assert review["valid"], review["problems"]
    assert review["stranded"] == 1
    assert ("stages[solution_confirmed]", "removed") in [(c["path"], c["kind"]) for c in review["changes"]]
    pub = await client.post(f"{API}/drafts/{draft['id']}/publish", headers=org.auth("admin"), json={})
    assert pub.status_code == 409 and pub.json()["code"] == "playbook_strands_opportunities"
    assert pub.json()["extra"]["steps"] == ["solution_confirmed"]


async def test_restore_publishes_an_old_version_again_and_stale_reviews_are_refused(client):
    org = await make_org()
    ready = await _opp_at_solution_confirmed(client, org, letter=True)
    draft = await _draft(client, org)
    doc = copy.deepcopy(draft["document"])
    _node(doc, "solution_confirmed", "tech_confirmation")["materials"].append(
        {"key": "customer_po", "name": {"zh": "采购意向书", "en": "Letter of intent"}, "types": ["pdf"]})
    await client.put(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"), json={"document": doc})
    assert (await client.post(f"{API}/drafts/{draft['id']}/publish", headers=org.auth("admin"),
                              json={})).status_code == 200
    stale = await client.post(f"{API}/versions/1/restore", headers=org.auth("admin"), json={"expected_active": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "playbook_changed"
    restored = await client.post(f"{API}/versions/1/restore", headers=org.auth("admin"), json={"expected_active": 2})
    assert restored.status_code == 200 and restored.json()["active"] == 3
    v1 = (await client.get(f"{API}/versions/1", headers=org.auth("admin"))).json()
    v3 = (await client.get(f"{API}/versions/3", headers=org.auth("admin"))).json()
    assert v3["body"] == v1["body"] and v3["source"] == "restore" and "1" in v3["note"]
    opp = (await client.get(f"/api/v1/opportunities/{ready['id']}", headers=org.auth("rep_a1"))).json()
    assert opp["blocking"] == []
    moved = await client.post(f"/api/v1/opportunities/{ready['id']}/transition", headers=org.auth("rep_a1"),
                              json={"to": "price_comparison"})
    assert moved.status_code == 200 and moved.json()["playbook_version"] == "3"
    assert await AuditLog.count().where(AuditLog.action == "playbook.restore").run() == 1


async def test_export_is_the_file_and_import_makes_a_draft_and_only_admins_may(client):
    org = await make_org()
    exported = await client.get(f"{API}/versions/1/export", headers=org.auth("admin"))
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.content == DEFAULT_PLAYBOOK.read_bytes()
    imported = await client.post(f"{API}/drafts/import", headers=org.auth("admin"),
                                 files={"file": ("mine.yaml", exported.content, "application/yaml")})
    assert imported.status_code == 201, imported.text
    assert imported.json()["source"] == "import" and imported.json()["review"]["changes"] == []
    broken = exported.content.replace(b"executor: owner", b"executor: [owner", 1)
    bad = await client.post(f"{API}/drafts/import", headers=org.auth("admin"),
                            files={"file": ("bad.yaml", broken, "application/yaml")})
    assert bad.status_code == 201 and not bad.json()["review"]["valid"]
    assert bad.json()["review"]["problems"][0]["line"] is not None  # the line, as `playbook check` says
    binary = await client.post(f"{API}/drafts/import", headers=org.auth("admin"),
                               files={"file": ("x.yaml", b"\xff\xfe\x00\x01", "application/yaml")})
    assert binary.status_code == 422 and binary.json()["code"] == "invalid_encoding"
    assert (await client.post(f"{API}/drafts/import", headers=org.auth("admin"), content=b"  ")).status_code == 422
    for who in ("rep_a1", "mgr_a"):
        assert (await client.get(f"{API}/versions", headers=org.auth(who))).status_code == 403
        assert (await client.post(f"{API}/drafts", headers=org.auth(who), json={})).status_code == 403
        assert (await client.post(f"{API}/versions/1/restore", headers=org.auth(who), json={})).status_code == 403
    assert (await client.get(f"{API}/drafts/999999", headers=org.auth("admin"))).status_code == 404
    both = await client.put(f"{API}/drafts/{imported.json()['id']}", headers=org.auth("admin"),
                            json={"document": {}, "body": "x"})
    assert both.status_code == 422 and both.json()["code"] == "document_or_body"
    deleted = await client.delete(f"{API}/drafts/{imported.json()['id']}", headers=org.auth("admin"))
    assert deleted.status_code == 204


async def test_a_version_published_in_one_process_reaches_another(settings, client, monkeypatch):
    monkeypatch.setattr(playbooks, "REFRESH_SECONDS", 0.0)
    org = await make_org()
    ready = await _opp_at_solution_confirmed(client, org, letter=True)
    other = create_app(settings)
    async with running(other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other.local") as c2:
            assert (await c2.get("/api/v1/playbook", headers=org.auth("rep_a1"))).json()["version"] == "1"
            draft = await _draft(client, org)
            doc = copy.deepcopy(draft["document"])
            _node(doc, "solution_confirmed", "tech_confirmation")["materials"].append(
                {"key": "customer_po", "name": {"zh": "采购意向书", "en": "Letter of intent"}, "types": ["pdf"]})
            await client.put(f"{API}/drafts/{draft['id']}", headers=org.auth("admin"), json={"document": doc})
            assert (await client.post(f"{API}/drafts/{draft['id']}/publish", headers=org.auth("admin"),
                                      json={})).status_code == 200
            assert (await c2.get("/api/v1/playbook", headers=org.auth("rep_a1"))).json()["version"] == "2"
            refused = await c2.post(f"/api/v1/opportunities/{ready['id']}/transition", headers=org.auth("rep_a1"),
                                    json={"to": "price_comparison"})
            assert refused.status_code == 409


async def test_a_changed_playbook_file_is_imported_at_start_and_an_unchanged_one_is_not(settings, tmp_path):
    text = DEFAULT_PLAYBOOK.read_text(encoding="utf-8")
    first = create_app(settings)
    async with running(first):
        assert await PlaybookVersion.count().run() == 1
    again = create_app(settings)
    async with running(again):
        assert await PlaybookVersion.count().run() == 1  # same file: nothing new
    edited = tmp_path / "mine.yaml"
    doc = yaml.safe_load(text)
    doc["version"] = "2026.2"
    doc["silence_days"] = 10
    edited.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    changed = create_app(msgspec.structs.replace(settings, playbook=str(edited)))
    async with running(changed):
        rows = await PlaybookVersion.select(PlaybookVersion.number, PlaybookVersion.label).order_by(
            PlaybookVersion.number).run()
        assert [(r["number"], r["label"]) for r in rows] == [(1, "2026.1"), (2, "2026.2")]
        assert changed.state.playbook.silence_days == 10 and changed.state.playbook.version == "2"
