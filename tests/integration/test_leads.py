"""Trade-show lead capture through the real app: parse, scan, merge, access, idempotency."""

import asyncio
import uuid

from server.tables import Activity, AuditLog, Contact, Customer

from tests.integration.helpers import make_org

VCARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:张;伟;;;\r\nFN:张伟\r\nORG:杭州智链科技有限公司;销售部\r\nTITLE:采购经理\r\n"
         "TEL;TYPE=WORK:0571-88886666\r\nTEL;TYPE=CELL:138 1234 5678\r\nEMAIL:Wei.Zhang@Example.com\r\nEND:VCARD")
LEAD = {"name": "张伟", "phone": "+8613812345678", "company": "杭州智链科技有限公司", "title": "采购经理",
        "email": "wei.zhang@example.com", "format": "vcard"}


async def _scan(client, org, who="rep_a1", payload=VCARD, headers=None, **body):
    return await client.post("/api/v1/leads/scan", json={"payload": payload, **body},
                             headers={**org.auth(who), **(headers or {})})


async def _activities(client, org, who, customer_id):
    resp = await client.get(f"/api/v1/customers/{customer_id}/activities", headers=org.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_parse_answers_the_lead_and_stores_nothing(client):
    org = await make_org()
    resp = await client.post("/api/v1/leads/parse", json={"payload": VCARD}, headers=org.auth("rep_a1"))
    assert resp.status_code == 200, resp.text
    assert resp.json() == LEAD
    text = await client.post("/api/v1/leads/parse", json={"payload": "Name: Li Na | Tel: 021-62345678"},
                             headers=org.auth("rep_a1"))
    assert text.json() == {"name": "Li Na", "phone": "+862162345678", "company": None, "title": None,
                           "email": None, "format": "text"}
    assert await Customer.count().run() == 0 and await Activity.count().run() == 0


async def test_unreadable_payloads_are_422_payload_unrecognised_with_the_error_shape(client):
    org = await make_org()
    cases = {"hello world": "no_contact", "": "empty", "姓名：张伟\u0000": "binary", "张" * 1400: "too_large",
             "BEGIN:VCARD\nVERSION:3.0\nTEL:12345\nEND:VCARD": "no_contact"}
    for path in ("/api/v1/leads/parse", "/api/v1/leads/scan"):
        for payload, reason in cases.items():
            resp = await client.post(path, json={"payload": payload}, headers=org.auth("rep_a1"))
            assert resp.status_code == 422, (path, payload, resp.text)
            body = resp.json()
            assert set(body) == {"status_code", "detail", "code", "extra"}
            assert body["status_code"] == 422 and body["code"] == "payload_unrecognised"
            assert body["extra"] == {"reason": reason} and body["detail"].endswith(".")
    too_long = await client.post("/api/v1/leads/parse", json={"payload": "x" * 4097}, headers=org.auth("rep_a1"))
    assert too_long.status_code == 400 and too_long.json()["code"] == "validation_error"
    for body in ({"payload": 42}, {}, {"payload": VCARD, "extra": 1}, {"payload": VCARD, "temperature": "lukewarm"}):
        resp = await client.post("/api/v1/leads/scan", json=body, headers=org.auth("rep_a1"))
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["detail"].endswith(".")
    assert await Customer.count().run() == 0 and await Activity.count().run() == 0


async def test_scan_of_a_new_person_creates_customer_contact_and_booth_activity(client):
    org = await make_org()
    resp = await _scan(client, org, event="CIIF 2026 工博会", products=["servo_drive", "plc", "servo_drive"],
                       temperature="hot", note="要报价")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["lead"] == LEAD and body["merged"] is False and body["visible"] is True
    customer = (await client.get(f"/api/v1/customers/{body['customer_id']}", headers=org.auth("rep_a1"))).json()
    assert customer["owner_id"] == org.ids["rep_a1"] and customer["team_id"] is not None
    assert (customer["name"], customer["phone"], customer["email"], customer["company"], customer["title"]) == (
        "张伟", "+8613812345678", "wei.zhang@example.com", "杭州智链科技有限公司", "采购经理")
    assert [(c["name"], c["phone"], c["email"], c["title"]) for c in customer["contacts"]] == [
        ("张伟", "+8613812345678", "wei.zhang@example.com", "采购经理")]
    assert customer["last_contact_at"] is not None  # a booth conversation is customer-facing
    [activity] = await _activities(client, org, "rep_a1", body["customer_id"])
    assert activity["id"] == body["activity_id"] and activity["kind"] == "meeting"
    assert activity["customer_facing"] is True and activity["user_id"] == org.ids["rep_a1"]
    assert activity["note"] == "展会扫码：CIIF 2026 工博会\n意向产品：伺服驱动器、PLC 控制器\n意向程度：高\n备注：要报价"
    row = await Customer.select(Customer.source).where(Customer.id == body["customer_id"]).first().run()
    assert row["source"] == "trade_show"
    audit = await AuditLog.select(AuditLog.detail).where(AuditLog.action == "lead.scan").first().run()
    detail = audit["detail"] if isinstance(audit["detail"], dict) else __import__("json").loads(audit["detail"])
    assert detail["products"] == ["servo_drive", "plc"] and detail["temperature"] == "hot"


async def test_scanning_the_same_person_again_merges_by_phone(client):
    org = await make_org()
    first = (await _scan(client, org, event="CIIF")).json()
    again = await _scan(client, org, payload="MECARD:N:张伟;TEL:+86 138-1234-5678;;", event="Hannover Messe")
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["merged"] is True and body["visible"] is True and body["customer_id"] == first["customer_id"]
    assert body["lead"]["format"] == "mecard"
    assert await Customer.count().run() == 1 and await Contact.count().run() == 1
    notes = sorted(a["note"] for a in await _activities(client, org, "rep_a1", first["customer_id"]))
    assert notes == ["展会扫码：CIIF", "展会扫码：Hannover Messe"]


async def test_scan_merges_by_email_whatever_its_case_and_fills_empty_fields(client):
    org = await make_org()
    made = await client.post("/api/v1/customers", json={"name": "Wei Zhang", "email": "Wei.Zhang@Example.COM"},
                             headers=org.auth("rep_a1"))
    known = made.json()
    resp = await _scan(client, org, payload="Name: W. Zhang | Mobile: 13812345678 | E-mail: WEI.ZHANG@example.com")
    assert resp.status_code == 200, resp.text
    assert resp.json()["merged"] is True and resp.json()["customer_id"] == known["id"]
    assert await Customer.count().run() == 1
    customer = (await client.get(f"/api/v1/customers/{known['id']}", headers=org.auth("rep_a1"))).json()
    assert customer["name"] == "Wei Zhang"  # a name is never overwritten by a badge
    assert customer["phone"] == "+8613812345678" and customer["email"] == "wei.zhang@example.com"


async def test_scan_of_a_known_contact_merges_into_their_customer(client):
    org = await make_org()
    made = await client.post("/api/v1/customers", json={
        "name": "深圳医疗器械", "phone": "0755-86013388",
        "contacts": [{"name": "李娜", "phone": "139 8765 4321", "email": "lina@szmed.cn"}]}, headers=org.auth("rep_a1"))
    known = made.json()
    resp = await _scan(client, org, payload="姓名：李娜\n手机：13987654321\n邮箱：other@elsewhere.cn")
    assert resp.status_code == 200 and resp.json()["customer_id"] == known["id"]
    customer = (await client.get(f"/api/v1/customers/{known['id']}", headers=org.auth("rep_a1"))).json()
    assert customer["phone"] == "+8675586013388" and customer["email"] is None  # a contact's data stays theirs
    assert await Customer.count().run() == 1 and await Contact.count().run() == 1


async def test_a_merge_never_shows_another_teams_customer(client):
    """rep_b1 (team B) owns the visitor. rep_a1 and mgr_a (team A) scan them: no duplicate, and
    nothing of rep_b1's record comes back; rep_b1 sees the booth visit; an admin is told where it went."""
    org = await make_org()
    theirs = (await client.post("/api/v1/customers", json={"name": "乙客户秘密", "phone": "13812345678",
                                                           "company": "乙方机密公司"},
                                headers=org.auth("rep_b1"))).json()
    for who in ("rep_a1", "mgr_a"):
        resp = await _scan(client, org, who=who, event="CIIF")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"customer_id": None, "lead": LEAD, "merged": True, "visible": False,
                               "activity_id": None}
        assert theirs["id"] not in resp.text and "乙" not in resp.text
        listed = (await client.get("/api/v1/customers", headers=org.auth(who))).json()["items"]
        assert listed == []
    assert await Customer.count().run() == 1
    seen_by_owner = await _activities(client, org, "rep_b1", theirs["id"])
    assert sorted(a["user_id"] for a in seen_by_owner) == sorted([org.ids["rep_a1"], org.ids["mgr_a"]])
    owner_view = (await client.get(f"/api/v1/customers/{theirs['id']}", headers=org.auth("rep_b1"))).json()
    assert owner_view["email"] is None and owner_view["company"] == "乙方机密公司"  # not filled by another team
    admin = (await _scan(client, org, who="admin")).json()
    assert admin["customer_id"] == theirs["id"] and admin["visible"] is True


