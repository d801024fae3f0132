"""Security checks over the whole route table: CSRF, headers, sessions, throttling, uploads, secrets in logs.

Each test would fail if the protection it names stopped working; routes come from the app
itself, so a new route is covered without editing this file.
"""

from __future__ import annotations

import io
import logging
import re
import urllib.request
import zipfile

import httpx
import pytest

from server.tables import Attachment, AuditLog, Customer

from tests.conftest import running
from tests.integration.helpers import PASSWORD, login, make_org
from tests.integration.test_route_matrix import app_routes
from tests.unit.test_filetypes import PDF, PNG

DUMMY = "00000000-0000-4000-8000-000000000000"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _public(app, method: str, path: str) -> bool:
    for route in app.routes:
        if route.path == path:
            return any(method in h.http_methods and h.opt.get("exclude_from_auth") for h in route.route_handlers)
    return False


def _concrete(path: str) -> str:
    path = path.replace("{file_path:path}", "app.css").replace("{locale:str}", "en")
    path = re.sub(r"\{[^}]+:int\}", "1", path)
    return re.sub(r"\{[^}]+\}", DUMMY, path)


async def test_every_unsafe_route_refuses_a_cookie_session_without_the_csrf_token(client, app):
    """A page on another site can make the browser send the session cookie, never the header."""
    await make_org()
    csrf = await login(client, "admin")
    routes = [(m, p) for m, p in sorted(app_routes(app)) if m in UNSAFE and not _public(app, m, p)]
    assert len(routes) >= 30
    before = await AuditLog.count().run()
    customers = await Customer.count().run()
    for method, path in routes:
        for headers in ({}, {"X-CSRF-Token": csrf["X-CSRF-Token"][:-2] + "xx"}, {"X-CSRF-Token": ""}):
            resp = await client.request(method, _concrete(path), headers=headers, json={"name": "跨站"})
            assert resp.status_code == 403 and resp.json()["code"] == "csrf_failed", (method, path, resp.text)
        # a cross-site HTML form (no custom header possible) is refused the same way
        form = await client.request(method, _concrete(path), data={"name": "跨站"})
        assert form.status_code == 403, (method, path)
    assert await AuditLog.count().run() == before and await Customer.count().run() == customers
    ok = await client.post("/api/v1/customers", json={"name": "同站"}, headers=csrf)
    assert ok.status_code == 201


