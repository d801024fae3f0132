"""The playbook editor in a real Chromium: an admin adds a required material to a gating node through
the forms, sees what it changes for an open opportunity, publishes, and the opportunity's gate closes.
Checked on a phone (390x844, zh-CN) and at desktop width; screenshots in /tmp/sg-playbook-shots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_admin import LAYOUT_JS  # noqa: E402

SHOTS = Path("/tmp/sg-playbook-shots")
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def ready_deal(server, customer) -> dict:
    """An opportunity at 'solution confirmed' whose gate is open: the confirmation letter is uploaded."""
    server.add_user("boss", roles="admin", display_name="王管理", team=None)
    opp = server.api("POST", "/api/v1/opportunities", json={"customer_id": customer["id"], "title": "二期产线改造"})
    assert opp.status_code == 201, opp.text
    opp = opp.json()
    for to in ("needs_analysis", "solution_confirmed"):
        moved = server.api("POST", f"/api/v1/opportunities/{opp['id']}/transition", who="boss",
                           json={"to": to, "override": True, "reason": "测试"})
        assert moved.status_code == 200, moved.text
    up = server.api("POST", f"/api/v1/opportunities/{opp['id']}/attachments",
                    data={"material": "tech_confirmation_letter"}, files={"file": ("确认函.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    assert server.api("GET", f"/api/v1/opportunities/{opp['id']}").json()["blocking"] == []
    return opp


def test_adding_a_required_material_in_the_editor_closes_an_open_gate(page, server, ready_deal, js_errors):
    log_in(page, "boss")
    page.goto("/admin/playbook")
    expect(page.locator("#pb-versions")).to_contain_text("版本 1")
    assert page.evaluate(LAYOUT_JS) == []
    shot(page, "01-versions-phone")
    page.get_by_role("button", name="编辑当前生效版本").click()
    page.wait_for_url(re.compile(r"/admin/playbook/drafts/\d+$"))
    expect(page.locator("#pb-status")).to_have_text("草稿已保存，没有问题。")
    expect(page.locator("#pb-changes")).to_contain_text("与当前生效版本还没有差异")
    shot(page, "02-editor-phone")

    stage = page.locator("details.pb-item", has=page.locator("summary", has_text="solution_confirmed")).first
    stage.locator("summary").first.click()
    node = stage.locator("details.pb-item", has=page.locator("summary", has_text="tech_confirmation")).first
    node.locator("summary").first.click()
    materials = node.locator("fieldset.pb-list", has=page.locator("legend", has_text="必备材料")).first
    materials.get_by_role("button", name=re.compile("添加到必备材料")).click()
    new = materials.locator("details.pb-item").last
    new.get_by_label("标识", exact=True).fill("customer_po")
    new.get_by_label("中文").fill("客户采购意向书")
    new.get_by_label("英文").fill("Customer letter of intent")
    new.get_by_label("pdf").check()
    shot(page, "03-material-added-phone")

    expect(page.locator("#pb-changes")).to_contain_text("方案确认 › 节点 技术参数确认函（客户签章） › 必备材料 客户采购意向书",
                                                     timeout=10_000)
    impact = page.locator("#pb-impact")
    expect(impact).to_contain_text("现在可以推进，发布后将被卡住")
    expect(impact).to_contain_text("将缺少客户采购意向书")
    impact.locator("summary", has_text="涉及哪些商机").first.click()
    expect(impact.get_by_role("link", name="二期产线改造").first).to_be_visible()
    assert page.evaluate(LAYOUT_JS) == []
    page.locator("#pb-review-anchor, .pb-review").first.scroll_into_view_if_needed()
    shot(page, "04-review-phone")

    page.get_by_label("修改原因（随版本保存）").fill("方案确认阶段必须上传采购意向书")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="发布为新的生效版本").click()
    page.wait_for_url(re.compile(r"/admin/playbook$"))
    expect(page.locator("#pb-versions")).to_contain_text("方案确认阶段必须上传采购意向书")
    shot(page, "05-published-phone")

    opp = server.api("GET", f"/api/v1/opportunities/{ready_deal['id']}").json()
    assert [m["material"] for m in opp["blocking"]] == ["customer_po"]
    refused = server.api("POST", f"/api/v1/opportunities/{ready_deal['id']}/transition",
                         json={"to": "price_comparison"})
    assert refused.status_code == 409 and refused.json()["code"] == "gate_blocked"
    page.goto(f"/opportunities/{ready_deal['id']}")
    expect(page.locator("body")).to_contain_text("客户采购意向书")
    assert js_errors == []


def test_a_problem_is_shown_where_it_is_and_blocks_publishing_at_desktop_width(browser, server, ready_deal):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", base_url=server.base_url)
    try:
        page = context.new_page()
        log_in(page, "boss")
        page.goto("/admin/playbook")
        page.get_by_role("button", name="编辑当前生效版本").click()
        page.wait_for_url(re.compile(r"/admin/playbook/drafts/\d+$"))
        expect(page.locator("#pb-status")).to_have_text("草稿已保存，没有问题。")
        page.get_by_label("沉默阈值（天）").first.fill("0")
        expect(page.locator("#pb-status")).to_have_text(re.compile("有 1 个问题"), timeout=10_000)
        expect(page.locator("#pb-problems")).to_contain_text("沉默阈值（天）")
        expect(page.get_by_role("button", name="发布为新的生效版本")).to_be_disabled()
        assert page.evaluate(LAYOUT_JS) == []
        shot(page, "06-problem-desktop")
        page.reload()  # nothing typed is lost: the draft was saved with its problem
        expect(page.get_by_label("沉默阈值（天）").first).to_have_value("0")
    finally:
        context.close()


def test_a_broken_imported_file_is_shown_with_its_problems_and_never_overwritten(page, server, ready_deal, js_errors):
    broken = "version: '9'\nstages: [unclosed\n"
    made = server.api("POST", "/api/v1/admin/playbook/drafts/import", who="boss", content=broken.encode())
    assert made.status_code == 201, made.text
    log_in(page, "boss")
    page.goto(f"/admin/playbook/drafts/{made.json()['id']}")
    expect(page.locator("#pb-form .adm-notice")).to_contain_text("无法以表单显示")
    expect(page.locator("#pb-problems")).to_contain_text("第")
    expect(page.get_by_role("button", name="保存并检查")).to_be_disabled()
    expect(page.get_by_role("button", name="发布为新的生效版本")).to_be_disabled()
    page.wait_for_timeout(1500)  # no auto-save happens
    kept = server.api("GET", f"/api/v1/admin/playbook/drafts/{made.json()['id']}", who="boss").json()
    assert kept["body"] == broken
    assert js_errors == []
