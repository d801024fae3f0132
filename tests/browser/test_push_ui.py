"""Alerts in a real Chromium: a push shown by the service worker and its tap, the inbox page with the
bell's unread count, and the Me page's notification section (which never asks on its own).

Headless Chromium cannot subscribe to a push service (no internet), so pushes are delivered with the
DevTools Protocol (ServiceWorker.deliverPushMessage), and a tap on a notification (an OS surface a
headless browser has not got) is asked of the worker by a message that runs its click code.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, move_with_override, screenshot, wait_for_service_worker

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_layout import LAYOUT_PROBLEMS_JS, MIN_TARGET_PX  # noqa: E402

NOTIFICATIONS_JS = """async (tag) => {
  const reg = await navigator.serviceWorker.ready;
  return (await reg.getNotifications(tag ? { tag } : {})).map((n) => (
    { title: n.title, body: n.body, tag: n.tag, data: n.data, icon: n.icon, badge: n.badge }));
}"""

# Counts the calls that would make the browser ask the user (a permission prompt).
COUNT_PROMPTS_JS = """(() => {
  window.__prompts = 0;
  const wrap = (owner, name) => {
    const original = owner && owner[name];
    if (!original) return;
    owner[name] = function (...args) { window.__prompts += 1; return original.apply(this, args); };
  };
  wrap(window.Notification, "requestPermission");
  wrap(window.PushManager && PushManager.prototype, "subscribe");
})()"""


def _registration_id(page, cdp, base_url: str) -> str:
    """The service worker registration of the app's scope, from the DevTools ServiceWorker domain."""
    found: dict[str, str] = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: found.update({r["scopeURL"]: r["registrationId"] for r in event["registrations"]}))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while base_url + "/" not in found:
        assert time.monotonic() < deadline, f"no registration for {base_url}/ in {found}"
        page.wait_for_timeout(50)  # lets Playwright dispatch the events
    return found[base_url + "/"]


def _wait_for(page, fn, what: str, timeout_s: float = 10):
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def test_push_shows_a_notification_and_its_tap_opens_the_opportunity(page, context, server, customer, js_errors):
    opp = server.api("POST", "/api/v1/opportunities", json={"customer_id": customer["id"], "title": "二期产线改造"})
    assert opp.status_code == 201, opp.text
    opp = opp.json()
    made = server.api("POST", "/api/v1/push/test")  # an inbox item, for the tap to mark read
    assert made.status_code == 201 and made.json()["devices"] == 0, made.text
    item = server.api("GET", "/api/v1/inbox").json()["items"][0]
    context.grant_permissions(["notifications"], origin=server.base_url)

    log_in(page)
    wait_for_service_worker(page)
    expect(page.locator("#inbox-bell .bell-count")).to_have_text("1")
    cdp = context.new_cdp_session(page)
    registration = _registration_id(page, cdp, server.base_url)

    tag = f"inbox-{item['id']}"
    payload = {"title": "推进被拦截：华东精密机械有限公司 · 二期产线改造", "body": "李销售 尝试推进，缺少 1 项必需材料。",
               "url": f"/opportunities/{opp['id']}", "tag": tag, "id": item["id"]}
    for _ in range(2):  # the same alert twice (a retry): one notification, replaced
        cdp.send("ServiceWorker.deliverPushMessage",
                 {"origin": server.base_url, "registrationId": registration, "data": json.dumps(payload)})
    shown = _wait_for(page, lambda: page.evaluate(NOTIFICATIONS_JS, tag), "the notification")
    page.wait_for_timeout(300)
    shown = page.evaluate(NOTIFICATIONS_JS, None)
    assert len(shown) == 1, shown
    assert shown[0]["title"] == payload["title"] and shown[0]["body"] == payload["body"]
    assert shown[0]["tag"] == tag
    assert shown[0]["data"] == {"url": payload["url"], "id": item["id"]}
    assert shown[0]["icon"].endswith("/static/icons/icon-192.png") and shown[0]["badge"]

    # The tap: the worker runs its notificationclick code for this notification.
    page.goto("/customers")
    page.evaluate("tag => navigator.serviceWorker.controller.postMessage({ type: 'notification-click', tag })", tag)
    page.wait_for_url(f"**/opportunities/{opp['id']}")
    expect(page.locator(".topbar-title")).to_have_text("二期产线改造")
    assert page.evaluate(NOTIFICATIONS_JS, None) == []  # closed
    assert server.api("GET", "/api/v1/inbox/unread").json() == {"unread": 0}  # marked read by the worker
    expect(page.locator("#inbox-bell .bell-count")).to_be_hidden()
    expect(page.locator("#inbox-bell")).to_have_attribute("aria-label", "消息")

    # A payload that is not JSON still shows something, and opens the inbox.
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": server.base_url, "registrationId": registration, "data": "有新的提醒"})
    odd = _wait_for(page, lambda: page.evaluate(NOTIFICATIONS_JS, None), "the plain-text notification")
    assert odd[0]["title"] == "Salesgate" and odd[0]["body"] == "有新的提醒" and odd[0]["data"]["url"] == "/inbox"
    assert js_errors == []


