from datetime import datetime, timedelta, timezone

from server.tables import Activity, Customer, Opportunity

from tests.integration.helpers import make_org


async def _customer(client, org, who="rep_a1", **body):
    payload = {"name": "张伟", "phone": "13812345678", "company": "杭州智链科技", **body}
    resp = await client.post("/api/v1/customers", json=payload, headers=org.auth(who))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_create_customer_normalises_phone_and_keeps_contacts(client):
    org = await make_org()
    body = await _customer(client, org, email="Wei.Zhang@Example.COM",
                           contacts=[{"name": "李娜", "phone": "139 1234 5678", "title": "采购经理"}])
    assert body["phone"] == "+8613812345678"
    assert body["email"] == "wei.zhang@example.com"
    assert body["owner_id"] == org.ids["rep_a1"]
    detail = (await client.get(f"/api/v1/customers/{body['id']}", headers=org.auth("rep_a1"))).json()
    assert detail["contacts"][0]["phone"] == "+8613912345678"
    assert detail["prefill"]["key_contacts"][0]["name"] == "李娜"
    assert detail["prefill"]["last_contract_no"] is None


async def test_customer_prefill_takes_last_contract_number_and_delivery_date(client):
    org = await make_org()
    c = await _customer(client, org)
    await Opportunity.insert(Opportunity(customer=c["id"], title="首单", owner=org.ids["rep_a1"], stage="won",
                                         status="won", fields={"contract_no": "HT-2026-0042",
                                                               "delivery_date": "2026-10-08"})).run()
    detail = (await client.get(f"/api/v1/customers/{c['id']}", headers=org.auth("rep_a1"))).json()
    assert detail["prefill"]["last_contract_no"] == "HT-2026-0042"
    assert detail["prefill"]["last_delivery_date"] == "2026-10-08"


async def test_search_by_name_company_and_phone_digits(client):
    org = await make_org()
    await _customer(client, org, name="张伟", phone="13812345678", company="杭州智链科技")
    await _customer(client, org, name="李娜", phone="13987654321", company="深圳医疗器械")
    auth = org.auth("rep_a1")

    async def names(q):
        resp = await client.get("/api/v1/customers", params={"q": q}, headers=auth)
        assert resp.status_code == 200
        return [c["name"] for c in resp.json()["items"]]

    assert await names("张") == ["张伟"]
    assert await names("深圳") == ["李娜"]
    assert await names("87654") == ["李娜"]
    assert await names("+86 138 1234") == ["张伟"]
    assert sorted(await names("")) == ["张伟", "李娜"]
    assert await names("100%_") == []


