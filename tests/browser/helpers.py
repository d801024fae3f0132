"""Helpers for the real-browser tests: what a person does (log in) and what the tests look at."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/lib/chromium/chromium")
SKIP_REASON = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
SHOTS = Path("/tmp/sg-shots")
PASSWORD = "correct horse battery"
VIEWPORT = {"width": 390, "height": 844}


def log_in(page, username: str = "rep", password: str = PASSWORD) -> None:
    """Log in through the login page like a person would, and wait for the customers list."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/customers")


def wait_for_service_worker(page) -> None:
    """Wait until the service worker is active and controls this page (reloading once if needed)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller")


def cached_page_paths(page) -> list[str]:
    """Paths held in the service worker's page cache."""
    return page.evaluate("""async () => {
        if (!(await caches.has("salesgate-pages"))) return [];
        const cache = await caches.open("salesgate-pages");
        return (await cache.keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
    }""")


def screenshot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def move_with_override(server, opp_id: str, *stages: str, who: str = "admin") -> dict:
    """Move an opportunity through the given stages as an admin overriding the gates (test setup)."""
    body = {}
    for to in stages:
        resp = server.api("POST", f"/api/v1/opportunities/{opp_id}/transition", who=who,
                          json={"to": to, "override": True, "reason": "浏览器测试：跳过前面的步骤"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
    return body
