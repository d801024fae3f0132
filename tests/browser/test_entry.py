"""Quick entry in a real Chromium on a phone: the repeat order in at most 4 taps from the customer page."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, screenshot

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402


def test_repeat_order_from_the_customer_page_in_three_taps(page, server, customer, js_errors):
    first = server.api("POST", "/api/v1/templates/repeat_order/entries", json={"values": {
        "customer": customer["id"], "products": ["plc", "agv"], "quantity": 8, "expected_order_date": "2026-12-31"}})
    assert first.status_code == 201, first.text
    log_in(page)
    page.goto(f"/customers/{customer['id']}")
    taps = 0
    started = time.monotonic()
    page.get_by_role("link", name="老客户复购", exact=True).click(); taps += 1
    expect(page).to_have_url(re.compile(r"/entry/repeat_order\?customer_id="))
    form = page.locator("#entry-form")
    expect(form.get_by_label("PLC 控制器")).to_be_checked()  # the last order's models, pre-selected
    expect(form.get_by_label("AGV 小车")).to_be_checked()
    expect(form.get_by_label("数量")).to_have_value("8")
    screenshot(page, "40-repeat-order", full_page=True)
    form.get_by_role("button", name="下周").click(); taps += 1
    form.get_by_role("button", name="保存").click(); taps += 1
    expect(page).to_have_url(re.compile(r"/opportunities/[0-9a-f-]+$"))
    expect(page.locator("#current-stage")).to_have_text("比价")
    elapsed = time.monotonic() - started
    assert taps <= 4
    print(f"repeat order: {taps} taps, {elapsed:.2f} s from the customer page to the saved opportunity")
    deals = server.api("GET", "/api/v1/opportunities", params={"stage": "price_comparison"}).json()["items"]
    assert len(deals) == 2 and all(d["customer_id"] == customer["id"] for d in deals)
    assert js_errors == []


def test_visit_log_with_chips_and_the_entry_tab_lists_the_templates(page, server, customer, js_errors):
    log_in(page)
    page.goto("/entry")
    tiles = page.locator(".tile strong")
    expect(tiles).to_contain_text(["展会获客", "老客户复购", "拜访记录"])
    page.get_by_role("link", name=re.compile("拜访记录")).click()
    page.get_by_role("link", name=re.compile(customer["name"])).click()  # pick the customer first
    form = page.locator("#entry-form")
    form.get_by_label("拜访对象").fill("王建国")
    form.get_by_text("需要报价").click()
    form.locator("#f-next_step").fill("发送报价")
    form.get_by_role("button", name="月底", exact=True).click()
    screenshot(page, "41-visit-log", full_page=True)
    form.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer['id']}$"))
    acts = server.api("GET", f"/api/v1/customers/{customer['id']}/activities").json()["items"]
    assert acts[0]["kind"] == "visit" and "需要报价" in acts[0]["note"]
    assert js_errors == []


def test_repeat_order_saved_offline_waits_in_the_outbox_and_arrives_once(page, context, server, customer, js_errors):
    log_in(page)
    page.goto(f"/entry/repeat_order?customer_id={customer['id']}")
    form = page.locator("#entry-form")
    form.get_by_label("伺服驱动器").check()
    form.get_by_label("数量").fill("6")
    form.get_by_role("button", name="下周").click()
    context.set_offline(True)
    form.get_by_role("button", name="保存").click()
    expect(page.locator(".toast")).to_have_text("已保存在本机，恢复网络后自动发送。")
    expect(page.locator("#outbox-pill .outbox-count")).to_have_text("1")
    assert server.api("GET", "/api/v1/opportunities").json()["items"] == []
    context.set_offline(False)  # the online event replays the outbox
    expect(page.locator("#outbox-pill")).to_be_hidden()
    deals = server.api("GET", "/api/v1/opportunities").json()["items"]
    assert [(d["stage"], d["fields"]["quantity"]) for d in deals] == [("price_comparison", 6)]
    assert js_errors == []