async def test_cursor_pagination_walks_every_customer_once(client):
    org = await make_org()
    now = datetime.now(timezone.utc)
    await Customer.insert(*[Customer(name=f"客户{i:03d}", owner=org.ids["rep_a1"], created_at=now, updated_at=now)
                            for i in range(120)]).run()
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/customers", params=params, headers=org.auth("rep_a1"))).json()
        seen += [c["name"] for c in page["items"]]
        pages += 1
        cursor = page["next"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 120 and len(set(seen)) == 120 and seen == sorted(seen)
    bad = await client.get("/api/v1/customers", params={"cursor": "garbage!"}, headers=org.auth("rep_a1"))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_manager_assigns_owner_in_team_rep_cannot(client):
    org = await make_org()
    by_mgr = await _customer(client, org, who="mgr_a", owner_id=org.ids["rep_a2"])
    assert by_mgr["owner_id"] == org.ids["rep_a2"]
    refused = await client.post("/api/v1/customers", json={"name": "x", "owner_id": org.ids["rep_a2"]},
                                headers=org.auth("rep_a1"))
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_owner"
    other_team = await client.post("/api/v1/customers", json={"name": "x", "owner_id": org.ids["rep_b1"]},
                                   headers=org.auth("mgr_a"))
    assert other_team.status_code == 422


async def test_customer_facing_activity_moves_last_contact_note_does_not(client):
    org = await make_org()
    c = await _customer(client, org)
    opp = Opportunity(customer=c["id"], title="扩产", owner=org.ids["rep_a1"], stage="initial_contact")
    await Opportunity.insert(opp).run()
    auth = org.auth("rep_a1")
    note = await client.post("/api/v1/activities", json={"customer_id": c["id"], "kind": "note", "note": "内部"},
                             headers=auth)
    assert note.status_code == 201 and note.json()["customer_facing"] is False
    detail = (await client.get(f"/api/v1/customers/{c['id']}", headers=auth)).json()
    assert detail["last_contact_at"] is None
    when = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(microsecond=0)
    call = await client.post("/api/v1/activities", json={"customer_id": c["id"], "kind": "call",
                                                         "occurred_at": when.isoformat()}, headers=auth)
    assert call.status_code == 201 and call.json()["customer_facing"] is True
    detail = (await client.get(f"/api/v1/customers/{c['id']}", headers=auth)).json()
    assert datetime.fromisoformat(detail["last_contact_at"]) == when
    row = await Opportunity.select(Opportunity.last_contact_at).where(Opportunity.id == opp.id).first().run()
    assert row["last_contact_at"] == when
    # a back-dated visit does not move it backwards
    earlier = (when - timedelta(days=2)).isoformat()
    await client.post("/api/v1/activities", json={"customer_id": c["id"], "kind": "visit", "occurred_at": earlier},
                      headers=auth)
    detail = (await client.get(f"/api/v1/customers/{c['id']}", headers=auth)).json()
    assert datetime.fromisoformat(detail["last_contact_at"]) == when
    history = (await client.get(f"/api/v1/customers/{c['id']}/activities", headers=auth)).json()["items"]
    assert [a["kind"] for a in history] == ["note", "call", "visit"]


async def test_activity_bad_input_is_4xx_and_writes_nothing(client):
    org = await make_org()
    c = await _customer(client, org)
    auth = org.auth("rep_a1")
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    cases = [
        ({"customer_id": c["id"], "kind": "telepathy"}, 400),
        ({"customer_id": c["id"], "kind": "call", "occurred_at": future}, 422),
        ({"customer_id": c["id"], "kind": "call", "note": "x" * 10_001}, 400),
        ({"customer_id": "not-a-uuid", "kind": "call"}, 404),
        ({"customer_id": c["id"], "kind": "call", "opportunity_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"customer_id": c["id"], "kind": "call", "extra": 1}, 400),
    ]
    for body, status in cases:
        resp = await client.post("/api/v1/activities", json=body, headers=auth)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["detail"].endswith(".")
    assert await Activity.count().run() == 0


async def test_text_with_a_nul_character_is_a_400_not_a_500(client):
    """Found by fuzzing: PostgreSQL refuses NUL in text, and a name, a contact, a search or a template entry
    holding \\u0000 was a 500 there (and stored as is on SQLite)."""
    org = await make_org()
    auth = org.auth("rep_a1")
    for body in ({"name": "张\u0000伟"}, {"name": "张伟", "contacts": [{"name": "王\u0000"}]}):
        resp = await client.post("/api/v1/customers", json=body, headers=auth)
        assert resp.status_code == 400 and resp.json()["code"] == "validation_error", resp.text
        assert "NUL" in resp.json()["detail"]
    entry = await client.post("/api/v1/templates/trade_show/entries", json={"values": {"name": "\u0000"}},
                              headers=auth)
    assert entry.status_code == 400 and "NUL" in entry.json()["detail"]
    assert await Customer.count().run() == 0
    search = await client.get("/api/v1/customers", params={"q": "\u0000"}, headers=auth)
    # SQLite can search for it (and finds nothing); PostgreSQL cannot, and says why.
    assert search.status_code == 200 or search.json()["code"] == "invalid_text", search.text
    if search.status_code == 200:
        assert search.json()["items"] == []