@pytest.fixture
def manager_with_alerts(server) -> dict:
    """A manager whose rep tried to advance two deals past their gates (two gate_blocked alerts);
    an admin then moved the first one on, which settles its alert."""
    server.add_user("mgr", roles="manager", display_name="周经理")
    server.add_user("rep2", roles="rep", display_name="陈销售", manager="mgr")
    server.add_user("admin", roles="admin", display_name="系统管理员", team=None)
    cust = server.api("POST", "/api/v1/customers", who="rep2", json={"name": "宁波精工", "phone": "13900001111"})
    assert cust.status_code in (200, 201), cust.text
    opps = []
    for title in ("产线改造一期", "宁波精工二期智能仓储立体货架及AGV搬运系统项目"):
        opp = server.api("POST", "/api/v1/opportunities", who="rep2",
                         json={"customer_id": cust.json()["id"], "title": title}).json()
        blocked = server.api("POST", f"/api/v1/opportunities/{opp['id']}/transition", who="rep2",
                             json={"to": "needs_analysis"})
        assert blocked.status_code == 409 and blocked.json()["code"] == "gate_blocked", blocked.text
        opps.append(opp)
    move_with_override(server, opps[0]["id"], "needs_analysis")
    assert server.api("GET", "/api/v1/inbox/unread", who="mgr").json() == {"unread": 2}
    return {"opps": opps}


def test_blocked_advance_reaches_the_managers_inbox_and_a_tap_reads_it(page, server, manager_with_alerts, js_errors):
    first, second = manager_with_alerts["opps"]
    log_in(page, "mgr")
    bell = page.locator("#inbox-bell")
    expect(bell.locator(".bell-count")).to_have_text("2")
    expect(bell).to_have_attribute("aria-label", "消息，2 条未读")

    bell.click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".topbar-title")).to_have_text("消息")
    expect(bell).to_have_attribute("aria-current", "page")
    expect(page.locator("#inbox-summary")).to_have_text("2 条未读")
    items = page.locator(".inbox-item")
    expect(items).to_have_count(2)
    newest, older = items.nth(0), items.nth(1)
    expect(newest.locator(".inbox-title")).to_have_text("推进被拦截：宁波精工 · 宁波精工二期智能仓储立体货架及AGV搬运系统项目")
    expect(newest.locator(".inbox-body")).to_contain_text("陈销售")
    expect(newest).to_have_class(re.compile(r"\bunread\b"))
    expect(newest.locator(".inbox-time")).to_have_text(re.compile(r"现在|秒|分钟"))  # relative, in Chinese
    expect(older.locator(".tag-resolved")).to_have_text("已处理")  # the admin moved that deal on
    expect(newest.locator(".tag-resolved")).to_have_count(0)
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    screenshot(page, "30-inbox", full_page=True)

    newest.locator(".inbox-link").click()
    page.wait_for_url(f"**/opportunities/{second['id']}")
    expect(page.locator("#inbox-bell .bell-count")).to_have_text("1")
    expect(page.locator("#inbox-bell")).to_have_attribute("aria-label", "消息，1 条未读")

    page.goto("/inbox")
    expect(items.nth(0)).not_to_have_class(re.compile(r"\bunread\b"))
    expect(items.nth(1)).to_have_class(re.compile(r"\bunread\b"))
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#inbox-summary")).to_have_text("没有未读消息")
    expect(page.locator(".inbox-item.unread")).to_have_count(0)
    expect(page.locator("#inbox-bell .bell-count")).to_be_hidden()
    expect(page.get_by_role("button", name="全部标为已读")).to_be_hidden()
    assert server.api("GET", "/api/v1/inbox/unread", who="mgr").json() == {"unread": 0}
    assert first["id"] != second["id"]
    assert js_errors == []


