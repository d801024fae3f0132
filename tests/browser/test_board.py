"""The manager board in a real Chromium on a phone (zh-CN, 390x844): a manager opens the board from the Workbench
tab, reads the team's numbers, pins a key account found by search and sees its contract / delivery / service line,
then taps a number through to the records. Screenshots of /workbench and /board go to $SALESGATE_SCREENSHOTS
(default /tmp/sg-board-shots)."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, move_with_override

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_layout import LAYOUT_PROBLEMS_JS, MIN_TARGET_PX  # noqa: E402

SHOTS = Path(os.environ.get("SALESGATE_SCREENSHOTS") or "/tmp/sg-board-shots")


def _shot(page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def team(server, customer) -> dict:
    """李销售's 王建国: a ¥1,250,000 deal signed today (pending legal archive) with the contract-approval files
    skipped by an override, last called 12 days ago (silent); 赵六, a second customer, silent 9 days."""
    server.add_user("boss", roles="manager", display_name="王经理", token=False)  # manages Team A
    server.add_user("admin", roles="admin", display_name="系统管理员", team=None)
    opp = server.api("POST", "/api/v1/opportunities", json={"customer_id": customer["id"],
                                                           "title": "二号产线伺服驱动器扩产", "amount": 1250000})
    assert opp.status_code == 201, opp.text
    for cid, days in ((customer["id"], 12),):
        resp = server.api("POST", "/api/v1/activities", json={
            "customer_id": cid, "kind": "call",
            "occurred_at": (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()})
        assert resp.status_code == 201, resp.text
    move_with_override(server, opp.json()["id"], "needs_analysis", "solution_confirmed", "price_comparison",
                       "contract_approval", "signed")
    other = server.api("POST", "/api/v1/customers", json={"name": "赵六", "phone": "13987654321",
                                                          "company": "苏州恒达自动化设备有限公司"})
    assert other.status_code == 201, other.text
    return {"wang": customer, "opp": opp.json()}


def test_manager_pins_a_key_account_and_reads_the_board(page, server, team, js_errors):
    log_in(page, "boss")
    page.goto("/workbench?scope=team")
    expect(page.locator("#silent-list > li")).to_have_count(1)
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "workbench")

    page.get_by_role("link", name="管理看板").click()
    expect(page).to_have_url(re.compile(r"/board$"))
    expect(page.locator("#board-title")).to_have_text("Team A")
    expect(page.locator("#board-trend desc")).to_contain_text("每周 PHI 得分")
    row = page.locator("#board-reps tbody tr", has_text="李销售")
    expect(row.get_by_role("link", name="李销售：1 位沉默客户")).to_have_text("1")
    expect(page.locator("#ka-empty")).to_be_visible()

    page.get_by_placeholder("要置顶的客户或公司").fill("王建")
    page.get_by_role("button", name="搜索").click()
    page.get_by_role("button", name="置顶 王建国").click()
    account = page.locator("#key-accounts > li")
    expect(account).to_have_count(1)
    expect(account.locator(".ka-name")).to_have_text("王建国")
    expect(account.locator(".ka-deal")).to_contain_text("二号产线伺服驱动器扩产 · 已签约 · 待法务归档")
    dots = account.locator(".ka-line .ka-dot")
    expect(dots).to_have_count(11)
    # the two contract-approval nodes were skipped by the override: red, and said in words
    expect(account.locator('.ka-dot[data-node="contract_approval_submitted"]')).to_have_attribute(
        "aria-label", "合同审批发起: 已跳过，仍缺")
    expect(account.locator('.ka-dot[data-node="contract_scan"]')).to_have_class(re.compile("yellow"))
    expect(account.locator('.ka-dot[data-node="acceptance"]')).to_have_class(re.compile("grey"))
    expect(account.locator(".ka-notes")).to_contain_text("合同扫描件 — 进行中")
    pins = server.api("GET", "/api/v1/board", who="admin").json()["accounts"]
    assert [a["customer_name"] for a in pins] == ["王建国"]
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "board")
    _shot(page, "board-full", full_page=True)

    row.get_by_role("link", name="李销售：1 位沉默客户").click()
    expect(page).to_have_url(re.compile(r"/board/reps/[0-9a-f-]{36}\?team_id=.*show=silent$"))
    expect(page.locator("#rep-records li")).to_have_count(1)
    expect(page.locator("#rep-records li")).to_contain_text("王建国")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    _shot(page, "board-rep")
    assert js_errors == []
