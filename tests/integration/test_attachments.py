"""Attachments against the real weed S3 server: bytes decide the type, storage decides presence."""

import socket
import urllib.request

import msgspec

from server.tables import Attachment

from tests.conftest import running
from tests.integration.helpers import make_org
from tests.unit.test_filetypes import PDF, PNG

import httpx


async def _opp(client, org):
    c = (await client.post("/api/v1/customers", json={"name": "甲"}, headers=org.auth("rep_a1"))).json()
    return (await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": "项目"},
                              headers=org.auth("rep_a1"))).json()


async def _upload(client, auth, opp_id, material, name, data):
    return await client.post(f"/api/v1/opportunities/{opp_id}/attachments", headers=auth,
                             data={"material": material}, files={"file": (name, data, "application/pdf")})


async def test_upload_pdf_stores_it_and_download_redirects_to_a_short_lived_url(client, storage):
    org = await make_org()
    opp = await _opp(client, org)
    resp = await _upload(client, org.auth("rep_a1"), opp["id"], "tech_confirmation_letter", "../确认函.pdf", PDF)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["filename"] == "确认函.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF) and len(body["sha256"]) == 64
    row = await Attachment.select().where(Attachment.id == body["id"]).first().run()
    assert row["object_key"].startswith(f"opportunities/{opp['id']}/") and "确认函" not in row["object_key"]
    assert await storage.get(row["object_key"]) == PDF
    detail = (await client.get(f"/api/v1/opportunities/{opp['id']}", headers=org.auth("rep_a1"))).json()
    node = next(n for n in detail["nodes"] if n["key"] == "tech_confirmation")
    assert node["materials"] == [{"key": "tech_confirmation_letter", "name": node["materials"][0]["name"],
                                  "present": True}]
    down = await client.get(f"/api/v1/attachments/{body['id']}/download", headers=org.auth("mgr_a"))
    assert down.status_code == 302
    url = down.headers["location"]
    assert "X-Amz-Expires=900" in url
    with urllib.request.urlopen(url, timeout=5) as got:
        assert got.read() == PDF
        assert got.headers["Content-Disposition"].startswith("attachment;")
    assert (await client.get(f"/api/v1/attachments/{body['id']}/download", headers=org.auth("rep_b1"))).status_code == 404


async def test_png_named_pdf_is_refused_with_415(client):
    org = await make_org()
    opp = await _opp(client, org)
    resp = await _upload(client, org.auth("rep_a1"), opp["id"], "tech_confirmation_letter", "letter.pdf", PNG)
    assert resp.status_code == 415
    assert resp.json()["code"] == "unsupported_file_type" and resp.json()["extra"]["detected"] == "png"
    html = await _upload(client, org.auth("rep_a1"), opp["id"], "tech_confirmation_letter", "x.pdf",
                         b"%PDF-1.4\n<script>alert(1)</script>")
    assert html.status_code == 415
    assert await Attachment.count().run() == 0


async def test_upload_limits_and_bad_forms(client):
    org = await make_org()
    opp = await _opp(client, org)
    auth = org.auth("rep_a1")
    big = PDF + b"%" + b"x" * (20 * 1024 * 1024)
    too_big = await _upload(client, auth, opp["id"], "tech_confirmation_letter", "big.pdf", big)
    assert too_big.status_code == 413
    unknown = await _upload(client, auth, opp["id"], "love_letter", "a.pdf", PDF)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_material"
    no_file = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments", headers=auth,
                                files={"material": (None, "contract_scan")})
    assert no_file.status_code == 422 and no_file.json()["code"] == "file_required"
    form_urlencoded = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments", headers=auth,
                                        data={"material": "contract_scan"})
    assert form_urlencoded.status_code == 415
    json_body = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments", headers=auth, json={})
    assert json_body.status_code == 415
    other = await _upload(client, org.auth("rep_b1"), opp["id"], "contract_scan", "a.pdf", PDF)
    assert other.status_code == 404
    assert await Attachment.count().run() == 0


async def test_collaborator_uploads_and_the_record_keeps_who(client):
    org = await make_org()
    opp = await _opp(client, org)
    from server.tables import OpportunityCollaborator

    await OpportunityCollaborator.insert(OpportunityCollaborator(opportunity=opp["id"], user=org.ids["presales"])).run()
    resp = await _upload(client, org.auth("presales"), opp["id"], "tech_confirmation_letter", "l.pdf", PDF)
    assert resp.status_code == 201 and resp.json()["uploaded_by"] == org.ids["presales"]