async def test_the_csrf_token_and_session_change_at_login_and_a_planted_session_is_not_kept(client):
    await make_org()
    client.cookies.set("sg_session", "planted-by-an-attacker", domain="testserver.local")
    first = await login(client, "rep_a1")
    session1 = client.cookies.get("sg_session")
    assert session1 and session1 != "planted-by-an-attacker"
    second = await login(client, "rep_a1")
    assert client.cookies.get("sg_session") != session1 and second != first
    # the first session's CSRF token is no good with the new session
    assert (await client.post("/api/v1/customers", json={"name": "x"}, headers=first)).status_code == 403
    client.cookies.set("sg_session", session1)
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_token_creation_is_throttled_like_login_and_unknown_users_look_like_wrong_passwords(client):
    await make_org()
    unknown = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 10})
    wrong = await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": "x" * 10})
    assert unknown.status_code == wrong.status_code == 401 and unknown.json() == wrong.json()
    for _ in range(9):
        r = await client.post("/api/v1/auth/tokens", json={"username": "rep_a1", "password": "bad", "name": "t"})
        assert r.status_code == 401
    locked = await client.post("/api/v1/auth/tokens", json={"username": "rep_a1", "password": PASSWORD, "name": "t"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert (await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": PASSWORD})).status_code == 429


def _check_headers(resp, where: str, https: bool) -> None:
    h = resp.headers
    csp = h.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp, where
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), where
    assert h.get("x-frame-options") == "DENY", where
    if https:
        assert h.get("strict-transport-security", "").startswith("max-age="), where
    else:
        assert "strict-transport-security" not in h, where


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_security_headers_on_every_page_and_api_answer(app, scheme):
    """Every GET route, signed in and not, plus errors (404, 405, 401, 422, 403): all carry the headers."""
    async with running(app):
        await make_org()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://sg.test") as c:
            gets = sorted(p for m, p in app_routes(app) if m == "GET")
            for path in gets:
                resp = await c.get(_concrete(path), follow_redirects=False)
                _check_headers(resp, f"anonymous GET {path} -> {resp.status_code}", scheme == "https")
            await login(c, "admin")
            for path in gets:
                resp = await c.get(_concrete(path), follow_redirects=False)
                assert resp.status_code < 500, path
                _check_headers(resp, f"admin GET {path} -> {resp.status_code}", scheme == "https")
            for resp in (await c.get("/no/such/page"), await c.delete("/api/v1/me"),
                         await c.post("/api/v1/customers", json={"name": "x"}),
                         await c.get("/api/v1/customers", params={"limit": "many"})):
                assert resp.status_code in (403, 404, 405, 400, 422)
                _check_headers(resp, f"error {resp.status_code} {resp.url}", scheme == "https")


# ---------------------------------------------------------------- uploads, on both paths


def _xlsx_bomb() -> bytes:
    """A workbook whose shared strings inflate 1,000 times (about 60 MB from 60 kB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/sharedStrings.xml", "<sst>" + "A" * (60 * 1024 * 1024) + "</sst>")
    return buf.getvalue()


PDF_HTML_POLYGLOT = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                     b"<html><body><script>fetch('/api/v1/me').then(r=>r.text()).then(alert)</script></body></html>\n"
                     b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML_AS_PDF = b"%PDF-1.4\n<html><script>alert(1)</script></html>"


async def _opp(client, org):
    c = (await client.post("/api/v1/customers", json={"name": "上传"}, headers=org.auth("rep_a1"))).json()
    return (await client.post("/api/v1/opportunities", json={"customer_id": c["id"], "title": "上传"},
                              headers=org.auth("rep_a1"))).json()


async def _multipart(client, auth, opp_id, material, name, data):
    return await client.post(f"/api/v1/opportunities/{opp_id}/attachments", headers=auth,
                             files={"material": (None, material), "file": (name, data, "application/pdf")})


async def _direct(client, auth, opp_id, material, name, data, declared=None):
    pre = await client.post(f"/api/v1/opportunities/{opp_id}/attachments/presign", headers=auth,
                            json={"material": material, "filename": name, "size": declared or len(data)})
    if pre.status_code != 201:
        return pre
    ticket = pre.json()
    urllib.request.urlopen(urllib.request.Request(ticket["url"], data=data, method="PUT"), timeout=30).close()
    return await client.post(f"/api/v1/attachments/{ticket['attachment_id']}/confirm", headers=auth)


@pytest.mark.parametrize("path", ["multipart", "direct"])
async def test_hostile_uploads_are_refused_and_leave_nothing_behind(client, storage, path):
    org = await make_org()
    opp = await _opp(client, org)
    auth = org.auth("rep_a1")
    send = _multipart if path == "multipart" else _direct
    cases = [
        ("requirements_summary", "plan.xlsx", _xlsx_bomb(), 415),  # zip bomb: refused before it is opened
        ("tech_confirmation_letter", "x.svg", SVG, 415),             # SVG with script: not an allowed type
        ("tech_confirmation_letter", "x.pdf", SVG, 415),             # ... nor when named .pdf
        ("tech_confirmation_letter", "x.pdf", HTML_AS_PDF, 415),     # HTML with a PDF header
        ("tech_confirmation_letter", "letter.pdf", PNG, 415),        # wrong extension for the bytes
        ("tech_confirmation_letter", "big.pdf", PDF + b"%" + b"x" * (20 * 1024 * 1024), 413),
    ]
    for material, name, data, status in cases:
        resp = await send(client, auth, opp["id"], material, name, data)
        assert resp.status_code == status, (name, resp.text)
        assert resp.json()["detail"].endswith(".") and resp.json()["code"] in ("unsupported_file_type",
                                                                               "file_too_large")
    assert await Attachment.count().run() == 0
    assert await storage.list(f"opportunities/{opp['id']}/") == []


async def test_a_direct_upload_bigger_than_declared_is_refused_at_confirm(client, storage):
    org = await make_org()
    opp = await _opp(client, org)
    big = PDF + b"%" + b"x" * (20 * 1024 * 1024)
    resp = await _direct(client, org.auth("rep_a1"), opp["id"], "tech_confirmation_letter", "small.pdf", big,
                         declared=1000)
    assert resp.status_code == 413
    assert await Attachment.count().run() == 0 and await storage.list(f"opportunities/{opp['id']}/") == []


@pytest.mark.parametrize("path", ["multipart", "direct"])
async def test_names_lose_paths_and_control_characters_and_a_polyglot_is_served_only_as_a_pdf_download(
        client, storage, path):
    org = await make_org()
    opp = await _opp(client, org)
    auth = org.auth("rep_a1")
    send = _multipart if path == "multipart" else _direct
    # (a JSON body with a NUL is refused as a whole, so the direct upload's name has none)
    evil = "../../etc/\x00pass\r\nwd\x1b[31m.html" if path == "multipart" else "../../etc/pass\r\nwd\x1b[31m.html"
    resp = await send(client, auth, opp["id"], "tech_confirmation_letter", evil, PDF_HTML_POLYGLOT)
    assert resp.status_code in (200, 201), resp.text
    body = resp.json()
    name = body["filename"]  # (httpx sends a NUL in a multipart file name as %00)
    assert name.endswith("passwd[31m.pdf") and "/" not in name and ".." not in name, name
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in name), name
    assert body["content_type"] == "application/pdf"
    row = await Attachment.select().where(Attachment.id == body["id"]).first().run()
    assert re.fullmatch(rf"opportunities/{opp['id']}/[0-9a-f-]{{36}}\.pdf", row["object_key"])
    down = await client.get(f"/api/v1/attachments/{body['id']}/download", headers=auth)
    with urllib.request.urlopen(down.headers["location"], timeout=5) as got:
        assert got.headers["Content-Type"] == "application/pdf"  # never text/html, whatever the bytes hold
        disposition = got.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "\n" not in disposition and ".." not in disposition


# ---------------------------------------------------------------- push endpoints


async def test_push_subscriptions_to_unlisted_hosts_are_refused(client, settings):
    org = await make_org()
    keys = {"p256dh": "BJ_196MXWOQbYognpDubIP2DX8Bn2aYCHwvXUaMYiEpLcMGbnGNYYoivqsqiAEehw0XRqhkj3Mv0TY-UATTqorM",
            "auth": "c2FsZXNnYXRlLXRlc3QxNg"}
    assert settings.push_hosts == ("127.0.0.1",)
    for endpoint in ("https://fcm.googleapis.com/fcm/send/x",  # a real push service, but not listed here
                     "https://127.0.0.1.evil.example/push", "https://localhost/push", "http://169.254.169.254/x",
                     "https://127.0.0.2/push", "https://[::ffff:127.0.0.1]/push", "https://0x7f000001/push"):
        resp = await client.post("/api/v1/push/subscriptions", headers=org.auth("rep_a1"),
                                 json={"endpoint": endpoint, "keys": keys})
        assert resp.status_code == 422 and resp.json()["code"] == "push_host_not_allowed", endpoint
    listed = await client.post("/api/v1/push/subscriptions", headers=org.auth("rep_a1"),
                               json={"endpoint": "https://127.0.0.1:9/push/ok", "keys": keys})
    assert listed.status_code == 201


# ---------------------------------------------------------------- secrets in logs


async def test_no_password_token_or_secret_reaches_the_logs(client, caplog):
    """Log in, fail a login, change and reset a password, make and use a token, register a robot secret:
    none of those secrets appears in any log record (the app's, the access log's, the libraries')."""
    caplog.set_level(logging.INFO)  # what `salesgate serve` configures (basicConfig INFO) ...
    caplog.set_level(logging.DEBUG, logger="salesgate")  # ... with SALESGATE_LOG_LEVEL=DEBUG for the app
    org = await make_org()
    secrets_seen: list[str] = [PASSWORD, "wrong-Passw0rd-guess"]
    await client.post("/api/v1/auth/login", json={"username": "rep_a1", "password": "wrong-Passw0rd-guess"})
    csrf = await login(client, "rep_a1")
    secrets_seen += [client.cookies.get("sg_session"), csrf["X-CSRF-Token"]]
    changed = await client.post("/api/v1/me/password", headers=csrf,
                                json={"current": PASSWORD, "new": "N3w-secret-pass"})
    assert changed.status_code == 204
    secrets_seen.append("N3w-secret-pass")
    made = await client.post("/api/v1/auth/tokens", json={"username": "rep_a2", "password": PASSWORD, "name": "ci"})
    token = made.json()["token"]
    secrets_seen.append(token)
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    reset = await client.post(f"/api/v1/admin/users/{org.ids['rep_b1']}/password-reset", headers=org.auth("admin"))
    assert reset.status_code == 200, reset.text
    secrets_seen += [v for k, v in reset.json().items() if "password" in k and isinstance(v, str)]
    robot = await client.put(f"/api/v1/teams/{(await _team(client, org))}/webhooks", headers=org.auth("admin"),
                             json={"kind": "dingtalk", "url": "http://127.0.0.1:9/robot/send?access_token=TOKEN-r0b0t",
                                   "secret": "SEC-r0b0t-signing-secret"})
    assert robot.status_code == 200, robot.text
    assert "SEC-r0b0t-signing-secret" not in robot.text
    secrets_seen += ["SEC-r0b0t-signing-secret"]
    assert len(secrets_seen) >= 8 and all(secrets_seen)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert logged  # the requests were logged at all
    for secret in secrets_seen:
        assert secret not in logged, f"a secret reached the logs: {secret[:6]}…"


async def _team(client, org) -> str:
    return (await client.get("/api/v1/me", headers=org.auth("rep_a1"))).json()["team_id"]


@pytest.mark.slow
def test_serve_output_holds_no_secret(database_url, tmp_path):
    """`salesgate serve` as a subprocess, debug logging on: its stdout/stderr (access log included) after
    a failed login, a login, a token made and used, and an admin password reset holds none of them."""
    import json
    import subprocess
    import sys
    import time

    from tests.integration.test_cli import ROOT, _env, _free_port

    port = _free_port()
    env = _env(database_url, tmp_path, SALESGATE_PORT=str(port), SALESGATE_LOG_LEVEL="DEBUG")
    subprocess.run([sys.executable, "-m", "server.cli", "user", "add", "boss", "--password-stdin", "--roles", "admin"],
                   input="Adm1n-secret-pw\n", env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    subprocess.run([sys.executable, "-m", "server.cli", "user", "add", "rep", "--password-stdin", "--roles", "rep"],
                   input="R3p-secret-pw\n", env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    log_file = tmp_path / "serve.log"
    with open(log_file, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
    seen = ["Adm1n-secret-pw", "R3p-secret-pw", "Wr0ng-guess-pw"]
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=10) as c:
            assert c.post("/api/v1/auth/login", json={"username": "rep", "password": "Wr0ng-guess-pw"}).status_code == 401
            boss = c.post("/api/v1/auth/login", json={"username": "boss", "password": "Adm1n-secret-pw"})
            assert boss.status_code == 200
            seen += [c.cookies.get("sg_session"), boss.json()["csrf_token"]]
            csrf = {"X-CSRF-Token": boss.json()["csrf_token"]}
            rep_id = [u["id"] for u in c.get("/api/v1/admin/users").json()["items"] if u["username"] == "rep"][0]
            reset = c.post(f"/api/v1/admin/users/{rep_id}/password-reset", headers=csrf)
            assert reset.status_code == 200, reset.text
            seen += [v for k, v in reset.json().items() if "password" in k and isinstance(v, str)]
            token = c.post("/api/v1/auth/tokens", json={"username": "boss", "password": "Adm1n-secret-pw",
                                                        "name": "ci"}).json()["token"]
            seen.append(token)
            assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert c.get("/api/v1/me", params={"next": "/"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = log_file.read_text(errors="replace")
    assert "/api/v1/auth/login" in output or "POST" in output, output[-2000:]  # requests were logged
    assert len(seen) >= 6 and all(seen)
    for secret in seen:
        assert secret not in output, f"a secret reached serve's output: {secret[:6]}…"


async def test_a_nul_character_in_text_is_bad_input_not_a_server_error(client):
    """PostgreSQL refuses U+0000 in text: that was a 500 on every text field."""
    org = await make_org()
    resp = await client.post("/api/v1/customers", json={"name": "甲\u0000乙"}, headers=org.auth("rep_a1"))
    assert resp.status_code == 400 and resp.json()["code"] == "validation_error", resp.text  # a body is checked first
    assert resp.json()["detail"].endswith(".") and "NUL" in resp.json()["detail"]
    search = await client.get("/api/v1/customers", params={"q": "甲\u0000"}, headers=org.auth("rep_a1"))
    assert search.status_code in (200, 422), search.text
