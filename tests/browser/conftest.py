"""Real-browser fixtures: the app as a subprocess (``python -m server.cli serve``) on a free
port with a fresh database and bucket, a rep and a customer made through the CLI and the
JSON API, and Debian's Chromium driven by Playwright's sync API as a phone (390x844, zh-CN).

Playwright's sync API marks its own event loop as running between calls, so it must not
be alive while other fixtures or tests call ``asyncio.run``: it is started per test, after
the server and the data, and stopped before them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.browser.helpers import CHROMIUM, PASSWORD, SKIP_REASON, VIEWPORT

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, who: str = "rep", **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def add_user(self, username: str, *, roles: str, display_name: str, team: str | None = "Team A",
                 token: bool = True, manager: str | None = None) -> None:
        """Another user through the CLI (as an admin would), with an API token unless told not to;
        ``manager`` is the username of their direct manager."""
        team_args = ["--team", team] if team else []
        manager_args = ["--manager", manager] if manager else []
        _cli(self.env, self.log.parent, "user", "add", username, "--password-stdin", "--roles", roles,
             "--display-name", display_name, *team_args, *manager_args, stdin=PASSWORD + "\n")
        if token:
            resp = httpx.post(self.base_url + "/api/v1/auth/tokens",
                              json={"username": username, "password": PASSWORD, "name": "browser tests"}, timeout=10)
            assert resp.status_code == 201, resp.text
            self.tokens[username] = resp.json()["token"]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _cli(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"salesgate {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


@pytest.fixture
def server_env(database_url, s3_server, tmp_path) -> dict[str, str]:
    # Only what a process needs from the outside, then the app's settings: no SALESGATE_*
    # variable of the developer's shell (or .env: the cwd is tmp_path) leaks in.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "SALESGATE_DATABASE_URL": database_url,
        "SALESGATE_S3_ENDPOINT": f"http://{s3_server.endpoint}",
        "SALESGATE_S3_ACCESS_KEY": s3_server.access_key,
        "SALESGATE_S3_SECRET_KEY": s3_server.secret_key,
        "SALESGATE_S3_BUCKET": f"b{uuid.uuid4().hex[:12]}",
        "SALESGATE_VAR_DIR": str(tmp_path / "var"),
        "SALESGATE_MEDIA_DIR": str(tmp_path / "media"),
        "SALESGATE_HOST": "127.0.0.1",
        "SALESGATE_LOG_LEVEL": "WARNING",
    })
    return env


@pytest.fixture
def server(server_env, tmp_path):
    """The app running as ``salesgate serve`` with one rep (``rep``) and an API token for it."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                                env=server_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    srv = Server(base_url=f"http://127.0.0.1:{port}", env=server_env, log=log)
    try:
        # The user is made while the server starts (both migrate idempotently).
        _cli(server_env, tmp_path, "user", "add", "rep", "--password-stdin", "--roles", "rep",
             "--team", "Team A", "--display-name", "李销售", stdin=PASSWORD + "\n")
        _wait_healthy(proc, srv.base_url, log)
        resp = httpx.post(srv.base_url + "/api/v1/auth/tokens",
                          json={"username": "rep", "password": PASSWORD, "name": "browser tests"}, timeout=10)
        assert resp.status_code == 201, resp.text
        srv.tokens["rep"] = resp.json()["token"]
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def customer(server) -> dict:
    """A customer of the rep, made through the JSON API."""
    resp = server.api("POST", "/api/v1/customers",
                      json={"name": "王建国", "phone": "138 1234 5678", "company": "华东精密机械有限公司",
                            "title": "采购经理"})
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


@pytest.fixture
def browser(server):
    """Chromium, started after the server (see the module docstring) and closed before it."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def launch_browser(server):
    """``launch(*extra_args)``: Chromium with extra flags (e.g. a fake camera); the fixed-args
    ``browser`` fixture stays as it is. Started after the server and closed before it, like it."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    with sync_playwright() as pw:
        opened = []

        def launch(*extra_args: str):
            opened.append(pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args],
                                             headless=True))
            return opened[-1]
        try:
            yield launch
        finally:
            for b in opened:
                b.close()


def phone_context(browser, server, **options):
    """A context like a phone (390x844, zh-CN, Shanghai time) with the service worker allowed."""
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True,
                              locale="zh-CN", timezone_id="Asia/Shanghai", base_url=server.base_url,
                              service_workers="allow", **options)
    ctx.set_default_timeout(10_000)
    ctx.set_default_navigation_timeout(15_000)
    return ctx


@pytest.fixture
def context(browser, server):
    ctx = phone_context(browser, server)
    yield ctx
    ctx.close()


@pytest.fixture
def js_errors() -> list[str]:
    """Script errors and CSP refusals seen by the page; a test asserts the list is empty."""
    return []


@pytest.fixture
def page(context, js_errors):
    p = context.new_page()

    def on_console(msg) -> None:
        # Offline tests make the browser log failed loads; only script and CSP trouble counts.
        if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused" in msg.text):
            js_errors.append(f"console: {msg.text}")

    p.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
    p.on("console", on_console)
    return p
