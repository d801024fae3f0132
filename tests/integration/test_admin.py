"""The admin API: users, teams, disabling, password resets, reassignment, access and CSRF."""

from __future__ import annotations

import re

import httpx
import pytest

from server.tables import (
    ApiToken,
    AuditLog,
    Customer,
    IdempotencyKey,
    Opportunity,
    PushSubscription,
    Session,
    Team,
    User,
)
from tests.integration.helpers import PASSWORD, login, make_org

ADMIN = "/api/v1/admin"


def _admin_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /api/v1/admin, ids filled with a dummy."""
    out = []
    for route in app.routes:
        if not route.path.startswith(ADMIN):
            continue
        path = re.sub(r"\{[^}]+:int\}", "1", route.path)
        path = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
        out += [(m, path) for m in sorted(route.methods) if m not in ("HEAD", "OPTIONS")]
    return out


async def _audit(action: str) -> list[dict]:
    return await AuditLog.select().where(AuditLog.action == action).run()


@pytest.fixture
async def org(client):
    return await make_org()


async def test_admin_api_every_endpoint_refuses_non_admins_with_a_sentence(client, app, org):
    routes = _admin_routes(app)
    assert len(routes) >= 15
    before = await AuditLog.count().run()
    for who in ("rep_a1", "mgr_a", "presales"):
        for method, path in routes:
            resp = await client.request(method, path, headers=org.auth(who), json={} if method in ("POST", "PATCH") else None)
            assert resp.status_code == 403, (who, method, path, resp.text)
            body = resp.json()
            assert body["code"] == "forbidden" and body["detail"].endswith(".") and " " in body["detail"]
    client.cookies.clear()
    for method, path in routes:
        assert (await client.request(method, path)).status_code == 401, path
    assert await AuditLog.count().run() == before  # nothing happened


async def test_admin_pages_are_admins_only(client, org):
    for path in ("/admin/users", "/admin/users/new", "/admin/teams", "/admin/import", "/admin/audit", "/admin/playbook"):
        denied = await client.get(path, headers=org.auth("mgr_a"))
        assert denied.status_code == 403 and "text/html" in denied.headers["content-type"], path
        ok = await client.get(path, headers=org.auth("admin"))
        assert ok.status_code == 200, (path, ok.text[:500])
    me = await client.get("/me", headers=org.auth("admin"))
    assert 'href="/admin/users"' in me.text
    assert 'href="/admin/users"' not in (await client.get("/me", headers=org.auth("rep_a1"))).text


async def test_cookie_session_needs_the_csrf_header_on_admin_writes(client, org):
    csrf = await login(client, "admin")
    refused = await client.post(f"{ADMIN}/teams", json={"name": "华南大区"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert await Team.count().where(Team.name == "华南大区").run() == 0
    ok = await client.post(f"{ADMIN}/teams", json={"name": "华南大区"}, headers=csrf)
    assert ok.status_code == 201, ok.text


async def test_create_then_edit_a_user_and_every_step_is_audited(client, org):
    auth = org.auth("admin")
    teams = {t["name"]: t["id"] for t in (await client.get(f"{ADMIN}/teams", headers=auth)).json()["items"]}
    created = await client.post(f"{ADMIN}/users", headers=auth, json={
        "username": "zhang.wei", "display_name": "张伟", "roles": ["rep", "presales"], "team_id": teams["Team A"],
        "manager_id": org.ids["mgr_a"], "phone": "139 1234 5678", "password": "初始密码12345"})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    user = created.json()
    assert user["display_name"] == "张伟" and user["roles"] == ["rep", "presales"] and user["team_name"] == "Team A"
    assert user["manager_name"] == "MGR_A" and user["phone"] == "+8613912345678" and user["must_change_password"]
    assert user["temporary_password"] is None
    dup = await client.post(f"{ADMIN}/users", headers=auth, json={"username": "zhang.wei", "roles": ["rep"],
                                                                 "password": "x" * 8})
    assert dup.status_code == 409 and dup.json()["code"] == "username_taken"
    short = await client.post(f"{ADMIN}/users", headers=auth, json={"username": "li", "roles": ["rep"], "password": "short"})
    assert short.status_code == 422 and short.json()["extra"]["field"] == "password"
    bad_role = await client.post(f"{ADMIN}/users", headers=auth, json={"username": "li", "roles": ["boss"]})
    assert bad_role.status_code == 400

    edited = await client.patch(f"{ADMIN}/users/{user['id']}", headers=auth, json={
        "roles": ["rep", "manager"], "team_id": teams["Team B"], "manager_id": org.ids["mgr_b"],
        "display_name": "张伟（华东）", "phone": None})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["roles"] == ["rep", "manager"] and body["team_name"] == "Team B" and body["manager_name"] == "MGR_B"
    assert body["display_name"] == "张伟（华东）" and body["phone"] is None
    assert len(await _audit("user.create")) >= 1
    [update] = await _audit("user.update")
    assert update["actor_id"] is not None and str(update["actor_id"]) == org.ids["admin"]
    [roles] = await _audit("user.roles")
    assert roles["target_id"] == user["id"]

    listed = (await client.get(f"{ADMIN}/users", params={"q": "张伟"}, headers=auth)).json()["items"]
    assert [u["username"] for u in listed] == ["zhang.wei"]
    by_phone = (await client.get(f"{ADMIN}/users", params={"q": "REP_A"}, headers=auth)).json()["items"]
    assert {u["username"] for u in by_phone} == {"rep_a1", "rep_a2"}
    page1 = (await client.get(f"{ADMIN}/users", params={"limit": 3}, headers=auth)).json()
    page2 = (await client.get(f"{ADMIN}/users", params={"limit": 3, "cursor": page1["next"]}, headers=auth)).json()
    assert not {u["id"] for u in page1["items"]} & {u["id"] for u in page2["items"]}


async def test_a_manager_loop_is_422_and_self_management_too(client, org):
    auth = org.auth("admin")
    loop = await client.patch(f"{ADMIN}/users/{org.ids['mgr_a']}", headers=auth, json={"manager_id": org.ids["rep_a1"]})
    assert loop.status_code == 422 and loop.json()["code"] == "manager_cycle"
    assert loop.json()["extra"]["chain"] == ["mgr_a", "rep_a1", "mgr_a"]
    itself = await client.patch(f"{ADMIN}/users/{org.ids['rep_a1']}", headers=auth, json={"manager_id": org.ids["rep_a1"]})
    assert itself.status_code == 422 and itself.json()["code"] == "manager_cycle"
    fine = await client.patch(f"{ADMIN}/users/{org.ids['mgr_a']}", headers=auth, json={"manager_id": org.ids["mgr_b"]})
    assert fine.status_code == 200


async def test_an_admin_keeps_their_own_account_and_admin_role(client, org):
    auth = org.auth("admin")
    me = org.ids["admin"]
    assert (await client.post(f"{ADMIN}/users/{me}/disable", headers=auth)).json()["code"] == "own_account"
    drop = await client.patch(f"{ADMIN}/users/{me}", headers=auth, json={"roles": ["rep"]})
    assert drop.status_code == 422 and drop.json()["code"] == "own_admin_role"


async def test_disabling_ends_sessions_tokens_and_push_subscriptions_at_once(client, app, org):
    uid = org.ids["rep_a1"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as phone:
        await login(phone, "rep_a1")
        assert (await phone.get("/api/v1/me")).status_code == 200  # the viewer is cached now
        assert (await client.get("/api/v1/me", headers=org.auth("rep_a1"))).status_code == 200
        await PushSubscription.insert(PushSubscription(user=uid, endpoint="http://127.0.0.1:9/push/1", p256dh="k",
                                                       auth="a")).run()
        detail = (await client.get(f"{ADMIN}/users/{uid}", headers=org.auth("admin"))).json()
        assert detail["sessions"] == 1 and detail["tokens"] == 1 and detail["devices"] == 1

        resp = await client.post(f"{ADMIN}/users/{uid}/disable", headers=org.auth("admin"))
        assert resp.status_code == 200 and resp.json()["active"] is False and resp.json()["disabled_at"]
        assert (await phone.get("/api/v1/me")).status_code == 401
        assert (await client.get("/api/v1/me", headers=org.auth("rep_a1"))).status_code == 401
        assert await PushSubscription.count().where(PushSubscription.user == uid).run() == 0
        assert await Session.count().where((Session.user == uid) & Session.revoked_at.is_null()).run() == 0
        assert await ApiToken.count().where((ApiToken.user == uid) & ApiToken.revoked_at.is_null()).run() == 0
        relogin = await phone.post("/api/v1/auth/login", json={"username": "rep_a1", "password": PASSWORD})
        assert relogin.status_code == 401
    [entry] = await _audit("user.disable")
    assert entry["detail"] in ({"sessions": 1, "tokens": 1, "devices": 1},
                               '{"sessions": 1, "tokens": 1, "devices": 1}') or "devices" in str(entry["detail"])

    enabled = await client.post(f"{ADMIN}/users/{uid}/enable", headers=org.auth("admin"))
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    assert (await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": PASSWORD})).status_code == 200
    client.cookies.clear()
    assert (await client.get("/api/v1/me", headers=org.auth("rep_a1"))).status_code == 401  # the old token stays revoked
    assert len(await _audit("user.enable")) == 1


async def test_team_changes_take_effect_at_once_for_the_cached_viewer(client, org):
    auth = org.auth("admin")
    customer = (await client.post("/api/v1/customers", json={"name": "甲客户"}, headers=org.auth("rep_b1"))).json()
    assert (await client.get(f"/api/v1/customers/{customer['id']}", headers=org.auth("mgr_a"))).status_code == 404
    team = (await client.post(f"{ADMIN}/teams", headers=auth, json={"name": "大客户部"})).json()
    assert (await client.post(f"{ADMIN}/teams", headers=auth, json={"name": "大客户部"})).json()["code"] == "team_exists"
    not_manager = await client.patch(f"{ADMIN}/teams/{team['id']}", headers=auth, json={"manager_id": org.ids["rep_a1"]})
    assert not_manager.status_code == 422 and not_manager.json()["code"] == "not_a_manager"
    renamed = await client.patch(f"{ADMIN}/teams/{team['id']}", headers=auth,
                                 json={"name": "大客户一部", "manager_id": org.ids["mgr_a"]})
    assert renamed.status_code == 200 and renamed.json()["manager_name"] == "MGR_A"
    moved = await client.patch(f"{ADMIN}/users/{org.ids['rep_b1']}", headers=auth, json={"team_id": team["id"]})
    assert moved.status_code == 200
    # the customer followed its owner into the new team, and mgr_a (cached a moment ago) sees it now
    assert (await client.get(f"/api/v1/customers/{customer['id']}", headers=org.auth("mgr_a"))).status_code == 200
    teams = {t["name"]: t for t in (await client.get(f"{ADMIN}/teams", headers=auth)).json()["items"]}
    assert teams["大客户一部"]["members"] == 1 and teams["大客户一部"]["manager_id"] == org.ids["mgr_a"]
    assert len(await _audit("team.create")) == 1 and len(await _audit("team.update")) == 1


async def test_reset_password_forces_a_change_at_the_next_login(client, org):
    uid = org.ids["rep_a1"]
    await login(client, "rep_a1")
    reset = await client.post(f"{ADMIN}/users/{uid}/password-reset", headers=org.auth("admin") | {"Idempotency-Key": "r1"})
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    temporary = reset.json()["temporary_password"]
    assert len(temporary) >= 10
    assert await IdempotencyKey.count().run() == 0  # the secret is not kept with the key
    assert (await client.get("/api/v1/me")).status_code == 401  # the old session ended
    assert (await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": PASSWORD})).status_code == 401
    token = await client.post("/api/v1/auth/tokens", json={"username": "rep_a1", "password": temporary, "name": "x"})
    assert token.status_code == 403 and token.json()["code"] == "password_change_required"

    logged = await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": temporary})
    assert logged.status_code == 200 and logged.json()["must_change_password"] is True
    csrf = {"X-CSRF-Token": logged.json()["csrf_token"]}
    blocked = await client.get("/api/v1/customers")
    assert blocked.status_code == 403 and blocked.json()["code"] == "password_change_required"
    page = await client.get("/customers", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/password?next=/customers"
    assert (await client.get("/password")).status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 200

    short = await client.post("/api/v1/me/password", json={"current": temporary, "new": "1234567"}, headers=csrf)
    assert short.status_code == 422 and short.json()["code"] == "password_too_short"
    wrong = await client.post("/api/v1/me/password", json={"current": "nope-nope", "new": "新的密码abc123"}, headers=csrf)
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_current_password"
    same = await client.post("/api/v1/me/password", json={"current": temporary, "new": temporary}, headers=csrf)
    assert same.status_code == 422 and same.json()["code"] == "password_unchanged"
    done = await client.post("/api/v1/me/password", json={"current": temporary, "new": "新的密码abc123"}, headers=csrf)
    assert done.status_code == 204, done.text
    assert (await client.get("/api/v1/customers")).status_code == 200
    again = await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": "新的密码abc123"})
    assert again.status_code == 200 and again.json()["must_change_password"] is False
    assert [r["action"] for r in await AuditLog.select(AuditLog.action).where(
        AuditLog.action.like("password.%") | (AuditLog.action == "user.password_reset")).order_by(AuditLog.at).run()] == [
        "user.password_reset", "password.change_failed", "password.change"]


async def test_everyone_changes_their_own_password_with_csrf(client, org):
    csrf = await login(client, "rep_b1")
    no_csrf = await client.post("/api/v1/me/password", json={"current": PASSWORD, "new": "another password"})
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_failed"
    ok = await client.post("/api/v1/me/password", json={"current": PASSWORD, "new": "another password"}, headers=csrf)
    assert ok.status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 200  # this session stays


async def test_reassign_moves_open_records_in_one_step_with_one_audit_entry_each(client, org):
    rep = org.auth("rep_a1")
    customers = [(await client.post("/api/v1/customers", json={"name": f"客户{i}"}, headers=rep)).json() for i in range(2)]
    opps = [(await client.post("/api/v1/opportunities", json={"customer_id": customers[i % 2]["id"], "title": f"项目{i}"},
                               headers=rep)).json() for i in range(3)]
    lost = opps[2]["id"]
    await Opportunity.update({Opportunity.status: "lost"}).where(Opportunity.id == lost).run()
    await client.post(f"{ADMIN}/users/{org.ids['rep_a1']}/disable", headers=org.auth("admin"))

    to_self = await client.post(f"{ADMIN}/users/{org.ids['rep_a1']}/reassign", headers=org.auth("admin"),
                                json={"to_user_id": org.ids["rep_a1"]})
    assert to_self.status_code == 422 and to_self.json()["code"] == "invalid_reassign_target"
    resp = await client.post(f"{ADMIN}/users/{org.ids['rep_a1']}/reassign", headers=org.auth("admin"),
                             json={"to_user_id": org.ids["rep_b1"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["customers"] == 2 and body["opportunities"] == 2
    b_team = (await User.select(User.team).where(User.id == org.ids["rep_b1"]).first().run())["team"]
    rows = await Customer.select(Customer.owner, Customer.team).run()
    assert {(str(r["owner"]), r["team"]) for r in rows} == {(org.ids["rep_b1"], b_team)}
    moved = await Opportunity.select(Opportunity.id, Opportunity.owner, Opportunity.team).where(
        Opportunity.status == "open").run()
    assert {str(r["owner"]) for r in moved} == {org.ids["rep_b1"]} and {r["team"] for r in moved} == {b_team}
    kept = await Opportunity.select(Opportunity.owner).where(Opportunity.id == lost).first().run()
    assert str(kept["owner"]) == org.ids["rep_a1"]
    audit_rows = await AuditLog.select().where(AuditLog.action.like("%.reassign")).run()
    assert sorted((r["action"], r["target_id"]) for r in audit_rows) == sorted(
        [("customer.reassign", c["id"]) for c in customers] + [("opportunity.reassign", o["id"]) for o in opps[:2]])
    # the new owner's manager sees the deal now; the old one does not
    assert (await client.get(f"/api/v1/opportunities/{opps[0]['id']}", headers=org.auth("mgr_b"))).status_code == 200
    assert (await client.get(f"/api/v1/opportunities/{opps[0]['id']}", headers=org.auth("mgr_a"))).status_code == 404
    disabled = await client.post(f"{ADMIN}/users/{org.ids['rep_b1']}/reassign", headers=org.auth("admin"),
                                 json={"to_user_id": org.ids["rep_a1"]})
    assert disabled.status_code == 422