async def test_a_scanner_merges_into_their_own_record_before_another_teams(client):
    org = await make_org()
    await client.post("/api/v1/customers", json={"name": "乙", "phone": "13812345678"}, headers=org.auth("rep_b1"))
    mine = (await client.post("/api/v1/customers", json={"name": "甲", "email": "wei.zhang@example.com"},
                              headers=org.auth("rep_a1"))).json()
    resp = await _scan(client, org)
    assert resp.status_code == 200 and resp.json()["customer_id"] == mine["id"] and resp.json()["visible"] is True


async def test_unknown_product_is_422_and_writes_nothing(client):
    org = await make_org()
    resp = await _scan(client, org, products=["plc", "flux_capacitor"])
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "unknown_product" and "'flux_capacitor'" in body["detail"]
    assert "servo_drive" in body["detail"] and body["extra"]["unknown"] == ["flux_capacitor"]
    assert await Customer.count().run() == 0 and await Activity.count().run() == 0


async def test_a_repeated_scan_with_the_same_idempotency_key_records_once(client):
    org = await make_org()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await _scan(client, org, headers=key, event="CIIF", products=["agv"])
    again = await _scan(client, org, headers=key, event="CIIF", products=["agv"])
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await Customer.count().run() == 1 and await Activity.count().run() == 1


async def test_two_scans_of_a_new_person_at_once_create_one_customer(client):
    org = await make_org()
    answers = await asyncio.gather(*[_scan(client, org, event=f"booth {i}") for i in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["customer_id"] for a in answers}) == 1
    assert await Customer.count().run() == 1 and await Activity.count().run() == 4


async def test_leads_need_a_login(client):
    for path in ("/api/v1/leads/parse", "/api/v1/leads/scan"):
        resp = await client.post(path, json={"payload": VCARD})
        assert resp.status_code == 401 and resp.json()["code"] == "not_authenticated"
    assert await Customer.count().run() == 0


async def test_openapi_describes_the_lead_endpoints(client):
    doc = (await client.get("/schema/openapi.json")).json()
    assert {"/api/v1/leads/parse", "/api/v1/leads/scan"} <= set(doc["paths"])
    scan = doc["paths"]["/api/v1/leads/scan"]["post"]
    assert {"200", "201", "422"} <= set(scan["responses"])
    assert "4096" in str(doc["components"]["schemas"])
