"""Quick-entry templates: prefill from the customer's history, repeat orders and visit logs saved in one step."""

from server.tables import Activity, Contact, Opportunity

from tests.integration.helpers import make_org


async def _customer_with_history(client, org):
    c = (await client.post("/api/v1/customers", headers=org.auth("rep_a1"), json={
        "name": "无锡华光", "contacts": [{"name": "周工", "phone": "13911112222"}]})).json()
    await Contact.update({Contact.is_key: True}).where(Contact.customer == c["id"]).run()
    old = (await client.post("/api/v1/opportunities", headers=org.auth("rep_a1"),
                             json={"customer_id": c["id"], "title": "一期"})).json()
    await Opportunity.update({Opportunity.fields: {"contract_no": "HT-2026-0117", "delivery_date": "2026-10-20",
                                                   "products": ["plc", "servo_drive"], "quantity": 12},
                              Opportunity.stage: "won", Opportunity.status: "won"}).where(
        Opportunity.id == old["id"]).run()
    return c


async def test_repeat_order_prefill_and_save_opens_the_deal_at_price_comparison(client):
    org = await make_org()
    c = await _customer_with_history(client, org)
    pre = await client.get("/api/v1/templates/repeat_order/prefill", params={"customer_id": c["id"]},
                           headers=org.auth("rep_a1"))
    assert pre.status_code == 200, pre.text
    assert pre.json()["values"] == {"customer": c["id"], "last_contract_no": "HT-2026-0117",
                                    "last_delivery_date": "2026-10-20", "contacts": "周工",
                                    "products": ["plc", "servo_drive"], "quantity": 12}
    values = {**pre.json()["values"], "expected_order_date": "2026-12-31"}
    resp = await client.post("/api/v1/templates/repeat_order/entries", json={"values": values},
                             headers=org.auth("rep_a1"))
    assert resp.status_code == 201, resp.text
    saved = resp.json()
    opp = (await client.get(f"/api/v1/opportunities/{saved['opportunity_id']}", headers=org.auth("rep_a1"))).json()
    assert opp["stage"] == "price_comparison" and opp["owner_id"] == org.ids["rep_a1"]
    assert opp["title"] == "老客户复购 · PLC 控制器、伺服驱动器"
    assert opp["fields"] == {"products": ["plc", "servo_drive"], "quantity": 12, "expected_order_date": "2026-12-31",
                             "previous_contract_no": "HT-2026-0117"}
    activity = await Activity.select().where(Activity.id == saved["activity_id"]).first().run()
    assert activity["kind"] == "call" and activity["customer_facing"] and "数量：12" in activity["note"]


async def test_visit_log_ends_the_silence_and_bad_values_name_their_field(client):
    org = await make_org()
    c = await _customer_with_history(client, org)
    url = "/api/v1/templates/visit_log/entries"
    bad = await client.post(url, headers=org.auth("rep_a1"), json={"values": {
        "customer": c["id"], "met": "周工", "outcome": "bribed", "next_step": "报价", "next_step_date": "2026-12-01"}})
    assert bad.status_code == 422 and bad.json()["extra"]["field"] == "outcome"
    missing = await client.post(url, headers=org.auth("rep_a1"), json={"values": {"customer": c["id"]}})
    assert missing.status_code == 422 and missing.json()["extra"]["field"] == "met"
    ok = await client.post(url, headers=org.auth("rep_a1"), json={"values": {
        "customer": c["id"], "met": "周工", "outcome": "needs_quote", "next_step": "发报价",
        "next_step_date": "2026-12-01"}})
    assert ok.status_code == 201, ok.text
    got = (await client.get(f"/api/v1/customers/{c['id']}", headers=org.auth("rep_a1"))).json()
    assert got["last_contact_at"] is not None
    act = await Activity.select().where(Activity.id == ok.json()["activity_id"]).first().run()
    assert act["kind"] == "visit" and "拜访结果：需要报价" in act["note"]


async def test_templates_respect_access_and_exist(client):
    org = await make_org()
    c = await _customer_with_history(client, org)
    other = await client.get("/api/v1/templates/repeat_order/prefill", params={"customer_id": c["id"]},
                             headers=org.auth("rep_b1"))
    assert other.status_code == 404
    sneaky = await client.post("/api/v1/templates/visit_log/entries", headers=org.auth("rep_b1"), json={"values": {
        "customer": c["id"], "met": "x", "outcome": "positive", "next_step": "x", "next_step_date": "2026-12-01"}})
    assert sneaky.status_code == 404
    assert (await client.post("/api/v1/templates/nope/entries", json={"values": {}},
                              headers=org.auth("rep_a1"))).status_code == 404
    scan = await client.post("/api/v1/templates/trade_show/entries", json={"values": {}}, headers=org.auth("rep_a1"))
    assert scan.status_code == 422 and scan.json()["code"] == "use_scan"