def test_inbox_loads_older_items_on_request(page, server, js_errors):
    for _ in range(55):  # more than one page (50)
        assert server.api("POST", "/api/v1/push/test").status_code == 201
    log_in(page)
    page.goto("/inbox")
    items = page.locator(".inbox-item")
    expect(items).to_have_count(50)
    expect(page.locator("#inbox-bell .bell-count")).to_have_text("55")
    page.get_by_role("button", name="加载更多").click()
    expect(items).to_have_count(55)
    expect(page.get_by_role("button", name="加载更多")).to_have_count(0)
    expect(items.nth(54).locator(".inbox-title")).to_have_text("Salesgate 测试通知")
    expect(items.nth(54)).to_have_class(re.compile(r"\bunread\b"))
    ids = items.evaluate_all("els => els.map((el) => el.dataset.id)")
    assert len(set(ids)) == 55
    assert js_errors == []


def test_me_page_shows_notifications_and_never_asks_on_load(page, context, server, js_errors):
    page.add_init_script(COUNT_PROMPTS_JS)
    log_in(page)
    page.goto("/me")
    section = page.locator("#push-section")
    expect(section.get_by_role("heading", name="本机通知")).to_be_visible()
    expect(page.locator("#push-state")).to_have_text("未开启：这台设备不会收到通知。")
    expect(page.locator("#push-ios")).to_be_hidden()
    expect(page.locator("#push-devices-empty")).to_have_text("还没有设备接收通知。")
    page.wait_for_timeout(500)
    assert page.evaluate("Notification.permission") == "default"
    assert page.evaluate("window.__prompts") == 0

    # The first tap explains; the browser is asked only after "Continue".
    page.get_by_role("button", name="开启通知").click()
    expect(page.locator("#push-explain")).to_contain_text("即使应用已关闭")
    expect(page.get_by_role("button", name="开启通知")).to_be_hidden()
    assert page.evaluate("window.__prompts") == 0
    screenshot(page, "31-me-explain", full_page=True)
    page.get_by_role("button", name="暂不").click()
    expect(page.locator("#push-explain")).to_be_hidden()
    assert page.evaluate("window.__prompts") == 0

    # Allowed, but the push service cannot be reached from here: a sentence, not silence.
    context.grant_permissions(["notifications"], origin=server.base_url)
    page.get_by_role("button", name="开启通知").click()
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#push-error")).to_have_text(
        "无法开启通知：浏览器的推送服务没有响应。请检查网络后重试。", timeout=25_000)
    assert page.evaluate("window.__prompts") == 2  # requestPermission, then subscribe
    screenshot(page, "31b-me-subscribe-failed")
    expect(page.locator("#push-state")).to_have_text("未开启：这台设备不会收到通知。")

    page.get_by_role("button", name="发送测试通知").click()
    expect(page.locator("#push-result")).to_have_text("还没有设备开启通知。测试消息已放入消息列表。")
    expect(page.locator("#inbox-bell .bell-count")).to_have_text("1")

    # A device registered elsewhere shows in the list.
    phone = server.api("POST", "/api/v1/push/subscriptions", json={
        "endpoint": "https://fcm.googleapis.com/fcm/send/browser-test", "device": "Android · Chrome", "locale": "zh_CN",
        "keys": {"p256dh": "BJ_196MXWOQbYognpDubIP2DX8Bn2aYCHwvXUaMYiEpLcMGbnGNYYoivqsqiAEehw0XRqhkj3Mv0TY-UATTqorM",
                 "auth": "c2FsZXNnYXRlLXRlc3QxNg"}})
    assert phone.status_code == 201, phone.text
    page.reload()
    devices = page.locator("#push-devices li")
    expect(devices).to_have_count(1)
    expect(devices.first).to_contain_text("Android · Chrome")
    expect(devices.first).to_contain_text("添加")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    screenshot(page, "32-me", full_page=True)
    assert js_errors == []


def test_iphone_safari_outside_the_home_screen_is_told_how_to_get_notifications(context, js_errors):
    page = context.new_page()
    page.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
    # What iOS Safari looks like in a browser tab: navigator.standalone is false, no PushManager.
    page.add_init_script("""(() => {
      Object.defineProperty(Navigator.prototype, "standalone", { get: () => false, configurable: true });
      delete window.PushManager;
    })()""")
    log_in(page)
    page.goto("/me")
    expect(page.locator("#push-ios")).to_contain_text("分享")
    expect(page.locator("#push-ios")).to_contain_text("添加到主屏幕")
    expect(page.locator("#push-state")).to_have_text("未开启：Safari 只向已添加到主屏幕的应用推送通知。")
    expect(page.get_by_role("button", name="开启通知")).to_be_hidden()
    screenshot(page, "33-me-iphone", full_page=True)
    assert js_errors == []
