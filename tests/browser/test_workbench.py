"""The Workbench tab in a real Chromium on a phone (zh-CN, 390x844): a rep calls down the silent customers
(log a contact, snooze one with a reason), a manager reads the Process Health Index and taps a number
to see the deals behind it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, move_with_override, screenshot

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_layout import LAYOUT_PROBLEMS_JS, MIN_TARGET_PX  # noqa: E402


def _ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()


def _contact(server, customer_id: str, days: float) -> None:
    resp = server.api("POST", "/api/v1/activities", json={"customer_id": customer_id, "kind": "call",
                                                          "occurred_at": _ago(days)})
    assert resp.status_code == 201, resp.text


@pytest.fixture
def silent(server, customer) -> dict:
    """王建国 (the rep's customer, a ¥1,250,000 deal) silent for 12 days; 赵六 (no deal) for 9 days."""
    opp = server.api("POST", "/api/v1/opportunities", json={"customer_id": customer["id"],
                                                           "title": "二号产线伺服驱动器扩产", "amount": 1250000})
    assert opp.status_code == 201, opp.text
    _contact(server, customer["id"], 12)
    other = server.api("POST", "/api/v1/customers", json={"name": "赵六", "phone": "13987654321",
                                                          "company": "苏州恒达自动化设备有限公司"})
    assert other.status_code == 201, other.text
    _contact(server, other.json()["id"], 9)
    return {"wang": customer, "zhao": other.json(), "opp": opp.json()}


def test_rep_logs_a_contact_and_snoozes_from_the_workbench(page, server, silent, js_errors):
    log_in(page)
    page.get_by_role("link", name="工作台").click()
    expect(page).to_have_url(re.compile(r"/workbench$"))
    rows = page.locator("#silent-list > li")
    expect(rows).to_have_count(2)
    expect(page.locator("#wb-summary")).to_have_text("2 位沉默客户 · 风险最高的在前")
    first = rows.first
    expect(first.locator(".wb-name")).to_have_text("王建国")  # the bigger deal, the longer silence
    expect(first.locator(".wb-days")).to_have_text("沉默 12 天")
    expect(first).to_contain_text("二号产线伺服驱动器扩产")
    expect(first).to_contain_text("阈值 7 天")
    expect(first.get_by_role("link", name="拨打 138 1234 5678")).to_have_attribute("href", "tel:+8613812345678")
    expect(first.locator(".wb-video")).to_have_count(0)  # no meeting link configured
    expect(rows.nth(1)).to_contain_text("无进行中的商机")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "30-workbench")

    first.get_by_role("button", name="已联系").click()
    expect(rows).to_have_count(1)
    expect(page.locator(".toast")).to_have_text("已记录联系：王建国")
    expect(page.locator("#wb-summary")).to_have_text("1 位沉默客户")
    silent_now = server.api("GET", "/api/v1/workbench/silent").json()
    assert [i["customer_name"] for i in silent_now["items"]] == ["赵六"]
    log = server.api("GET", f"/api/v1/customers/{silent['wang']['id']}/activities").json()["items"]
    assert log[0]["kind"] == "call" and log[0]["customer_facing"] is True

    zhao = rows.first
    zhao.locator(".wb-actions").get_by_role("button", name="暂缓").click()
    form = zhao.locator("form")
    expect(form.get_by_label("暂缓原因")).to_be_focused()
    form.get_by_role("button", name="暂缓").click()
    expect(form.get_by_role("alert")).to_have_text("请填写暂缓原因。")
    form.get_by_label("暂缓原因").fill("客户出国参展，12 月初回来")
    until = form.get_by_label("暂缓至（含当天）")
    suggested = until.input_value()
    screenshot(page, "31-workbench-snooze")
    form.get_by_role("button", name="暂缓").click()
    expect(rows).to_have_count(0)
    expect(page.locator("#wb-empty")).to_be_visible()
    expect(page.locator(".toast")).to_have_text(f"已暂缓至 {suggested}：赵六")
    after = server.api("GET", "/api/v1/workbench/silent").json()
    assert after["items"] == [] and [(s["customer_name"], s["until"]) for s in after["snoozed"]] == [("赵六", suggested)]

    page.reload()
    page.get_by_text("已暂缓（1）").click()
    expect(page.locator(".wb-snoozed")).to_contain_text("客户出国参展，12 月初回来")
    screenshot(page, "32-workbench-done")
    assert js_errors == []


def test_manager_reads_the_health_index_and_taps_through_to_the_deals(page, server, silent, js_errors):
    server.add_user("boss", roles="manager", display_name="王经理", token=False)  # manages Team A
    server.add_user("admin", roles="admin", display_name="系统管理员", team=None)
    move_with_override(server, silent["opp"]["id"], "needs_analysis", "solution_confirmed")
    log_in(page, "boss")
    page.goto("/workbench?scope=team")
    expect(page.locator("#silent-list > li")).to_have_count(2)
    expect(page.locator(".scope-switch [aria-current=page]")).to_have_text("我的团队")
    expect(page.locator("#silent-list > li").first).to_contain_text("李销售")  # whose customer it is

    page.get_by_role("link", name="过程健康度").click()
    expect(page).to_have_url(re.compile(r"/health$"))
    expect(page.locator(".scope-switch [aria-current=page]")).to_have_text("我的团队")
    # one deal reached solution confirmed today (0.0 days); it owes its stamped letter; it is silent
    expect(page.locator("#metric-stage_transition_days .phi-metric-value")).to_have_text("0.0 天")
    expect(page.locator("#metric-material_completeness .phi-metric-value")).to_have_text("0.0%")
    expect(page.locator("#metric-silent_rate .phi-metric-value")).to_have_text("100.0%")
    # (100 + 0 + 8.5) / 3 = 36.2
    expect(page.locator("#phi-score-value")).to_have_text("36.2 / 100")
    expect(page.locator("#phi-ranking li")).to_have_count(1)
    expect(page.locator("#phi-ranking li")).to_contain_text("李销售")
    expect(page.locator(".phi-chart desc")).to_contain_text("每周 PHI 得分")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "33-health")
    screenshot(page, "33b-health-full", full_page=True)

    page.locator("#metric-silent_rate").click()
    expect(page).to_have_url(re.compile(r"/health/opportunities\?metric=silent_rate&scope=team$"))
    expect(page.locator("#phi-explain")).to_contain_text("1 个进行中商机中，1 个超过所处阶段的沉默阈值")
    deals = page.locator("#phi-deals li")
    expect(deals).to_have_count(1)
    expect(deals.first).to_contain_text("二号产线伺服驱动器扩产")
    expect(deals.first).to_contain_text("12 天")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    screenshot(page, "34-health-deals")
    deals.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/opportunities/[0-9a-f-]{36}$"))
    assert js_errors == []
