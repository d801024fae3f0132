"""The admin screens in a real Chromium: on a phone (390x844, zh-CN) and at desktop width (1280x800).

An admin creates a user (a temporary password shown once), the user is forced to choose their
own password at first login, the admin hands a rep's customers over and disables people; the
import preview shows each row's problems; the audit log filters. Every admin page is measured:
no sideways scrolling, touch targets of at least 44 px."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, PASSWORD, SKIP_REASON, log_in

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

SHOTS = Path("/tmp/sg-admin-shots")
DESKTOP = {"width": 1280, "height": 800}

# Sideways scrolling and small touch targets; a checkbox counts by its label (the whole row is the target).
LAYOUT_JS = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) problems.push(`scrolls sideways: ${root.scrollWidth}px`);
  for (const el of document.querySelectorAll("#main a[href], #main button, #main input, #main select, #main textarea, #main summary, nav a")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden" || el.classList.contains("skip")) continue;
    if (getComputedStyle(el).display === "inline") continue;
    let box = r;
    if (el.type === "checkbox" && el.closest("label")) box = el.closest("label").getBoundingClientRect();
    if (box.height < 44 || box.width < 44) problems.push(`small ${Math.round(box.width)}x${Math.round(box.height)}: ${el.tagName} ${(el.textContent || el.name || "").trim().slice(0, 20)}`);
    if (r.right > window.innerWidth + 1) problems.push(`off screen: ${el.tagName} ${(el.textContent || el.name || "").trim().slice(0, 20)}`);
  }
  return problems;
}"""


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot keeps the sticky top bar where it was
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def check_layout(page, name: str) -> None:
    assert page.evaluate(LAYOUT_JS) == [], name
    shot(page, name)


@pytest.fixture
def admin(server, customer):
    server.add_user("boss", roles="admin", display_name="王管理", team=None)
    server.add_user("mgr", roles="manager,rep", display_name="赵经理", team="Team A", token=False)
    return "boss"


def test_admin_creates_a_user_who_must_change_the_password_then_disables_them(browser, server, page, admin, js_errors):
    log_in(page, "boss")
    page.goto("/me")
    page.get_by_role("link", name="用户", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.locator("#user-list li")).to_have_count(3)
    check_layout(page, "01-users-phone")

    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("用户名").fill("zhou.xin")
    page.get_by_label("显示名称").fill("周欣")
    page.get_by_label("售前").check()
    page.get_by_label("团队").select_option(label="Team A")
    page.get_by_label("直属经理").select_option(label="赵经理 (@mgr)")
    page.get_by_label("手机").fill("139 0000 1234")
    check_layout(page, "02-new-user-phone")
    page.get_by_role("button", name="创建用户").click()
    secret = page.locator("#secret-value")
    expect(secret).to_have_text(re.compile(r"^\S{12}$"))
    temporary = secret.inner_text()
    check_layout(page, "03-temporary-password-phone")
    page.get_by_role("link", name="继续").click()
    expect(page.get_by_role("heading", name="周欣 @zhou.xin")).to_be_visible()
    expect(page.locator(".adm-status")).to_contain_text("须修改密码")
    expect(page.get_by_label("团队")).to_have_value(re.compile(".+"))

    # The new colleague logs in with the temporary password and must choose their own first.
    other = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=server.base_url,
                                is_mobile=True, has_touch=True)
    try:
        them = other.new_page()
        them.goto("/login")
        them.get_by_label("用户名").fill("zhou.xin")
        them.get_by_label("密码").fill(temporary)
        them.get_by_role("button", name="登录").click()
        them.wait_for_url("**/password?next=*")
        expect(them.locator(".adm-notice")).to_be_visible()
        them.goto("/customers")
        expect(them).to_have_url(re.compile(r"/password\?next=/customers"))
        shot(them, "04-forced-password-change-phone")
        them.get_by_label("当前密码").fill(temporary)
        them.get_by_label("新密码", exact=True).fill("周欣自己设的新密码")
        them.get_by_label("再次输入新密码").fill("周欣自己设的新密码2")
        them.get_by_role("button", name="修改密码").click()
        expect(them.get_by_role("alert")).to_have_text("两次输入的新密码不一致。")
        them.get_by_label("再次输入新密码").fill("周欣自己设的新密码")
        them.get_by_role("button", name="修改密码").click()
        them.wait_for_url(re.compile(r"/customers$"))
        expect(them.locator("#customer-list, .empty-state").first).to_be_visible()

        # The admin disables them on the phone: the colleague's next request is refused.
        page.reload()
        expect(page.locator(".adm-status")).not_to_contain_text("须修改密码")
        page.get_by_role("button", name="停用…").click()
        check_layout(page, "05-disable-confirm-phone")
        page.get_by_role("button", name="确认停用").click()
        expect(page.locator("#enable-card")).to_be_visible()
        expect(page.locator(".adm-status .adm-badge-off")).to_have_text("已停用")
        check_layout(page, "06-disabled-phone")
        them.goto("/customers")
        expect(them).to_have_url(re.compile(r"/login"))
    finally:
        other.close()
    assert js_errors == []


