"""Idempotency keys, the error shape, body limits, OpenAPI and /healthz."""

import asyncio

from server.tables import Customer, IdempotencyKey

from tests.integration.helpers import make_org


async def test_idempotency_same_key_same_body_replays_and_creates_once(client):
    org = await make_org()
    headers = org.auth("rep_a1") | {"Idempotency-Key": "3f1c7f0e-1111-4a5b-9c2d-000000000001"}
    body = {"name": "王芳", "phone": "13700000000"}
    first = await client.post("/api/v1/customers", json=body, headers=headers)
    second = await client.post("/api/v1/customers", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await Customer.count().run() == 1
    other = await client.post("/api/v1/customers", json={"name": "王芳2"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await Customer.count().run() == 1


async def test_idempotency_keys_are_per_user_and_kept_eight_days(client):
    org = await make_org()
    key = {"Idempotency-Key": "shared-key-1"}
    a = await client.post("/api/v1/customers", json={"name": "甲"}, headers=org.auth("rep_a1") | key)
    b = await client.post("/api/v1/customers", json={"name": "甲"}, headers=org.auth("rep_a2") | key)
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
    row = await IdempotencyKey.select().first().run()
    assert (row["expires_at"] - row["created_at"]).days >= 8


async def test_idempotency_concurrent_duplicates_create_one_record(client):
    org = await make_org()
    headers = org.auth("rep_a1") | {"Idempotency-Key": "race-1"}
    results = await asyncio.gather(*[client.post("/api/v1/customers", json={"name": "并发"}, headers=headers)
                                     for _ in range(5)])
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    assert await Customer.count().run() == 1


async def test_failed_request_does_not_burn_the_key(client):
    org = await make_org()
    headers = org.auth("rep_a1") | {"Idempotency-Key": "k-400"}
    bad = await client.post("/api/v1/customers", json={"name": ""}, headers=headers)
    assert bad.status_code == 400
    replay = await client.post("/api/v1/customers", json={"name": ""}, headers=headers)
    assert replay.status_code == 400 and replay.json() == bad.json()


async def test_error_shape_on_bad_input(client):
    org = await make_org()
    auth = org.auth("rep_a1")
    cases = [
        ({"name": "x" * 201}, 400),
        ({"name": 5}, 400),
        ({"name": "ok", "unknown": True}, 400),
        ({"name": "ok", "phone": "call me"}, 422),
        ({"name": "ok", "email": "not-an-email"}, 400),
        ({"name": "ok", "contacts": [{"name": "a", "phone": "1"}]}, 422),
    ]
    for body, status in cases:
        resp = await client.post("/api/v1/customers", json=body, headers=auth)
        assert resp.status_code == status, (body, resp.text)
        err = resp.json()
        assert set(err) == {"status_code", "detail", "code", "extra"}
        assert err["status_code"] == status and err["code"] and len(err["detail"]) > 10
        assert "Traceback" not in resp.text
    assert await Customer.count().run() == 0


async def test_non_utf8_and_malformed_and_huge_bodies_are_4xx(client):
    org = await make_org()
    auth = org.auth("rep_a1") | {"Content-Type": "application/json"}
    for raw in (b"\xff\xfe\x00", b'{"name": "\xe5\xbc"}', b"{", b"[]", b"null"):
        resp = await client.post("/api/v1/customers", content=raw, headers=auth)
        assert 400 <= resp.status_code < 500, (raw, resp.text)
        assert resp.json()["detail"]
    huge = b'{"name": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    resp = await client.post("/api/v1/customers", content=huge, headers=auth)
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"
    assert await Customer.count().run() == 0


async def test_unknown_record_and_malformed_id_are_404(client):
    org = await make_org()
    for cid in ("00000000-0000-0000-0000-000000000000", "abc", "1%27%20OR%201=1"):
        resp = await client.get(f"/api/v1/customers/{cid}", headers=org.auth("admin"))
        assert resp.status_code == 404 and resp.json()["code"] == "not_found"


async def test_openapi_describes_the_api_with_constraints(client):
    resp = await client.get("/schema/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    for path in ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/tokens", "/api/v1/me",
                 "/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/activities"):
        assert path in doc["paths"], path
    create = doc["components"]["schemas"]["CustomerCreate"]
    assert create["properties"]["name"]["maxLength"] == 200
    assert "/customers" not in doc["paths"]  # pages are not API


async def test_openapi_declares_the_error_answers_the_api_gives(client):
    """Found by the schemathesis run: a rep's 403 on an admin route, a 404 for someone else's record, a 422
    for a domain rule, a 415 for a non-multipart upload were all answers the schema did not list, and its
    400 lacked ``code``."""
    doc = (await client.get("/schema/openapi.json")).json()
    error = doc["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) >= {"status_code", "detail", "code"}
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            for status in ("400", "401", "403", "404", "422"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
    upload = doc["paths"]["/api/v1/opportunities/{opp_id}/attachments"]["post"]["responses"]
    assert {"413", "415", "503"} <= set(upload)
    assert "429" in doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "409" in doc["paths"]["/api/v1/opportunities/{opp_id}/transition"]["post"]["responses"]
    # The answers themselves have that shape.
    org = await make_org()
    forbidden = await client.get("/api/v1/admin/users", headers=org.auth("rep_a1"))
    bad = await client.get("/api/v1/customers?limit=0", headers=org.auth("rep_a1"))
    for resp, status in ((forbidden, 403), (bad, 400)):
        body = resp.json()
        assert resp.status_code == status and set(body) == {"status_code", "detail", "code", "extra"}, body
        assert body["detail"].endswith(".") and isinstance(body["extra"], dict)


async def test_healthz_reports_database_and_storage(client):
    resp = await client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "storage": "ok"}


async def test_security_headers_on_pages_api_and_404(client):
    for path in ("/login", "/api/v1/me", "/no/such/page", "/static/app.css"):
        resp = await client.get(path)
        csp = resp.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"


async def test_playbook_endpoint_serves_the_active_playbook(client):
    org = await make_org()
    resp = await client.get("/api/v1/playbook", headers=org.auth("rep_a1"))
    assert resp.status_code == 200
    pb = resp.json()
    assert [s["key"] for s in pb["stages"]][:3] == ["initial_contact", "needs_analysis", "solution_confirmed"]
    solution = next(s for s in pb["stages"] if s["key"] == "solution_confirmed")
    assert solution["name"] == "方案确认"
    node = next(n for n in solution["nodes"] if n["key"] == "tech_confirmation")
    assert node["gate"] is True and node["executor"] == "owner" and node["supervisor"] == "owner.manager"
    assert node["materials"][0]["types"] == ["pdf"]
    assert set(node) >= {"key", "name", "gate", "executor", "collaborators", "supervisor", "deadline", "materials"}
    signed = next(s for s in pb["stages"] if s["key"] == "signed")
    assert [s["key"] for s in signed["substates"]] == [
        "pending_legal_archive", "pending_delivery_scheduling", "pending_kickoff_meeting"]
    assert {t["key"] for t in pb["templates"]} == {"trade_show", "repeat_order", "visit_log"}
    client.cookies.set("sg_lang", "en")
    english = await client.get("/api/v1/playbook", headers=org.auth("rep_a1"))
    assert next(s for s in english.json()["stages"] if s["key"] == "solution_confirmed")["name"] == "Solution confirmed"
    assert (await client.get("/api/v1/playbook")).status_code == 401


def test_app_refuses_to_start_on_an_invalid_playbook(settings, tmp_path):
    import msgspec
    import pytest

    from server.app import create_app
    from server.domain.playbook import PlaybookInvalid

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: '1'\nname: {zh: a, en: b}\nstages: []\n", encoding="utf-8")
    with pytest.raises(PlaybookInvalid) as info:
        create_app(msgspec.structs.replace(settings, playbook=str(bad)))
    assert info.value.problems[0].line == 3


async def test_idempotent_replay_of_a_large_answer_with_gzip_accepted(client):
    """A big answer (compressible) is stored as JSON and replayed identically."""
    org = await make_org()
    headers = org.auth("rep_a1") | {"Idempotency-Key": "big-1", "Accept-Encoding": "gzip"}
    body = {"name": "大客户", "contacts": [{"name": f"联系人{i}", "title": "采购经理" * 5} for i in range(40)]}
    first = await client.post("/api/v1/customers", json=body, headers=headers)
    second = await client.post("/api/v1/customers", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.json() == second.json() and len(first.content) > 1024
    assert await Customer.count().run() == 1
