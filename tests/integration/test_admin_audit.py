"""The audit log viewer: what is recorded, the filters, the cursor, and the CSV export read back."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from server.tables import AuditLog
from tests.integration.helpers import PASSWORD, make_org

AUDIT = "/api/v1/admin/audit"


async def _everything(client, org) -> dict:
    """Logins, a failed login, a role change, a gate override, a reassignment, a disable."""
    await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": PASSWORD})
    await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": "wrong"})
    client.cookies.clear()
    admin = org.auth("admin")
    await client.patch(f"/api/v1/admin/users/{org.ids['rep_a2']}", headers=admin, json={"roles": ["rep", "presales"]})
    customer = (await client.post("/api/v1/customers", json={"name": "审计客户"}, headers=org.auth("rep_a2"))).json()
    opp = (await client.post("/api/v1/opportunities", json={"customer_id": customer["id"], "title": "审计项目"},
                             headers=org.auth("rep_a2"))).json()
    moved = await client.post(f"/api/v1/opportunities/{opp['id']}/transition", headers=admin,
                              json={"to": "needs_analysis", "override": True, "reason": "客户高层拍板"})
    assert moved.status_code == 200, moved.text
    await client.post(f"/api/v1/admin/users/{org.ids['rep_a2']}/reassign", headers=admin,
                      json={"to_user_id": org.ids["rep_a1"]})
    await client.post(f"/api/v1/admin/users/{org.ids['rep_a2']}/disable", headers=admin)
    return {"customer": customer, "opp": opp}


async def _all_pages(client, auth, params: dict, limit: int = 3) -> list[dict]:
    items, cursor = [], None
    while True:
        page = (await client.get(AUDIT, headers=auth, params={**params, "limit": limit,
                                                               **({"cursor": cursor} if cursor else {})})).json()
        items += page["items"]
        cursor = page["next"]
        if not cursor:
            return items


async def test_the_log_holds_logins_failures_roles_overrides_reassignments_disabling_and_exports(client):
    org = await make_org()
    await _everything(client, org)
    await client.get(f"{AUDIT}.csv", headers=org.auth("admin"))
    actions = {r["action"] for r in await AuditLog.select(AuditLog.action).run()}
    assert {"login", "login.failed", "user.roles", "gate.override", "customer.reassign", "opportunity.reassign",
            "user.disable", "audit.export"} <= actions


async def test_filters_and_the_cursor(client):
    org = await make_org()
    world = await _everything(client, org)
    auth = org.auth("admin")
    everything = await _all_pages(client, auth, {})
    assert len(everything) == await AuditLog.count().run()
    assert len({e["id"] for e in everything}) == len(everything)
    stamps = [e["at"] for e in everything]
    assert stamps == sorted(stamps, reverse=True)

    failed = (await client.get(AUDIT, headers=auth, params={"action": "login.failed"})).json()["items"]
    assert len(failed) == 1 and failed[0]["detail"]["username"] == "rep_a1" and failed[0]["action_label"] == "登录失败"
    by_admin = await _all_pages(client, auth, {"actor": "admin"})
    assert by_admin and {e["actor_id"] for e in by_admin} == {org.ids["admin"]}
    assert {e["actor_name"] for e in by_admin} == {"ADMIN"}
    assert {e["action"] for e in await _all_pages(client, auth, {"actor": org.ids["admin"]})} == {e["action"] for e in by_admin}
    on_rep = await _all_pages(client, auth, {"target": "rep_a2"})
    assert {"user.roles", "user.disable"} <= {e["action"] for e in on_rep}
    assert all(e["target_id"] == org.ids["rep_a2"] for e in on_rep)
    on_customer = (await client.get(AUDIT, headers=auth, params={"target": world["customer"]["id"]})).json()["items"]
    assert {e["action"] for e in on_customer} == {"customer.create", "customer.reassign"}
    assert {e["target_name"] for e in on_customer} == {"审计客户"}
    users_only = await _all_pages(client, auth, {"action": "user.*"})
    assert users_only and all(e["action"].startswith("user.") for e in users_only)
    assert (await client.get(AUDIT, headers=auth, params={"actor": "nobody"})).json()["items"] == []

    today = datetime.now(timezone(timedelta(hours=8))).date()
    same_day = await _all_pages(client, auth, {"from": today.isoformat(), "to": today.isoformat()})
    assert len(same_day) == len(everything)
    assert (await client.get(AUDIT, headers=auth, params={"to": (today - timedelta(days=1)).isoformat()})).json()["items"] == []
    soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    assert (await client.get(AUDIT, headers=auth, params={"from": soon})).json()["items"] == []
    bad = await client.get(AUDIT, headers=auth, params={"from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_date" and "from" in bad.json()["detail"]
    assert (await client.get(AUDIT, headers=auth, params={"cursor": "garbage"})).status_code == 400


async def test_csv_export_opens_in_excel_and_matches_the_api(client):
    org = await make_org()
    await _everything(client, org)
    await client.post("/api/v1/auth/login", json={"username": "=cmd|' /C calc'!A0", "password": "x"})
    client.cookies.clear()
    auth = org.auth("admin")
    expected = await _all_pages(client, auth, {}, limit=100)
    resp = await client.get(f"{AUDIT}.csv", headers=auth)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv") and "attachment" in resp.headers["content-disposition"]
    assert resp.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[2:]
    assert rows[1][4] == "audit.export" and rows[1][1] == "ADMIN"  # recorded before the rows are read
    assert header == ["时间", "操作人", "操作人 ID", "操作", "操作代码", "对象类型", "对象", "对象 ID", "详情", "IP 地址"]
    assert [r[4] for r in body] == [e["action"] for e in expected]
    assert [r[7] for r in body] == [e["target_id"] or "" for e in expected]
    assert [r[1] for r in body] == [e["actor_name"] or "" for e in expected]
    failed = next(r for r in body if r[4] == "login.failed" and "calc" in r[8])
    assert failed[3] == "登录失败" and "'" not in failed[8][:1]
    first = datetime.strptime(body[0][0], "%Y-%m-%d %H:%M:%S")
    assert abs(first - datetime.fromisoformat(expected[0]["at"]).astimezone(timezone(timedelta(hours=8))).replace(
        tzinfo=None)) < timedelta(seconds=1)
    [export] = await AuditLog.select().where(AuditLog.action == "audit.export").run()
    assert str(export["actor_id"]) == org.ids["admin"]

    filtered = await client.get(f"{AUDIT}.csv", headers=auth, params={"action": "login.failed"})
    lines = list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"))))[1:]
    assert len(lines) == 2 and {r[4] for r in lines} == {"login.failed"}
    client.cookies.set("sg_lang", "en")
    english = await client.get(f"{AUDIT}.csv", headers=auth)
    assert english.content.decode("utf-8-sig").startswith("Time,Actor,")


async def test_formula_cells_are_defused_in_the_export(client):
    org = await make_org()
    name = '=HYPERLINK("http://evil.invalid","点我")'
    assert (await client.post("/api/v1/customers", json={"name": name}, headers=org.auth("rep_a1"))).status_code == 201
    resp = await client.get(f"{AUDIT}.csv", headers=org.auth("admin"), params={"action": "customer.create"})
    [row] = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))[1:]
    assert row[6] == "'" + name
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)
