"""Contributions and the daily check-in in a real Chromium on a phone (zh-CN, 390x844)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, screenshot

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

PNG = (Path(__file__).resolve().parents[2] / "pwa" / "static" / "icons" / "icon-192.png").read_bytes()


def test_rep_records_a_contribution_with_a_screenshot_and_sees_the_heat_map(page, server, customer, tmp_path,
                                                                           js_errors):
    opp = server.api("POST", "/api/v1/opportunities", json={"customer_id": customer["id"], "title": "视觉检测线"}).json()
    log_in(page)
    page.goto(f"/opportunities/{opp['id']}")
    section = page.locator("#contributions")
    expect(section.get_by_role("heading")).to_have_text("协作贡献")
    section.locator("summary", has_text="记录一次贡献").click()
    section.get_by_label("做了什么？").select_option(label="解决客户物流疑问")
    section.get_by_label("说明").fill("确认了跨省运输方案")
    shot = tmp_path / "聊天截图.png"
    shot.write_bytes(PNG)
    section.get_by_label("截图（可选）").set_input_files(str(shot))
    section.get_by_role("button", name="保存贡献").click()
    item = page.locator(".contrib-list li").first
    expect(item).to_contain_text("解决客户物流疑问")
    expect(item).to_contain_text("确认了跨省运输方案")
    expect(item.locator(".file-link")).to_have_attribute("href", re.compile(r"^/api/v1/attachments/[0-9a-f-]+/download$"))
    heat = page.locator("table.heat")
    expect(heat.locator("thead th")).to_have_text(["阶段", "销售代表"])
    expect(heat.locator("tbody tr")).to_have_text([re.compile(r"初步接触\s*1")])
    screenshot(page, "30-contributions", full_page=True)
    listed = server.api("GET", f"/api/v1/opportunities/{opp['id']}/contributions").json()
    assert [(c["kind"], c["attachment_id"] is not None) for c in listed["items"]] == [("logistics_solved", True)]
    assert js_errors == []


def test_daily_checkin_with_a_support_request(page, server, js_errors):
    server.add_user("sun", roles="presales", display_name="孙晓峰")
    log_in(page)
    page.goto("/entry")
    page.get_by_role("link", name=re.compile("每日三件事")).click()
    expect(page).to_have_url(re.compile(r"/checkin$"))
    page.get_by_label("① 今日完成的关键动作").fill("拜访宁波精工\n提交二期报价")
    page.get_by_label("② 明日必须闭环的事项").fill("合同盖章")
    page.get_by_label("同事 1").select_option(label="孙晓峰")
    page.get_by_label("需要什么支持 1").fill("周五远程演示")
    page.get_by_role("button", name="提交三件事").click()
    expect(page.get_by_role("button", name="更新三件事")).to_be_visible()
    expect(page.get_by_label("① 今日完成的关键动作")).to_have_value("拜访宁波精工\n提交二期报价")
    screenshot(page, "31-checkin", full_page=True)
    saved = server.api("GET", "/api/v1/checkins/today").json()
    assert saved["done"] == ["拜访宁波精工", "提交二期报价"] and saved["support"][0]["user_name"] == "孙晓峰"
    inbox = server.api("GET", "/api/v1/inbox", who="sun").json()["items"]
    assert [i["kind"] for i in inbox] == ["support"] and inbox[0]["body"] == "周五远程演示"
    assert js_errors == []
