"""The lost-deal review and the spreadsheet exports, opened back with csv and openpyxl."""

import csv
import io
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook

from server.tables import AuditLog, Customer, Opportunity, StageTransition

from tests.integration.helpers import make_org

NOW = datetime.now(timezone.utc)


async def _lost_deal(client, org, who, name, gap_days, contacted=True):
    c = (await client.post("/api/v1/customers", json={"name": name}, headers=org.auth(who))).json()
    opp = (await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": f"{name}项目"},
                             headers=org.auth(who))).json()
    lost = await client.post(f"/api/v1/opportunities/{opp['id']}/transition", json={"to": "lost", "reason": "价格"},
                             headers=org.auth(who))
    assert lost.status_code == 200, lost.text
    at = (await StageTransition.select(StageTransition.at).where(
        (StageTransition.opportunity == opp["id"]) & (StageTransition.to_stage == "lost")).first().run())["at"]
    await Opportunity.update({Opportunity.last_contact_at: at - timedelta(days=gap_days) if contacted else None}).where(
        Opportunity.id == opp["id"]).run()
    return opp


async def test_lost_review_gaps_and_team_flags_by_hand(client):
    org = await make_org()
    await _lost_deal(client, org, "rep_a1", "甲", 1)
    await _lost_deal(client, org, "rep_a1", "乙", 2)
    await _lost_deal(client, org, "rep_a2", "丙", 5)     # over 3 days
    await _lost_deal(client, org, "rep_b1", "丁", 10)    # team B: 1 of 1 over
    review = (await client.get("/api/v1/insight/lost-review", params={"scope": "org"},
                               headers=org.auth("admin"))).json()
    assert [(i["customer_name"], i["gap_days"]) for i in review["items"]] == [("丁", 10.0), ("丙", 5.0), ("乙", 2.0),
                                                                            ("甲", 1.0)]
    flags = {t["team"]: (t["lost"], t["over"], t["share"], t["flagged"]) for t in review["teams"]}
    assert flags == {"Team A": (3, 1, 0.3333, True), "Team B": (1, 1, 1.0, True)}
    mine = (await client.get("/api/v1/insight/lost-review", headers=org.auth("rep_a1"))).json()
    assert sorted(i["customer_name"] for i in mine["items"]) == ["乙", "甲"]
    assert (await client.get("/api/v1/insight/lost-review", params={"scope": "org"},
                             headers=org.auth("rep_a1"))).status_code == 403


async def test_exports_open_in_excel_with_chinese_headers_and_match_the_api(client):
    org = await make_org()
    await _lost_deal(client, org, "rep_a1", "温州瑞达", 6)
    silent = (await client.post("/api/v1/customers", json={"name": "嘉兴恒远", "phone": "13700001111"},
                                headers=org.auth("rep_a1"))).json()
    await Customer.update({Customer.created_at: NOW - timedelta(days=40)}).where(Customer.id == silent["id"]).run()
    resp = await client.get("/api/v1/exports/lost-review.csv", headers=org.auth("rep_a1"))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf") and "attachment" in resp.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["商机 Opportunity", "客户 Customer"] and rows[1][1] == "温州瑞达" and rows[1][6] == "6.0"
    api = (await client.get("/api/v1/workbench/silent", headers=org.auth("rep_a1"))).json()["items"]
    book = await client.get("/api/v1/exports/silent.xlsx", headers=org.auth("rep_a1"))
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "客户 Customer"
    assert [(r[0], r[3]) for r in values[1:]] == [(i["customer_name"], i["days_silent"]) for i in api]
    assert "嘉兴恒远" in [r[0] for r in values[1:]]
    phi_csv = await client.get("/api/v1/exports/phi.csv", params={"scope": "team"}, headers=org.auth("mgr_a"))
    assert phi_csv.status_code == 200 and "合计 Total" in phi_csv.content.decode("utf-8-sig")
    assert (await client.get("/api/v1/exports/passwords.csv", headers=org.auth("admin"))).status_code == 404
    assert (await client.get("/api/v1/exports/silent.csv", params={"scope": "team"},
                             headers=org.auth("rep_a1"))).status_code == 403
    assert await AuditLog.count().where(AuditLog.action == "export").run() == 3