def test_disabling_a_rep_hands_their_customers_over(page, server, admin, customer, js_errors):
    log_in(page, "boss")
    page.goto("/admin/users?q=李销售")
    page.locator("#user-list a").first.click()
    expect(page.locator("#disable-card")).to_contain_text("1 个客户")
    page.get_by_role("button", name="停用…").click()
    page.get_by_label("把 TA 的客户和进行中的商机转交给").select_option(label="赵经理 (@mgr)")
    page.get_by_role("button", name="确认停用").click()
    expect(page.locator("#enable-card")).to_be_visible()
    owner = server.api("GET", f"/api/v1/customers/{customer['id']}", who="boss").json()["owner_name"]
    assert owner == "赵经理"
    page.goto("/admin/audit?action=customer.reassign")
    expect(page.locator("#audit-table tbody tr")).to_have_count(1)
    expect(page.locator("#audit-table tbody tr").first).to_contain_text("客户转交")
    check_layout(page, "07-audit-reassign-phone")
    assert js_errors == []


BAD_CSV = ("username,display_name,roles,team,manager,phone\n"
           "chen.jie,陈杰,boss,Team A,,\n"
           "sun.li,孙丽,rep,Team A,nobody,\n"
           "chen.jie,陈杰二,rep,Team A,,\n"
           "zhou.min,周敏,rep,华南大区,mgr,13800000001\n")
GOOD_CSV = "\ufeffusername,display_name,roles,team,manager\nchen.jie,陈杰,rep,华南大区,mgr\nsun.li,孙丽,\"rep,presales\",,\n"


def test_import_preview_shows_row_problems_then_imports_all(page, admin, tmp_path, js_errors):
    bad, good = tmp_path / "坏.csv", tmp_path / "好.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    good.write_text(GOOD_CSV, encoding="utf-8")
    log_in(page, "boss")
    page.goto("/admin/import")
    check_layout(page, "08-import-phone")
    page.get_by_label("文件").set_input_files(str(bad))
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator("#import-summary")).to_contain_text("4 行中有 3 行存在问题")
    rows = page.locator("#import-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("未知角色 boss")
    expect(rows.nth(1)).to_contain_text("上级 nobody 既不在系统中")
    expect(rows.nth(2)).to_contain_text("已出现在第 2 行")
    expect(rows.nth(3)).to_contain_text("无问题")
    expect(page.locator("#import-commit")).to_be_hidden()
    check_layout(page, "09-import-preview-errors-phone")

    page.get_by_label("文件").set_input_files(str(good))
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator("#import-summary")).to_contain_text("全部 2 行均无问题")
    page.get_by_role("button", name="导入 2 位用户").click()
    expect(page.locator("#import-result-summary")).to_have_text("已导入 2 位用户。")
    expect(page.locator("#import-passwords tbody tr")).to_have_count(2)
    check_layout(page, "10-import-done-phone")
    page.goto("/admin/teams")
    expect(page.locator("#team-list")).to_contain_text("华南大区")
    check_layout(page, "11-teams-phone")
    assert js_errors == []


def test_admin_pages_at_desktop_width(browser, server, admin, tmp_path):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=server.base_url)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page, "boss")
        page.goto("/admin/users")
        check_layout(page, "20-users-desktop")
        page.locator("#user-list a", has_text="赵经理").click()
        expect(page.locator("#disable-card")).to_be_visible()
        check_layout(page, "21-user-desktop")
        page.get_by_role("button", name="生成临时密码").click()
        expect(page.locator("#secret-value")).to_have_text(re.compile(r"^\S{12}$"))
        check_layout(page, "22-reset-desktop")
        page.goto("/admin/teams")
        page.locator("#new-team-name").fill("大客户部")
        page.locator("#new-team-manager").select_option(label="赵经理 (@mgr)")
        page.get_by_role("button", name="创建团队").click()
        expect(page.locator("#team-list")).to_contain_text("大客户部")
        page.locator("details.adm-team", has_text="大客户部").locator("summary").click()
        check_layout(page, "23-teams-desktop")
        bad = tmp_path / "bad.csv"
        bad.write_text(BAD_CSV, encoding="utf-8")
        page.goto("/admin/import")
        page.get_by_label("文件").set_input_files(str(bad))
        page.get_by_role("button", name="检查文件").click()
        expect(page.locator("#import-table tbody tr")).to_have_count(4)
        check_layout(page, "24-import-desktop")
        page.goto("/admin/audit")
        expect(page.locator("#audit-table tbody tr").first).to_be_visible()
        page.get_by_label("操作", exact=True).select_option(label="登录")
        page.get_by_role("button", name="筛选").click()
        expect(page.locator("#audit-table tbody tr").first).to_contain_text("登录")
        check_layout(page, "25-audit-desktop")
        with page.expect_download() as download:
            page.get_by_role("link", name="导出 CSV").click()
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and "时间,操作人".encode() in data
        assert errors == []
    finally:
        ctx.close()


def test_a_rep_sees_no_admin_link_and_a_page_saying_so(page, server, customer):
    log_in(page)
    page.goto("/me")
    expect(page.get_by_role("link", name="审计日志")).to_have_count(0)
    page.goto("/admin/users")
    expect(page.get_by_role("heading", name="仅限管理员")).to_be_visible()
    page.goto("/password")
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("a new password")
    page.get_by_label("再次输入新密码").fill("a new password")
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_url(re.compile(r"/customers$"))
