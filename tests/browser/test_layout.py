"""Layout on a 390x844 phone: touch targets, nothing under the tab bar or the add button,
no sideways scrolling, no clipped labels. Measured in the browser, on pages full of data."""

from __future__ import annotations

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, screenshot

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

MIN_TARGET_PX = 44

# Returns a list of problems on the page as it is scrolled to the very end.
LAYOUT_PROBLEMS_JS = """(minTarget) => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`scrolls sideways: ${root.scrollWidth}px wide`);
  }
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} "${(el.textContent || el.value || "").trim().slice(0, 20)}"`;

  // Touch targets; links inside running text (display: inline) are exempt, as in WCAG 2.5.8.
  for (const el of document.querySelectorAll("a[href], button, input, textarea, select")) {
    if (el.classList.contains("skip") || !visible(el)) continue;
    if (getComputedStyle(el).display === "inline") continue;
    const r = el.getBoundingClientRect();
    if (r.width < minTarget || r.height < minTarget) {
      problems.push(`small target ${Math.round(r.width)}x${Math.round(r.height)}: ${name(el)}`);
    }
  }
  // Labels that do not fit their box (titles and list rows end in an ellipsis on purpose).
  for (const el of document.querySelectorAll(".btn, .chip, .tab span, label, .badge, h2, h3")) {
    if (!visible(el) || el.classList.contains("visually-hidden")) continue;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0
        && getComputedStyle(el).overflow !== "visible") {
      problems.push(`clipped text: ${name(el)}`);
    }
  }
  // Scrolled to the end, the last content clears the tab bar and the floating add button.
  window.scrollTo(0, root.scrollHeight);
  const tabbar = document.querySelector("nav.tabbar");
  const main = document.querySelector("#main");
  const blocks = [...main.querySelectorAll(":scope > *")].filter((el) => {
    const pos = getComputedStyle(el).position;
    return visible(el) && pos !== "fixed";
  });
  if (tabbar && blocks.length) {
    const bottom = Math.max(...blocks.map((el) => el.getBoundingClientRect().bottom));
    const top = tabbar.getBoundingClientRect().top;
    if (bottom > top) problems.push(`content ends at ${Math.round(bottom)}px, under the tab bar at ${Math.round(top)}px`);
  }
  const fab = document.querySelector(".fab");
  if (fab && visible(fab)) {
    const f = fab.getBoundingClientRect();
    for (const el of main.querySelectorAll(".row, .btn, .chip")) {
      if (el === fab || !visible(el)) continue;
      const r = el.getBoundingClientRect();
      const overlap = r.left < f.right && r.right > f.left && r.top < f.bottom && r.bottom > f.top;
      if (overlap) problems.push(`under the add button at the end of the page: ${name(el)}`);
    }
  }
  return problems;
}"""


@pytest.fixture
def full_of_data(server, customer) -> dict:
    """Many customers with long company names, and a customer with a long history and contacts."""
    for i in range(30):
        resp = server.api("POST", "/api/v1/customers", json={
            "name": f"欧阳测试客户{i:02d}", "phone": f"1390000{i:04d}",
            "company": "上海浦东新区国际进出口贸易集团股份有限公司", "title": "华东大区高级采购总监"})
        assert resp.status_code in (200, 201), resp.text
    busy = server.api("POST", "/api/v1/customers", json={
        "name": "司马长名字客户", "phone": "021 6123 4567", "company": "北京中关村科技发展（控股）股份有限公司",
        "title": "首席信息官", "email": "a.very.long.email.address@example-company.com.cn",
        "contacts": [{"name": "李助理", "phone": "13711112222", "title": "总经理助理"},
                     {"name": "张工程师", "phone": "13733334444", "title": "技术部高级工程师"}]}).json()
    for kind in ["call", "visit", "meeting", "message", "note"] * 2:
        resp = server.api("POST", "/api/v1/activities", json={
            "customer_id": busy["id"], "kind": kind,
            "note": "客户对报价基本认可，希望下周安排技术交流，并提供同行业案例和交付周期说明。"})
        assert resp.status_code in (200, 201), resp.text
    return busy


def test_layout_fits_a_phone_on_every_tab(page, full_of_data, js_errors):
    log_in(page)
    pages = {
        "customers": "/customers",
        "customer-long": f"/customers/{full_of_data['id']}",
        "new-customer": "/customers/new",
        "entry": "/entry",
        "me": "/me",
        "workbench": "/workbench",
        "scan": "/scan",
        "outbox": "/outbox",
        "inbox": "/inbox",
    }
    found = {}
    for label, path in pages.items():
        page.goto(path)
        problems = page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX)
        if problems:
            found[path] = problems
        if label in ("customers", "customer-long"):
            screenshot(page, f"07-{label}-end")  # scrolled to the end by the check
    page.goto("/login")  # logged in: the login page still shows (e.g. to switch account)
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    assert found == {}
    assert js_errors == []


def test_login_page_fits_without_a_session(page, js_errors):
    page.goto("/login")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    page.goto("/offline")
    assert page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX) == []
    assert js_errors == []


@pytest.fixture
def pipeline_full_of_data(server, customer) -> dict:
    """Opportunities with long titles in every open stage, one in "signed" (with substates) with a
    file uploaded, a presales colleague and an admin (who moves them past the gates)."""
    from tests.browser.helpers import move_with_override

    server.add_user("sun", roles="presales", display_name="孙晓峰", token=False)
    server.add_user("admin", roles="admin", display_name="系统管理员", team=None)
    path = ["needs_analysis", "solution_confirmed", "price_comparison", "contract_approval", "signed",
            "pending_delivery_scheduling", "pending_kickoff_meeting", "delivery_kickoff"]
    made = {}
    for i in range(14):
        resp = server.api("POST", "/api/v1/opportunities", json={
            "customer_id": customer["id"], "amount": 1234567.5 + i * 1000,
            "title": f"上海浦东新区国际进出口贸易集团二期智能仓储立体货架及AGV项目{i:02d}"})
        assert resp.status_code == 201, resp.text
        stages = path[:i % (len(path) + 1)]
        made[i] = move_with_override(server, resp.json()["id"], *stages) if stages else resp.json()
    signed = made[5]
    assert signed["stage"] == "signed" and signed["substate"] == "pending_legal_archive"
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    resp = server.api("POST", f"/api/v1/opportunities/{signed['id']}/attachments",
                      data={"material": "contract_scan"},
                      files={"file": ("华东精密机械有限公司-2026年度框架采购合同-盖章扫描件-最终版.pdf", pdf, "application/pdf")})
    assert resp.status_code in (200, 201), resp.text
    return {"signed": signed, "solution": made[2], "customer": customer}


def test_opportunity_pages_fit_a_phone(page, pipeline_full_of_data, js_errors):
    data = pipeline_full_of_data
    log_in(page)
    pages = {
        "pipeline": "/opportunities",
        "pipeline-stage": "/opportunities?stage=signed",
        "opportunity-signed": f"/opportunities/{data['signed']['id']}",
        "opportunity-solution": f"/opportunities/{data['solution']['id']}",
        "customer-with-opportunities": f"/customers/{data['customer']['id']}",
    }
    found = {}
    for label, path in pages.items():
        page.goto(path)
        if label.startswith("opportunity"):
            page.locator("details.stage-nodes").first.locator("summary").click()  # open one other stage
            page.locator(".lost-box summary").click()
        screenshot(page, f"15-{label}", full_page=True)
        problems = page.evaluate(LAYOUT_PROBLEMS_JS, MIN_TARGET_PX)
        if problems:
            found[path] = problems
    assert found == {}
    assert js_errors == []
