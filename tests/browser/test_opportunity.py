"""The opportunity screens in a real Chromium on a phone (zh-CN, 390x844): the gate explained
before the rep tries, a material uploaded from the checklist, the move it unlocks, and the
refusals (a PNG renamed .pdf, a move while something is missing) said in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, move_with_override, screenshot

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import expect  # noqa: E402

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (Path(__file__).resolve().parents[2] / "pwa" / "static" / "icons" / "icon-192.png").read_bytes()
LETTER = "tech_confirmation_letter"
MISSING_LETTER = "缺少：《技术参数确认函》（含客户签章） — 由 售前 孙晓峰 提供"


@pytest.fixture
def at_solution(server, customer) -> dict:
    """The rep's opportunity moved by an admin (gate override) to solution_confirmed, where the
    customer-stamped technical-parameter letter is owed by presales (孙晓峰, the rep's team)."""
    server.add_user("sun", roles="presales", display_name="孙晓峰", token=False)
    server.add_user("admin", roles="admin", display_name="系统管理员", team=None)
    resp = server.api("POST", "/api/v1/opportunities", json={
        "customer_id": customer["id"], "title": "二号产线伺服驱动器扩产", "amount": 1250000})
    assert resp.status_code == 201, resp.text
    opp = move_with_override(server, resp.json()["id"], "needs_analysis", "solution_confirmed")
    assert opp["stage"] == "solution_confirmed"
    return opp


def choose_file(page, row, path: Path) -> None:
    """Tap the row's "选择文件" button and pick the file in the chooser it opens."""
    with page.expect_file_chooser() as chooser:
        row.get_by_role("button", name="选择文件").click()
    chooser.value.set_files(str(path))


def test_rep_uploads_the_missing_letter_and_advances_to_price_comparison(page, server, at_solution, tmp_path,
                                                                        js_errors):
    uploads: list[tuple[str, str, dict]] = []
    page.on("request", lambda r: uploads.append((r.method, r.url, r.headers))
            if "/attachments" in r.url or r.method == "PUT" else None)
    log_in(page)
    page.get_by_role("link", name="商机", exact=True).click()  # Customers | Pipeline switch
    expect(page).to_have_url(re.compile(r"/opportunities$"))
    row = page.locator("#opportunity-list a", has_text="二号产线伺服驱动器扩产")
    expect(row).to_contain_text("方案确认")
    expect(row).to_contain_text("¥1,250,000")
    expect(row).to_contain_text("王建国")
    screenshot(page, "10-pipeline")
    row.click()

    expect(page).to_have_url(re.compile(rf"/opportunities/{at_solution['id']}$"))
    expect(page.locator("#current-stage")).to_have_text("方案确认")
    expect(page.locator(".stepper .step.current")).to_contain_text("方案确认")
    expect(page.locator(".stepper .step.done")).to_have_count(2)
    advance = page.locator("#advance")
    expect(advance.get_by_role("heading")).to_have_text("下一步：比价")
    expect(advance.locator("#blocking-list li")).to_have_text([MISSING_LETTER])  # said before any tap
    button = advance.get_by_role("button", name="推进到下一步")
    expect(button).to_have_class(re.compile(r"\bblocked\b"))
    # The responsibility map names people, each role in its own colour, with a key.
    expect(page.locator(".legend li")).to_have_text(["执行人", "协作人", "监督人"])
    node = page.locator("#current-nodes .node", has_text="技术参数确认函（客户签章）")
    expect(node.locator(".who.executor")).to_have_text("执行人 李销售")
    expect(node.locator(".who.collaborator")).to_have_text("协作人 售前 孙晓峰")
    expect(node.locator(".who.supervisor")).to_have_text("监督人 直属经理（未指定）")
    expect(node.locator(".due")).to_have_text(re.compile(r"^截止 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    screenshot(page, "11-opportunity", full_page=True)

    letter = page.locator(f"#m-{LETTER}")
    expect(letter.locator(".material-state")).to_have_text("缺失")
    expect(letter.get_by_role("button", name="拍照")).to_have_count(0)  # PDF only: a photo would be refused
    pdf = tmp_path / "技术参数确认函.pdf"
    pdf.write_bytes(PDF)
    choose_file(page, letter, pdf)
    expect(letter).to_have_class(re.compile(r"\bpresent\b"))  # after the page reloads itself
    expect(letter.locator(".material-state")).to_have_text("已上传")
    expect(letter.locator(".file-link")).to_contain_text("技术参数确认函.pdf")
    expect(letter.locator(".file-link")).to_have_attribute("href", re.compile(r"^/api/v1/attachments/[0-9a-f-]+/download$"))
    # Straight to storage: presign at the app, PUT to the object store, confirm at the app.
    steps = [(m, u.split("?")[0].rsplit("/", 1)[-1] if m != "PUT" else "storage") for m, u, _ in uploads]
    assert steps[:3] == [("POST", "presign"), ("PUT", "storage"), ("POST", "confirm")], steps
    assert not uploads[1][1].startswith(server.base_url)  # the bytes did not pass through the app
    assert uploads[0][2].get("x-csrf-token") and uploads[0][2].get("idempotency-key"), uploads
    files = server.api("GET", f"/api/v1/opportunities/{at_solution['id']}/attachments").json()
    assert [(f["material"], f["status"], f["content_type"]) for f in files] == [(LETTER, "present", "application/pdf")]

    expect(page.locator("#blocking")).to_be_hidden()
    expect(advance.locator(".ready")).to_be_visible()
    expect(button).to_have_class(re.compile(r"\bprimary\b"))
    screenshot(page, "12-opportunity-ready")
    button.click()
    expect(page.locator("#current-stage")).to_have_text("比价")
    expect(page.locator(".stepper .step.current")).to_contain_text("比价")
    expect(page.locator("#advance").get_by_role("heading")).to_have_text("下一步：合同审批")
    assert server.api("GET", f"/api/v1/opportunities/{at_solution['id']}").json()["stage"] == "price_comparison"
    screenshot(page, "13-price-comparison", full_page=True)
    assert js_errors == []


def test_png_renamed_pdf_is_refused_in_chinese_and_the_move_stays_blocked(page, server, at_solution, tmp_path,
                                                                         js_errors):
    log_in(page)
    page.goto(f"/opportunities/{at_solution['id']}")
    letter = page.locator(f"#m-{LETTER}")
    fake = tmp_path / "技术参数确认函.pdf"
    fake.write_bytes(PNG)
    choose_file(page, letter, fake)
    expect(letter.locator(".form-error")).to_have_text("文件的实际类型不符合要求，此处只接受 PDF。")
    expect(letter).to_have_class(re.compile(r"\bmissing\b"))
    expect(letter.locator(".material-state")).to_have_text("缺失")
    expect(letter.get_by_role("button", name="选择文件")).to_be_enabled()  # ready to try another file
    screenshot(page, "14-wrong-file-type")
    assert server.api("GET", f"/api/v1/opportunities/{at_solution['id']}/attachments").json() == []

    # Tapping the blocked button anyway: refused by the gate, the list says what is missing.
    page.get_by_role("button", name="推进到下一步").click()
    expect(page.locator("#advance .form-error")).to_have_text("暂时不能推进：还有必需的事项未完成（见上方清单）。")
    expect(page.locator("#blocking-list li")).to_have_text([MISSING_LETTER])
    expect(page.locator("#current-stage")).to_have_text("方案确认")
    assert server.api("GET", f"/api/v1/opportunities/{at_solution['id']}").json()["stage"] == "solution_confirmed"
    assert js_errors == []


def test_new_opportunity_from_the_customer_page_saves_fields_and_can_be_marked_lost(page, server, customer,
                                                                                    js_errors):
    log_in(page)
    page.goto(f"/customers/{customer['id']}")
    section = page.locator("section.card", has=page.get_by_role("heading", name="商机"))
    expect(section).to_contain_text("暂无商机。")
    section.get_by_label("商机名称").fill("AGV 小车试点")
    section.get_by_label("金额（元）").fill("380000")
    section.locator("#opportunity-form").get_by_role("button", name="新建商机").click()
    expect(page).to_have_url(re.compile(r"/opportunities/[0-9a-f-]{36}$"))
    opp_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#current-stage")).to_have_text("初步接触")
    blocking = page.locator("#blocking-list li")
    expect(blocking).to_have_text(["未完成：首次有效沟通（需记录一次客户联系） — 由 李销售 完成 记录联系",
                                   "未填写：关键决策人 — 由 李销售 填写"])
    expect(blocking.first.get_by_role("link", name="记录联系")).to_have_attribute(
        "href", f"/customers/{customer['id']}#activity-form")

    page.get_by_label("关键决策人").fill("王建国（采购经理）")
    page.get_by_role("button", name="保存").click()
    expect(blocking).to_have_text(["未完成：首次有效沟通（需记录一次客户联系） — 由 李销售 完成 记录联系"])
    expect(page.get_by_label("关键决策人")).to_have_value("王建国（采购经理）")
    saved = server.api("GET", f"/api/v1/opportunities/{opp_id}").json()
    assert saved["fields"] == {"decision_maker": "王建国（采购经理）"} and saved["amount"] == 380000

    page.locator(".lost-box summary").click()  # opens the form
    lost = page.locator("#lost-form")
    lost.get_by_role("button", name="标记输单").click()
    expect(lost.locator(".form-error")).to_have_text("请填写输单原因。")
    lost.get_by_label("输单原因").fill("客户预算取消")
    lost.get_by_role("button", name="标记输单").click()
    expect(page.locator(".outcome.lost")).to_have_text("已输单")
    expect(page.get_by_text("输单原因：客户预算取消")).to_be_visible()
    expect(page.locator("#advance")).to_have_count(0)
    assert server.api("GET", f"/api/v1/opportunities/{opp_id}").json()["status"] == "lost"

    page.goto(f"/customers/{customer['id']}")
    expect(page.locator("#customer-opportunities li")).to_have_count(1)
    expect(page.locator("#customer-opportunities li")).to_contain_text("AGV 小车试点")
    expect(page.locator("#customer-opportunities li")).to_contain_text("输单")
    assert js_errors == []


def test_manager_filters_the_pipeline_by_stage_and_owner(page, server, at_solution, customer, js_errors):
    server.add_user("boss", roles="manager", display_name="王经理", token=False)  # manages Team A
    fresh = server.api("POST", "/api/v1/opportunities", json={"customer_id": customer["id"], "title": "PLC 控制器备件"})
    assert fresh.status_code == 201, fresh.text
    log_in(page, "boss")
    page.goto("/customers")
    page.locator("#main").get_by_role("link", name="商机").click()
    rows = page.locator("#opportunity-list > li")
    expect(rows).to_have_count(2)

    stages = page.get_by_role("navigation", name="阶段")
    stages.get_by_role("link", name=re.compile("^方案确认")).click()
    expect(page).to_have_url(re.compile(r"\?stage=solution_confirmed$"))
    expect(rows).to_have_text([re.compile("二号产线伺服驱动器扩产")])
    expect(stages.locator("[aria-current=page]")).to_have_text(re.compile(r"^方案确认\s*1$"))

    page.get_by_label("负责人").select_option(label="李销售")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"owner_id=[0-9a-f-]{36}"))
    expect(page).to_have_url(re.compile(r"stage=solution_confirmed"))
    expect(rows).to_have_count(1)
    page.get_by_label("负责人").select_option(label="王经理")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#main").get_by_role("heading", name="这里还没有商机")).to_be_visible()
    stages.get_by_role("link", name=re.compile("^全部")).click()
    expect(page.locator("#main").get_by_role("heading", name="这里还没有商机")).to_be_visible()  # still 王经理's
    page.get_by_label("负责人").select_option(label="全部负责人")
    page.get_by_role("button", name="筛选").click()
    expect(rows).to_have_count(2)
    assert js_errors == []


def test_upload_goes_through_the_app_when_storage_is_out_of_reach(page, server, at_solution, tmp_path, js_errors):
    """A phone that cannot reach the storage address still uploads: the page falls back to multipart."""
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/attachments") else None)
    page.route(re.compile(r"^http://127\.0\.0\.1:\d+/(?!api/|static/).*X-Amz-Signature.*"),
               lambda route: route.abort("addressunreachable"))
    log_in(page)
    page.goto(f"/opportunities/{at_solution['id']}")
    letter = page.locator(f"#m-{LETTER}")
    pdf = tmp_path / "确认函.pdf"
    pdf.write_bytes(PDF)
    choose_file(page, letter, pdf)
    expect(letter).to_have_class(re.compile(r"\bpresent\b"))
    assert len(posts) == 1, posts
    files = server.api("GET", f"/api/v1/opportunities/{at_solution['id']}/attachments").json()
    assert [(f["material"], f["status"]) for f in files] == [(LETTER, "present")]
    assert js_errors == []
