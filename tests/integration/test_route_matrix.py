"""The access matrix, built from the app's own route table: every route × role × ownership.

Two records: A (rep_a1's customer and opportunity in team A; presales collaborates on the
opportunity) and B (rep_b1's, team B). Each role probes both, with bearer tokens; anonymous
probes carry nothing. A role that may not see a record gets 404 (its existence is not revealed),
a role that lacks the right gets 403, anonymous gets 401 (API) or a redirect to /login (pages).
Besides the status, no answer to someone who may not see a record may contain its marker
(the customer's and the opportunity's names carry MARKA / MARKB), exports included.

A new route without an entry in MATRIX fails ``test_every_route_has_a_matrix_entry``, which
prints the routes it misses. To add one: a key ``(METHOD, route.path)`` exactly as Litestar
prints it, and a list of Probe(path, rule, ...) using the world's ids ({opp_a}, {customer_b}, …).
Rules: anyone, signed_in, sees("a"), only("admin"), only(...managers), or any function role -> outcome.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

import pytest

from server.playbook_loader import DEFAULT_PLAYBOOK
from server.queries.common import utcnow
from server.tables import Alert, Customer, InboxItem, Opportunity, OpportunityCollaborator

from tests.integration.helpers import DEFAULT_ORG, PASSWORD, make_org
from tests.unit.test_filetypes import PDF, PNG

ROLES = ("rep_a1", "rep_a2", "rep_b1", "mgr_a", "mgr_b", "presales", "admin", "anon")
SEES = {"a": {"rep_a1", "mgr_a", "presales", "admin"}, "b": {"rep_b1", "mgr_b", "admin"}}
MANAGERS = ("mgr_a", "mgr_b", "admin")
# a real browser's subscription keys (an uncompressed P-256 point and 16 bytes)
KEYS = {"p256dh": "BJ_196MXWOQbYognpDubIP2DX8Bn2aYCHwvXUaMYiEpLcMGbnGNYYoivqsqiAEehw0XRqhkj3Mv0TY-UATTqorM",
        "auth": "c2FsZXNnYXRlLXRlc3QxNg"}
PEOPLE = DEFAULT_ORG | {"victim": (("rep",), "Team A", "mgr_a")}  # the target of admin actions

Rule = Callable[[str], str]  # role -> "ok" | "404" | "403" | "anon"


def anyone(role: str) -> str:
    return "ok"


def signed_in(role: str) -> str:
    return "anon" if role == "anon" else "ok"


def sees(record: str) -> Rule:
    def rule(role: str) -> str:
        return "anon" if role == "anon" else "ok" if role in SEES[record] else "404"
    rule.__name__ = f"sees_{record}"
    return rule


def only(*roles: str, other: str = "403") -> Rule:
    def rule(role: str) -> str:
        return "anon" if role == "anon" else "ok" if role in roles else other
    rule.__name__ = "only_" + "_".join(roles)
    return rule


admin_only = only("admin")
managers = only(*MANAGERS)


def board_of(record: str) -> Rule:
    """A team's manager board: its manager and admins; another team's manager does not find it (404),
    people without the manager role are refused (403)."""
    def rule(role: str) -> str:
        if role == "anon":
            return "anon"
        if role in ("admin", f"mgr_{record}"):
            return "ok"
        return "404" if role.startswith("mgr_") else "403"
    rule.__name__ = f"board_of_{record}"
    return rule


@dataclass
class Probe:
    path: str  # a format string over the world's ids
    rule: Rule
    json: object = None
    params: dict | None = None
    files: dict | None = None
    ok: tuple[int, ...] = ()  # what "allowed" looks like when it is not any 2xx/3xx
    last: bool = False  # changes the world for later probes: run after the others


@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)
    org: object = None


def _pdf_form(material: str = "contract_scan") -> dict:
    return {"material": (None, material), "file": ("合同.pdf", PDF, "application/pdf")}


def _png_form() -> dict:
    return {"file": ("shot.png", PNG, "image/png")}


def both(path: str, rule_for: Callable[[str], Rule] = sees, **kw) -> list[Probe]:
    """The same probe on record A and on record B ({x} in path becomes {x_a} / {x_b})."""
    return [Probe(path.replace("}", "_a}").replace("{_a}", "{}"), rule_for("a"), **kw),
            Probe(path.replace("}", "_b}").replace("{_b}", "{}"), rule_for("b"), **kw)]


P = Probe
MATRIX: dict[tuple[str, str], list[Probe]] = {
    # public
    ("GET", "/healthz"): [P("/healthz", anyone)],
    ("GET", "/login"): [P("/login", anyone)],
    ("GET", "/offline"): [P("/offline", anyone)],
    ("GET", "/lang/{locale:str}"): [P("/lang/en", anyone)],
    ("GET", "/sw.js"): [P("/sw.js", anyone)],
    ("GET", "/manifest.webmanifest"): [P("/manifest.webmanifest", anyone)],
    ("GET", "/static/{file_path:path}"): [P("/static/app.css", anyone)],
    ("GET", "/schema/openapi.json"): [P("/schema/openapi.json", anyone)],
    ("GET", "/schema"): [P("/schema", anyone)],
    ("GET", "/schema/{path:str}"): [P("/schema/openapi.json", anyone)],
    ("GET", "/api/v1/push/vapid-public-key"): [P("/api/v1/push/vapid-public-key", anyone)],
    ("POST", "/api/v1/auth/login"): [P("/api/v1/auth/login", anyone, json={"username": "rep_a2", "password": PASSWORD})],
    ("POST", "/api/v1/auth/tokens"): [P("/api/v1/auth/tokens", anyone,
                                        json={"username": "rep_a2", "password": PASSWORD, "name": "m"})],
    # the signed-in person's own things
    ("GET", "/api/v1/me"): [P("/api/v1/me", signed_in)],
    ("GET", "/api/v1/playbook"): [P("/api/v1/playbook", signed_in)],
    ("GET", "/api/v1/inbox"): [P("/api/v1/inbox", signed_in)],
    ("GET", "/api/v1/inbox/unread"): [P("/api/v1/inbox/unread", signed_in)],
    ("POST", "/api/v1/inbox/{item_id:str}/read"): [P("/api/v1/inbox/{inbox_a}/read", only("rep_a1", other="404"))],
    ("POST", "/api/v1/inbox/read-all"): [P("/api/v1/inbox/read-all", signed_in)],
    ("GET", "/api/v1/push/subscriptions"): [P("/api/v1/push/subscriptions", signed_in)],
    ("POST", "/api/v1/push/subscriptions"): [P("/api/v1/push/subscriptions", signed_in, json={
        "endpoint": "https://127.0.0.1:9/push/matrix", "keys": KEYS})],
    ("DELETE", "/api/v1/push/subscriptions"): [P("/api/v1/push/subscriptions", signed_in,
                                                 params={"endpoint": "https://127.0.0.1:9/push/none"})],
    ("POST", "/api/v1/push/test"): [P("/api/v1/push/test", signed_in)],
    ("POST", "/api/v1/me/password"): [P("/api/v1/me/password", signed_in, json={"current": "wrong", "new": "x" * 12},
                                        ok=(422,))],
    ("POST", "/api/v1/leads/parse"): [P("/api/v1/leads/parse", signed_in, json={"payload": "MECARD:N:张三;TEL:13900000009;;"})],
    # a badge naming A's phone merges into A; nobody who may not see A learns its name
    ("POST", "/api/v1/leads/scan"): [P("/api/v1/leads/scan", signed_in,
                                       json={"payload": "MECARD:N:访客;TEL:13800000001;;"})],
    ("GET", "/api/v1/checkins/today"): [P("/api/v1/checkins/today", signed_in)],
    ("PUT", "/api/v1/checkins/today"): [P("/api/v1/checkins/today", signed_in, json={"done": ["拜访"]})],
    ("GET", "/api/v1/checkins/team"): [P("/api/v1/checkins/team", managers)],
    ("POST", "/api/v1/evidence"): [P("/api/v1/evidence", signed_in, files=_png_form())],
    # the heat map of one's own team (members too); the organisation's for admins
    ("GET", "/api/v1/contributions/heat"): [P("/api/v1/contributions/heat", signed_in),
                                            P("/api/v1/contributions/heat", signed_in, params={"scope": "me"}),
                                            P("/api/v1/contributions/heat", admin_only, params={"scope": "org"})],
    # customers
    ("GET", "/api/v1/customers"): [P("/api/v1/customers", signed_in, params={"limit": 100}),
                                   P("/api/v1/customers", signed_in, params={"q": "MARK"})],
    ("POST", "/api/v1/customers"): [P("/api/v1/customers", signed_in, json={"name": "新客户"})],
    ("GET", "/api/v1/customers/{customer_id:str}"): both("/api/v1/customers/{customer}"),
    ("GET", "/api/v1/customers/{customer_id:str}/activities"): both("/api/v1/customers/{customer}/activities"),
    ("POST", "/api/v1/activities"): [P("/api/v1/activities", sees("a"), json={"customer_id": "{customer_a}", "kind": "call"}),
                                     P("/api/v1/activities", sees("b"), json={"customer_id": "{customer_b}", "kind": "note"}),
                                     P("/api/v1/activities", sees("a"), json={"customer_id": "{customer_a}", "kind": "note",
                                                                              "opportunity_id": "{opp_a}"})],
    ("GET", "/api/v1/templates/{key:str}/prefill"): [
        P("/api/v1/templates/repeat_order/prefill", sees("a"), params={"customer_id": "{customer_a}"}),
        P("/api/v1/templates/repeat_order/prefill", sees("b"), params={"customer_id": "{customer_b}"})],
    ("POST", "/api/v1/templates/{key:str}/entries"): [
        P("/api/v1/templates/visit_log/entries", sees("a"), json={"values": {
            "customer": "{customer_a}", "met": "王工", "outcome": "positive", "next_step": "报价",
            "next_step_date": "2030-01-02"}})],
    ("POST", "/api/v1/workbench/snoozes"): [
        P("/api/v1/workbench/snoozes", sees(r), json={"customer_id": "{customer_%s}" % r, "reason": "出差",
                                                      "until": "{soon}"}) for r in "ab"],
    ("DELETE", "/api/v1/workbench/snoozes/{customer_id:str}"): both("/api/v1/workbench/snoozes/{customer}"),
    # opportunities and attachments
    ("GET", "/api/v1/opportunities"): [P("/api/v1/opportunities", signed_in, params={"limit": 100})],
    ("POST", "/api/v1/opportunities"): [P("/api/v1/opportunities", sees("a"), json={"customer_id": "{customer_a}",
                                                                                     "title": "再来一单"})],
    ("GET", "/api/v1/opportunities/{opp_id:str}"): both("/api/v1/opportunities/{opp}"),
    ("PATCH", "/api/v1/opportunities/{opp_id:str}"): both("/api/v1/opportunities/{opp}", json={"amount": 1000}),
    ("POST", "/api/v1/opportunities/{opp_id:str}/transition"): both(
        "/api/v1/opportunities/{opp}/transition", json={"to": "needs_analysis"}, ok=(409,)),  # gate_blocked names what is missing
    ("GET", "/api/v1/opportunities/{opp_id:str}/attachments"): both("/api/v1/opportunities/{opp}/attachments"),
    ("POST", "/api/v1/opportunities/{opp_id:str}/attachments"): both("/api/v1/opportunities/{opp}/attachments",
                                                                     files=_pdf_form()),
    ("POST", "/api/v1/opportunities/{opp_id:str}/attachments/presign"): both(
        "/api/v1/opportunities/{opp}/attachments/presign",
        json={"material": "contract_scan", "filename": "c.pdf", "size": 100}),
    # only the uploader confirms a direct upload (rep_a1 made {pending_a})
    ("POST", "/api/v1/attachments/{attachment_id:str}/confirm"): [
        P("/api/v1/attachments/{pending_a}/confirm", only("rep_a1", other="404"), ok=(422,))],
    ("GET", "/api/v1/attachments/{attachment_id:str}/download"): [
        *both("/api/v1/attachments/{attachment}/download"),
        # evidence (no opportunity): the uploader, their managers and admins
        P("/api/v1/attachments/{evidence_a}/download", only("rep_a1", "mgr_a", "admin", other="404")),
    ],
    ("GET", "/api/v1/opportunities/{opp_id:str}/contributions"): both("/api/v1/opportunities/{opp}/contributions"),
    ("POST", "/api/v1/opportunities/{opp_id:str}/contributions"): both(
        "/api/v1/opportunities/{opp}/contributions", json={"kind": "tech_demo", "note": "演示"}),
    # insight and exports: the caller's scope; a rep asking for a team gets 403
    ("GET", "/api/v1/workbench/silent"): [P("/api/v1/workbench/silent", signed_in),
                                          P("/api/v1/workbench/silent", managers, params={"scope": "team"})],
    # aggregate health: managers see their team's and the organisation's team ranking (published)
    ("GET", "/api/v1/phi"): [P("/api/v1/phi", signed_in), P("/api/v1/phi", managers, params={"scope": "team"}),
                             P("/api/v1/phi", managers, params={"scope": "org"})],
    ("GET", "/api/v1/phi/opportunities"): [
        P("/api/v1/phi/opportunities", signed_in, params={"metric": "silent_rate"}),
        P("/api/v1/phi/opportunities", managers, params={"metric": "silent_rate", "scope": "team"}),
        # the deals behind the organisation's numbers are records: admins only
        P("/api/v1/phi/opportunities", admin_only, params={"metric": "silent_rate", "scope": "org"})],
    ("GET", "/api/v1/insight/lost-review"): [P("/api/v1/insight/lost-review", signed_in),
                                             P("/api/v1/insight/lost-review", managers, params={"scope": "team"})],
    ("GET", "/api/v1/exports/{filename:str}"): [
        *[P(f"/api/v1/exports/{name}.{fmt}", signed_in) for name in ("silent", "lost-review", "phi")
          for fmt in ("csv", "xlsx")],
        *[P(f"/api/v1/exports/{name}.{fmt}", managers, params={"scope": "team"})
          for name in ("silent", "lost-review", "phi") for fmt in ("csv", "xlsx")],
        P("/api/v1/exports/phi.xlsx", managers, params={"scope": "org"}),
        P("/api/v1/exports/silent.csv", managers, params={"scope": "org"}),
        P("/api/v1/exports/lost-review.csv", admin_only, params={"scope": "org"}),  # lists deals
    ],
    # chat robots: admins only
    ("GET", "/api/v1/teams/{team_id:str}/webhooks"): [P("/api/v1/teams/{team_a}/webhooks", admin_only)],
    ("PUT", "/api/v1/teams/{team_id:str}/webhooks"): [P("/api/v1/teams/{team_a}/webhooks", admin_only, json={
        "kind": "dingtalk", "url": "http://127.0.0.1:9/robot/send?access_token=x", "secret": "SEC-matrix"})],
    # pages
    ("GET", "/"): [P("/", signed_in)],
    ("GET", "/customers"): [P("/customers", signed_in)],
    ("GET", "/customers/new"): [P("/customers/new", signed_in)],
    ("GET", "/customers/{customer_id:str}"): both("/customers/{customer}"),
    ("GET", "/opportunities"): [P("/opportunities", signed_in)],
    ("GET", "/opportunities/{opp_id:str}"): both("/opportunities/{opp}"),
    ("GET", "/scan"): [P("/scan", signed_in)],
    ("GET", "/entry"): [P("/entry", signed_in)],
    ("GET", "/entry/{key:str}"): [P("/entry/visit_log", signed_in),
                                  # a customer one may not see is ignored (pick one instead), never shown
                                  P("/entry/repeat_order", signed_in, params={"customer_id": "{customer_a}"})],
    ("GET", "/me"): [P("/me", signed_in)],
    ("GET", "/outbox"): [P("/outbox", signed_in)],
    ("GET", "/inbox"): [P("/inbox", signed_in)],
    ("GET", "/checkin"): [P("/checkin", signed_in)],
    ("GET", "/workbench"): [P("/workbench", signed_in), P("/workbench", signed_in, params={"scope": "team"})],
    ("GET", "/health"): [P("/health", signed_in)],
    ("GET", "/health/opportunities"): [P("/health/opportunities", signed_in, params={"metric": "silent_rate"})],
    ("GET", "/password"): [P("/password", signed_in)],
    # administration: admins only
    ("GET", "/admin"): [P("/admin", admin_only)],
    ("GET", "/admin/users"): [P("/admin/users", admin_only)],
    ("GET", "/admin/users/new"): [P("/admin/users/new", admin_only)],
    ("GET", "/admin/users/{user_id:str}"): [P("/admin/users/{victim}", admin_only)],
    ("GET", "/admin/teams"): [P("/admin/teams", admin_only)],
    ("GET", "/admin/import"): [P("/admin/import", admin_only)],
    ("GET", "/admin/audit"): [P("/admin/audit", admin_only)],
    ("GET", "/api/v1/admin/users"): [P("/api/v1/admin/users", admin_only)],
    ("POST", "/api/v1/admin/users"): [P("/api/v1/admin/users", admin_only, json={"username": "newbie", "roles": ["rep"]})],
    ("GET", "/api/v1/admin/users/{user_id:str}"): [P("/api/v1/admin/users/{victim}", admin_only)],
    ("PATCH", "/api/v1/admin/users/{user_id:str}"): [P("/api/v1/admin/users/{victim}", admin_only,
                                                       json={"display_name": "受害者"})],
    ("POST", "/api/v1/admin/users/{user_id:str}/password-reset"): [
        P("/api/v1/admin/users/{victim}/password-reset", admin_only)],
    ("POST", "/api/v1/admin/users/{user_id:str}/reassign"): [
        P("/api/v1/admin/users/{victim}/reassign", admin_only, json={"to_user_id": "{rep_a2}"})],
    ("POST", "/api/v1/admin/users/{user_id:str}/disable"): [P("/api/v1/admin/users/{victim}/disable", admin_only,
                                                              last=True)],
    ("POST", "/api/v1/admin/users/{user_id:str}/enable"): [P("/api/v1/admin/users/{victim}/enable", admin_only,
                                                             last=True)],
    ("GET", "/api/v1/admin/teams"): [P("/api/v1/admin/teams", admin_only)],
    ("POST", "/api/v1/admin/teams"): [P("/api/v1/admin/teams", admin_only, json={"name": "Team C"})],
    ("PATCH", "/api/v1/admin/teams/{team_id:str}"): [P("/api/v1/admin/teams/{team_b}", admin_only,
                                                       json={"name": "Team B2"})],
    ("POST", "/api/v1/admin/users/import/preview"): [
        P("/api/v1/admin/users/import/preview", admin_only,
          files={"file": ("u.csv", "username,display_name,roles,team,manager\nimp1,导入,rep,Team A,\n".encode(),
                          "text/csv")})],
    ("POST", "/api/v1/admin/users/import"): [
        P("/api/v1/admin/users/import", admin_only,
          files={"file": ("u.csv", "username,display_name,roles,team,manager\nimp2,导入,rep,Team A,\n".encode(),
                          "text/csv")})],
    ("GET", "/api/v1/admin/audit"): [P("/api/v1/admin/audit", admin_only)],
    ("GET", "/api/v1/admin/audit.csv"): [P("/api/v1/admin/audit.csv", admin_only)],
    # the manager board and its key-account pins
    ("GET", "/api/v1/board"): [P("/api/v1/board", managers),
                               *[P("/api/v1/board", board_of(r), params={"team_id": "{team_%s}" % r}) for r in "ab"]],
    ("POST", "/api/v1/board/pins"): [
        P("/api/v1/board/pins", board_of(r), json={"customer_id": "{customer_%s}" % r, "team_id": "{team_%s}" % r})
        for r in "ab"],
    ("DELETE", "/api/v1/board/pins/{customer_id:str}"): [
        P("/api/v1/board/pins/{customer_%s}" % r, board_of(r), params={"team_id": "{team_%s}" % r}) for r in "ab"],
    ("GET", "/board"): [P("/board", managers),
                        *[P("/board", board_of(r), params={"team_id": "{team_%s}" % r}) for r in "ab"]],
    ("GET", "/board/reps/{user_id:str}"): [P("/board/reps/{rep_a1}", board_of("a"), params={"team_id": "{team_a}"})],
    # the playbook editor: admins only
    ("GET", "/admin/playbook"): [P("/admin/playbook", admin_only)],
    ("GET", "/admin/playbook/drafts/{draft_id:int}"): [P("/admin/playbook/drafts/{draft}", admin_only)],
    ("GET", "/api/v1/admin/playbook/versions"): [P("/api/v1/admin/playbook/versions", admin_only)],
    ("GET", "/api/v1/admin/playbook/schema"): [P("/api/v1/admin/playbook/schema", admin_only)],
    ("GET", "/api/v1/admin/playbook/versions/{number:int}"): [P("/api/v1/admin/playbook/versions/1", admin_only)],
    ("GET", "/api/v1/admin/playbook/versions/{number:int}/export"): [
        P("/api/v1/admin/playbook/versions/1/export", admin_only)],
    ("POST", "/api/v1/admin/playbook/drafts"): [P("/api/v1/admin/playbook/drafts", admin_only, json={})],
    ("POST", "/api/v1/admin/playbook/drafts/import"): [
        P("/api/v1/admin/playbook/drafts/import", admin_only,
          files={"file": ("playbook.yaml", DEFAULT_PLAYBOOK.read_bytes(), "application/yaml")})],
    ("GET", "/api/v1/admin/playbook/drafts/{draft_id:int}"): [P("/api/v1/admin/playbook/drafts/{draft}", admin_only)],
    ("PUT", "/api/v1/admin/playbook/drafts/{draft_id:int}"): [
        P("/api/v1/admin/playbook/drafts/{draft}", admin_only,
          json={"body": DEFAULT_PLAYBOOK.read_text(encoding="utf-8").replace("{", "{{").replace("}", "}}")})],
    ("GET", "/api/v1/admin/playbook/drafts/{draft_id:int}/review"): [
        P("/api/v1/admin/playbook/drafts/{draft}/review", admin_only)],
    ("POST", "/api/v1/admin/playbook/drafts/{draft_id:int}/publish"): [
        P("/api/v1/admin/playbook/drafts/{draft}/publish", admin_only, json={}, last=True)],
    ("DELETE", "/api/v1/admin/playbook/drafts/{draft_id:int}"): [
        P("/api/v1/admin/playbook/drafts/{draft2}", admin_only, last=True)],
    ("POST", "/api/v1/admin/playbook/versions/{number:int}/restore"): [
        P("/api/v1/admin/playbook/versions/1/restore", admin_only, json={}, last=True)],
    # ends the session it is sent with: last
    ("POST", "/api/v1/auth/logout"): [P("/api/v1/auth/logout", signed_in, last=True)],
}


def app_routes(app) -> set[tuple[str, str]]:
    return {(m, r.path) for r in app.routes for m in getattr(r, "methods", ()) if m not in ("HEAD", "OPTIONS")}


def test_every_route_has_a_matrix_entry(app):
    served = app_routes(app)
    missing = sorted(served - set(MATRIX), key=lambda mp: (mp[1], mp[0]))
    stale = sorted(set(MATRIX) - served)
    assert not missing, ("routes without an access-matrix entry in tests/integration/test_route_matrix.py "
                         "(add them to MATRIX):\n" + "\n".join(f'    ("{m}", "{p}"): [P(...)],' for m, p in missing))
    assert not stale, f"MATRIX entries for routes the app no longer serves: {stale}"


async def _world(client) -> World:
    org = await make_org(PEOPLE)
    ids = dict(org.ids)
    for rec, owner, phone in (("a", "rep_a1", "13800000001"), ("b", "rep_b1", "13800000002")):
        auth = org.auth(owner)
        mark = "MARK" + rec.upper()
        c = await client.post("/api/v1/customers", headers=auth, json={
            "name": f"客户{mark}", "phone": phone, "company": f"公司{mark}",
            "contacts": [{"name": f"联系人{mark}", "phone": phone}]})
        assert c.status_code == 201, c.text
        ids[f"customer_{rec}"], ids[f"team_{rec}"] = c.json()["id"], c.json()["team_id"]
        o = await client.post("/api/v1/opportunities", headers=auth,
                              json={"customer_id": ids[f"customer_{rec}"], "title": f"项目{mark}", "amount": 5})
        assert o.status_code == 201, o.text
        ids[f"opp_{rec}"] = o.json()["id"]
        up = await client.post(f"/api/v1/opportunities/{ids[f'opp_{rec}']}/attachments", headers=auth,
                               files={"material": (None, "contract_scan"), "file": (f"{mark}.pdf", PDF, "application/pdf")})
        assert up.status_code == 201, up.text
        ids[f"attachment_{rec}"] = up.json()["id"]
        ev = await client.post("/api/v1/evidence", headers=auth, files={"file": (f"{mark}.png", PNG, "image/png")})
        assert ev.status_code == 201, ev.text
        ids[f"evidence_{rec}"] = ev.json()["id"]
        pre = await client.post(f"/api/v1/opportunities/{ids[f'opp_{rec}']}/attachments/presign", headers=auth,
                                json={"material": "contract_scan", "filename": "p.pdf", "size": len(PDF)})
        assert pre.status_code == 201, pre.text
        ids[f"pending_{rec}"] = pre.json()["attachment_id"]
    await OpportunityCollaborator.insert(OpportunityCollaborator(opportunity=ids["opp_a"], user=ids["presales"],
                                                                 role="presales")).run()
    ids["soon"] = (utcnow() + timedelta(days=5)).date().isoformat()
    long_ago = utcnow() - timedelta(days=60)  # both customers are silent: they belong on the workbench and exports
    await Customer.update({Customer.created_at: long_ago, Customer.last_contact_at: long_ago}, force=True).run()
    await Opportunity.update({Opportunity.created_at: long_ago, Opportunity.last_contact_at: long_ago}, force=True).run()
    alert = Alert(key="matrix-a", kind="test", opportunity=ids["opp_a"], params={"title": "项目MARKA"})
    await Alert.insert(alert).run()
    item = InboxItem(alert=alert.id, user=ids["rep_a1"])
    await InboxItem.insert(item).run()
    ids["inbox_a"] = str(item.id)
    for name in ("draft", "draft2"):
        draft = await client.post("/api/v1/admin/playbook/drafts", headers=org.auth("admin"), json={})
        assert draft.status_code == 201, draft.text
        ids[name] = str(draft.json()["id"])
    return World(ids=ids, org=org)


def _fill(value, ids: dict[str, str]):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _text(resp) -> str:
    """What a person could read in the answer: xlsx exports are unzipped."""
    if resp.content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return resp.content.decode("utf-8", "replace")


def _matches(resp, expected: str, path: str, probe: Probe) -> bool:
    status = resp.status_code
    if expected == "anon":
        if path.startswith("/api/"):
            return status == 401
        return status in (302, 303) and resp.headers["location"].startswith("/login")
    if expected == "ok":
        return status in probe.ok or (200 <= status < 400 and "/login" not in resp.headers.get("location", ""))
    return status == int(expected)


def _probes():
    ordered = [(k, p) for k, ps in MATRIX.items() for p in ps]
    return [x for x in ordered if not x[1].last] + [x for x in ordered if x[1].last]


@pytest.mark.parametrize("role", ROLES)
async def test_access_matrix_every_route_role_and_ownership(client, role):
    world = await _world(client)
    ids = world.ids
    headers = {} if role == "anon" else world.org.auth(role)
    wrong: list[str] = []
    for (method, route), probe in _probes():
        path = _fill(probe.path, ids)
        expected = probe.rule(role)
        client.cookies.clear()
        resp = await client.request(method, path, headers=headers, params=_fill(probe.params, ids),
                                    json=_fill(probe.json, ids), files=probe.files, follow_redirects=False)
        client.cookies.clear()
        if resp.status_code >= 500 or not _matches(resp, expected, path, probe):
            wrong.append(f"{method} {path} {probe.params or ''}: expected {expected}, got {resp.status_code} "
                         f"{resp.text[:160]!r}")
            continue
        text = _text(resp)
        for rec in ("a", "b"):
            if role not in SEES[rec] and f"MARK{rec.upper()}" in text:
                wrong.append(f"{method} {path} {probe.params or ''}: shows record {rec.upper()} to {role}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_matrix_rules_cover_every_role():
    """A typo in a rule would quietly expect the wrong thing: each probe answers for every role."""
    for key, probes in MATRIX.items():
        for probe in probes:
            outcomes = {probe.rule(r) for r in ROLES}
            assert outcomes <= {"ok", "404", "403", "anon"}, key
            assert re.fullmatch(r"/[^ ]*", probe.path), key
