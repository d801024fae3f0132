"""The PWA shell in a real Chromium, as a sales rep on a phone sees it (zh-CN, 390x844)."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, cached_page_paths, log_in, screenshot, wait_for_service_worker

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

TAB_LABELS_ZH = ["工作台", "扫码", "录入", "客户", "我的"]
TAB_LABELS_EN = ["Workbench", "Scan", "Entry", "Customers", "Me"]


def tab_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("nav.tabbar .tab span").all_inner_texts()]


def test_login_page_logs_in_and_lands_on_customers(page, customer, js_errors):
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next=/customers$"))
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page.locator("nav.tabbar")).to_have_count(0)
    expect(page.locator("header.topbar")).to_have_count(0)
    screenshot(page, "01-login")

    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("请填写用户名。")
    expect(page.get_by_label("用户名")).to_be_focused()

    page.get_by_label("用户名").fill("rep")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    expect(page).to_have_url(re.compile(r"/login"))
    screenshot(page, "01b-login-error")

    log_in(page)
    expect(page.locator(".topbar-title")).to_have_text("客户")
    expect(page.get_by_role("link", name=re.compile("王建国"))).to_be_visible()
    expect(page.locator("nav.tabbar a[aria-current=page]")).to_have_text("客户")
    assert tab_labels(page) == TAB_LABELS_ZH
    screenshot(page, "02-customers")
    assert js_errors == []


def test_search_finds_customer_by_name_and_by_part_of_phone(page, server, customer, js_errors):
    other = server.api("POST", "/api/v1/customers", json={"name": "赵六", "phone": "13987654321"})
    assert other.status_code in (200, 201), other.text
    log_in(page)
    rows = page.locator("#customer-list li")
    expect(rows).to_have_count(2)

    box = page.get_by_role("searchbox", name="搜索客户")
    box.fill("王建国")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=%E7%8E%8B"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王建国")
    expect(rows.first).to_contain_text("华东精密机械有限公司")
    expect(rows.first.locator(".row-phone")).to_have_text("138 1234 5678")

    box = page.get_by_role("searchbox", name="搜索客户")
    box.fill("1234 5678")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王建国")
    expect(page.get_by_role("searchbox", name="搜索客户")).to_have_value("1234 5678")

    box = page.get_by_role("searchbox", name="搜索客户")
    box.fill("不存在的客户")
    box.press("Enter")
    expect(page.locator("#main").get_by_role("heading", name="没有找到客户")).to_be_visible()
    expect(rows).to_have_count(0)
    assert js_errors == []


def test_logging_a_call_shows_in_history_and_moves_last_contact(page, server, customer, js_errors):
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(r.headers) if r.method == "POST"
            and r.url.endswith("/api/v1/activities") else None)
    log_in(page)
    page.get_by_role("link", name=re.compile("王建国")).click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer['id']}$"))
    expect(page.locator("#last-contact")).to_have_text("从未")
    expect(page.get_by_text("暂无跟进记录。")).to_be_visible()
    dial = page.get_by_role("link", name="拨打 138 1234 5678")
    expect(dial).to_have_attribute("href", "tel:+8613812345678")
    screenshot(page, "03-customer")

    log_section = page.locator("section.card", has=page.get_by_role("heading", name="记录联系"))
    call = log_section.get_by_role("button", name="电话", exact=True)
    with page.expect_navigation():  # the page reloads itself after saving
        call.dblclick()  # a double tap: must save one activity, not two
    history = page.locator("section.card", has=page.get_by_role("heading", name="跟进记录"))
    expect(history.locator("li")).to_have_count(1)
    expect(history.locator("li .kind")).to_have_text("电话")
    expect(history.locator("li")).to_contain_text("李销售")
    expect(page.locator("#last-contact")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))

    page.wait_for_timeout(500)  # a second request, had there been one, has landed by now
    log = server.api("GET", f"/api/v1/customers/{customer['id']}/activities")
    assert log.status_code == 200, log.text
    assert [a["kind"] for a in log.json()["items"]] == ["call"]
    assert server.api("GET", f"/api/v1/customers/{customer['id']}").json()["last_contact_at"] is not None
    assert sent, "no activity request was seen"
    keys = {h.get("idempotency-key") for h in sent}
    assert None not in keys and len(keys) == 1, sent
    assert js_errors == []


def test_service_worker_controls_page_after_reload(page, js_errors):
    log_in(page)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    shell = page.evaluate("""async () => {
        const names = await caches.keys();
        const shell = names.find((n) => n.startsWith("salesgate-shell-"));
        const keys = shell ? await (await caches.open(shell)).keys() : [];
        return keys.map((r) => new URL(r.url).pathname);
    }""")
    assert "/offline" in shell and "/static/app.css" in shell and "/static/app.js" in shell
    assert js_errors == []


def test_offline_reload_shows_cached_page_and_unvisited_page_shows_offline(page, context, customer, js_errors):
    log_in(page)
    wait_for_service_worker(page)
    page.goto(f"/customers/{customer['id']}")
    expect(page.locator("#main").get_by_role("heading", name="王建国")).to_be_visible()
    assert f"/customers/{customer['id']}" in cached_page_paths(page)

    context.set_offline(True)
    page.reload()
    expect(page.locator("#main").get_by_role("heading", name="王建国")).to_be_visible()
    expect(page.locator("#last-contact")).to_have_text("从未")
    expect(page.get_by_text("当前离线")).to_have_count(0)

    page.goto("/entry")  # never opened: nothing cached
    expect(page.locator("#main").get_by_role("heading", name="当前离线")).to_be_visible()
    expect(page.get_by_text("王建国")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/entry$"))
    screenshot(page, "06-offline")
    # "Try again" retries the page asked for, and gets it once back online.
    context.set_offline(False)
    page.get_by_role("link", name="重试").click()
    expect(page.locator(".topbar-title")).to_have_text("录入")
    expect(page).to_have_url(re.compile(r"/entry$"))
    context.set_offline(True)

    # Logging contact while offline keeps it on the phone (the outbox) and says so; it is sent
    # once the network is back.
    page.goto(f"/customers/{customer['id']}")
    expect(page.locator("#main").get_by_role("heading", name="王建国")).to_be_visible()
    page.locator("#activity-form").get_by_role("button", name="拜访").click()
    expect(page.locator(".toast")).to_have_text("已保存在本机，恢复网络后自动发送。")
    expect(page.locator("#outbox-pill .outbox-count")).to_have_text("1")
    context.set_offline(False)  # the browser's online event replays the outbox
    expect(page.locator("#outbox-pill")).to_be_hidden()
    assert js_errors == []


def test_new_customer_form_saves_and_opens_the_customer(page, server, js_errors):
    log_in(page)
    page.get_by_role("link", name="新增客户").first.click()
    expect(page).to_have_url(re.compile(r"/customers/new$"))
    expect(page.locator(".topbar-title")).to_have_text("新客户")
    screenshot(page, "04-new-customer")

    page.get_by_role("button", name="保存").click()  # the name is required
    expect(page.locator("#customer-form .form-error")).to_have_text("请填写姓名。")
    expect(page.get_by_label("姓名")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("姓名").fill("陈晓燕")
    page.get_by_label("手机").fill("123")
    page.get_by_role("button", name="保存").click()  # refused by the server
    expect(page.locator("#customer-form .form-error")).to_have_text("手机号码无效。")
    expect(page.get_by_label("手机")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/customers/new$"))
    screenshot(page, "04b-new-customer-error")

    page.get_by_label("姓名").fill("陈晓燕")
    page.get_by_label("手机").fill("139 0000 1111")
    page.get_by_label("公司").fill("苏州恒信电子")
    page.get_by_label("职位").fill("总经理")
    page.get_by_label("邮箱").fill("chen@example.com")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/customers/[0-9a-f-]{8,}$"))
    expect(page.locator("#main").get_by_role("heading", name="陈晓燕")).to_be_visible()
    expect(page.get_by_text("苏州恒信电子 · 总经理")).to_be_visible()

    customer_id = page.url.rsplit("/", 1)[1]
    saved = server.api("GET", f"/api/v1/customers/{customer_id}")
    assert saved.status_code == 200, saved.text
    assert saved.json()["phone"] == "+8613900001111"
    listing = server.api("GET", "/api/v1/customers", params={"q": "陈晓燕"}).json()["items"]
    assert [c["id"] for c in listing] == [customer_id]
    assert js_errors == []


def test_language_switch_on_me_tab_changes_tab_bar(page, js_errors):
    log_in(page)
    page.locator("nav.tabbar").get_by_role("link", name="我的").click()
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_text("@rep")).to_be_visible()
    screenshot(page, "05-me")

    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.locator("nav.tabbar .tab.active span")).to_have_text("Me")
    assert tab_labels(page) == TAB_LABELS_EN
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.locator("nav.tabbar").get_by_role("link", name="Customers", exact=True).click()
    expect(page.locator(".topbar-title")).to_have_text("Customers")

    page.locator("nav.tabbar").get_by_role("link", name="Me", exact=True).click()
    page.get_by_role("link", name="中文").click()
    expect(page.locator("nav.tabbar .tab.active span")).to_have_text("我的")
    assert tab_labels(page) == TAB_LABELS_ZH
    assert js_errors == []


def test_logout_clears_cached_pages(page, context, customer, js_errors):
    log_in(page)
    wait_for_service_worker(page)
    page.goto(f"/customers/{customer['id']}")
    expect(page.locator("#main").get_by_role("heading", name="王建国")).to_be_visible()
    assert f"/customers/{customer['id']}" in cached_page_paths(page)

    page.locator("nav.tabbar").get_by_role("link", name="我的").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert cached_page_paths(page) == []

    context.set_offline(True)
    page.goto(f"/customers/{customer['id']}")
    expect(page.locator("#main").get_by_role("heading", name="当前离线")).to_be_visible()
    expect(page.get_by_text("王建国")).to_have_count(0)
    expect(page.get_by_text("华东精密机械有限公司")).to_have_count(0)
    context.set_offline(False)

    page.goto("/customers")  # the session is gone too
    expect(page).to_have_url(re.compile(r"/login\?next=/customers$"))
    assert js_errors == []