async def test_storage_down_during_upload_is_503_and_leaves_no_row(settings, database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from server.app import create_app

    app = create_app(msgspec.structs.replace(settings, s3_endpoint=f"127.0.0.1:{port}"))
    async with running(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            org = await make_org()
            opp = await _opp(client, org)
            resp = await _upload(client, org.auth("rep_a1"), opp["id"], "tech_confirmation_letter", "l.pdf", PDF)
            assert resp.status_code == 503
            assert resp.json()["code"] == "storage_unavailable" and resp.headers["retry-after"] == "30"
            assert await Attachment.count().run() == 0


async def test_object_deleted_behind_the_apps_back_closes_the_gate_after_reconciliation(client, storage):
    from datetime import datetime, timezone

    from server import jobs

    org = await make_org()
    opp = await _opp(client, org)
    for to in ("needs_analysis", "solution_confirmed"):
        await client.post(f"/api/v1/opportunities/{opp['id']}/transition",
                          json={"to": to, "override": True, "reason": "测试"}, headers=org.auth("admin"))
    up = (await _upload(client, org.auth("rep_a1"), opp["id"], "tech_confirmation_letter", "l.pdf", PDF)).json()
    row = await Attachment.select().where(Attachment.id == up["id"]).first().run()
    await storage.remove(row["object_key"])  # someone deletes it in the bucket
    deps = jobs.Deps(storage=storage)
    results = dict(await jobs.run_once(datetime.now(timezone.utc), deps))
    assert "1 missing" in results["reconcile_attachments"]
    detail = (await client.get(f"/api/v1/opportunities/{opp['id']}", headers=org.auth("rep_a1"))).json()
    assert [m["material"] for m in detail["blocking"]] == ["tech_confirmation_letter"]
    blocked = await client.post(f"/api/v1/opportunities/{opp['id']}/transition", json={"to": "price_comparison"},
                                headers=org.auth("rep_a1"))
    assert blocked.status_code == 409
    gone = await client.get(f"/api/v1/attachments/{up['id']}/download", headers=org.auth("rep_a1"))
    assert gone.status_code == 410
    # the object comes back (restored from a backup): it counts again
    await storage.put(row["object_key"], PDF, "application/pdf")
    results = dict(await jobs.run_once(datetime.now(timezone.utc), deps))
    assert "1 back" in results["reconcile_attachments"]
    moved = await client.post(f"/api/v1/opportunities/{opp['id']}/transition", json={"to": "price_comparison"},
                              headers=org.auth("rep_a1"))
    assert moved.status_code == 200


async def test_direct_upload_presign_put_confirm(client):
    org = await make_org()
    opp = await _opp(client, org)
    auth = org.auth("rep_a1")
    pre = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments/presign",
                            json={"material": "tech_confirmation_letter", "filename": "函.pdf", "size": len(PDF)},
                            headers=auth)
    assert pre.status_code == 201, pre.text
    ticket = pre.json()
    early = await client.post(f"/api/v1/attachments/{ticket['attachment_id']}/confirm", headers=auth)
    assert early.status_code == 422 and early.json()["code"] == "upload_not_found"
    put = urllib.request.Request(ticket["url"], data=PDF, method="PUT")
    with urllib.request.urlopen(put, timeout=5) as resp:
        assert resp.status == 200
    done = await client.post(f"/api/v1/attachments/{ticket['attachment_id']}/confirm", headers=auth)
    assert done.status_code == 200 and done.json()["status"] == "present" and done.json()["filename"] == "函.pdf"
    detail = (await client.get(f"/api/v1/opportunities/{opp['id']}", headers=auth)).json()
    node = next(n for n in detail["nodes"] if n["key"] == "tech_confirmation")
    assert node["materials"][0]["present"] is True
    other = await client.post(f"/api/v1/attachments/{ticket['attachment_id']}/confirm", headers=org.auth("mgr_a"))
    assert other.status_code == 404


async def test_direct_upload_of_the_wrong_type_is_refused_and_cleaned_up(client, storage):
    org = await make_org()
    opp = await _opp(client, org)
    auth = org.auth("rep_a1")
    ticket = (await client.post(f"/api/v1/opportunities/{opp['id']}/attachments/presign",
                                json={"material": "tech_confirmation_letter", "filename": "x.pdf", "size": len(PNG)},
                                headers=auth)).json()
    urllib.request.urlopen(urllib.request.Request(ticket["url"], data=PNG, method="PUT"), timeout=5).close()
    refused = await client.post(f"/api/v1/attachments/{ticket['attachment_id']}/confirm", headers=auth)
    assert refused.status_code == 415
    assert await Attachment.count().run() == 0
    assert await storage.list(f"opportunities/{opp['id']}/") == []
    too_big = await client.post(f"/api/v1/opportunities/{opp['id']}/attachments/presign",
                                json={"material": "tech_confirmation_letter", "filename": "x.pdf",
                                      "size": 500 * 1024 * 1024}, headers=auth)
    assert too_big.status_code == 413
