"""The trade-show scanner in a real Chromium: badges shown to Chromium's fake camera (a .y4m video
made here from QR codes drawn with segno), the offline outbox, and typing a badge in by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, SKIP_REASON, log_in, screenshot, wait_for_service_worker

if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
segno = pytest.importorskip("segno")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import phone_context  # noqa: E402

FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")


def vcard(name: str, phone: str, company: str, title: str, email: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"N:{name[0]};{name[1:]};;;", f"ORG:{company}",
                        f"TITLE:{title}", f"TEL;TYPE=CELL:{phone}", f"EMAIL:{email}", "END:VCARD"])


BADGES = {
    "张伟": vcard("张伟", "139 1234 5678", "苏州智造科技有限公司", "采购总监", "zhang.wei@example.cn"),
    "李娜": vcard("李娜", "+86 137 0000 1111", "宁波海天精工股份有限公司", "设备部经理", "li.na@example.cn"),
    "王芳": "MECARD:N:王,芳;TEL:13522223333;EMAIL:wang.fang@example.cn;ORG:杭州机器人有限公司;;",
}


# --- a badge video for the fake camera --------------------------------------------------------------------

def _luma_with_qr(payload: str | None, width: int, height: int) -> bytes:
    """One grey-scale frame: a light background with the QR code in the middle (or nothing)."""
    frame = bytearray([228]) * (width * height)
    if payload is None:
        return bytes(frame)
    rows = [list(r) for r in segno.make(payload, error="m", micro=False).matrix]
    n = len(rows)
    module = int(min(width, height) * 0.8) // (n + 8)  # the quiet zone is the background
    left, top = (width - n * module) // 2, (height - n * module) // 2
    for y, row in enumerate(rows):
        line = bytearray()
        for dark in row:
            line += bytes([20 if dark else 228]) * module
        for dy in range(module):
            start = (top + y * module + dy) * width + left
            frame[start:start + len(line)] = line
    return bytes(frame)


def write_y4m(path: Path, payloads: list[str | None], *, seconds_each: float = 2.0, fps: int = 10,
              width: int = 640, height: int = 480) -> Path:
    """A YUV4MPEG2 file: a text header, then per frame "FRAME\\n" + the Y, U, V planes (4:2:0).
    Chromium loops it for ever; each payload is shown for ``seconds_each`` (None: an empty frame)."""
    chroma = bytes([128]) * (width // 2 * height // 2 * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for payload in payloads:
            frame = b"FRAME\n" + _luma_with_qr(payload, width, height) + chroma
            for _ in range(max(1, int(seconds_each * fps))):
                out.write(frame)
    return path


@pytest.fixture
def camera_page(launch_browser, server, tmp_path, js_errors):
    """``open(payloads)``: a logged-in phone page whose camera films the given badges in a loop."""
    contexts = []

    def open_with(payloads: list[str | None], **video_options):
        video = write_y4m(tmp_path / f"badges{len(contexts)}.y4m", payloads, **video_options)
        browser = launch_browser(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}")
        ctx = phone_context(browser, server)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: js_errors.append(f"console: {msg.text}")
                if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused" in msg.text) else None)
        log_in(page)
        return page

    yield open_with
    for ctx in contexts:
        ctx.close()


def customers_named(server, name: str) -> list[dict]:
    resp = server.api("GET", "/api/v1/customers", params={"q": name})
    assert resp.status_code == 200, resp.text
    return [c for c in resp.json()["items"] if c["name"] == name]


def scan_metrics(page) -> dict:
    return page.evaluate("""() => {
        const s = window.salesgateScan, ms = s.stats.decodeMs.slice().sort((a, b) => a - b);
        return {engine: s.stats.engine, frames: s.stats.frames, initMs: s.stats.initMs,
                medianDecodeMs: ms[Math.floor(ms.length / 2)], maxDecodeMs: ms[ms.length - 1], saves: s.saves};
    }""")


# --- (a) a badge seen by the camera becomes a customer; the camera goes on to the next one -----------------

def test_scan_badges_with_the_camera_saves_leads_and_keeps_scanning(camera_page, server, js_errors):
    page = camera_page([BADGES["张伟"], None, BADGES["李娜"], None], seconds_each=1.5)
    page.goto("/scan")
    page.get_by_label("展会").fill("2026 上海工博会")
    card = page.locator("#lead-card")
    seen = []
    for _ in range(2):
        expect(card).to_be_visible(timeout=15_000)
        name = page.locator("#lead-name")
        expect(name).not_to_have_text("无姓名的胸卡")  # the server read the badge
        who = name.inner_text()
        assert who in ("张伟", "李娜") and who not in seen
        seen.append(who)
        expect(page.locator("#lead-facts")).to_contain_text("+86")
        if len(seen) == 1:
            screenshot(page, "20-scan-card")
        page.locator("#products").get_by_role("button", name="伺服驱动器").click()
        page.get_by_role("radio", name="高").check()
        page.get_by_role("button", name="保存线索").click()
        expect(card).to_be_hidden()
        expect(page.locator(".session-item", has_text=who).locator(".session-state")).to_have_text("已保存")
    screenshot(page, "21-scan-session")

    zhang = customers_named(server, "张伟")
    assert len(zhang) == 1 and zhang[0]["phone"] == "+8613912345678"
    assert zhang[0]["company"] == "苏州智造科技有限公司"
    assert len(customers_named(server, "李娜")) == 1
    log = server.api("GET", f"/api/v1/customers/{zhang[0]['id']}/activities").json()["items"]
    assert any("2026 上海工博会" in (a.get("note") or "") and "伺服驱动器" in (a.get("note") or "") for a in log), log
    assert page.evaluate("localStorage.getItem('sg_scan_event')") == "2026 上海工博会"

    metrics = scan_metrics(page)
    print("scan metrics:", metrics)
    assert metrics["engine"] == "zxing-wasm"  # headless Chromium has no BarcodeDetector
    assert all(s["scanToSavedMs"] < 5000 for s in metrics["saves"])
    assert js_errors == []


# --- (b) offline: three badges wait on the phone, then reach the server exactly once each -----------------

AGE_ONE_ITEM_JS = """(hours) => new Promise((resolve, reject) => {
    const open = indexedDB.open("salesgate-outbox");
    open.onsuccess = () => {
        const t = open.result.transaction("items", "readwrite"), store = t.objectStore("items");
        store.getAll().onsuccess = (ev) => {
            const item = ev.target.result[0];
            item.created_at -= hours * 3600 * 1000;
            store.put(item);
        };
        t.oncomplete = () => { open.result.close(); resolve(true); };
        t.onerror = () => reject(t.error);
    };
})"""


def test_offline_scans_wait_on_the_phone_and_reach_the_server_once(camera_page, server, js_errors):
    names = ["张伟", "李娜", "王芳"]
    page = camera_page([BADGES["张伟"], None, BADGES["李娜"], None, BADGES["王芳"], None], seconds_each=1.2)
    sent = []  # leads/scan requests that got an answer, from the page and from the service worker
    page.context.on("requestfinished", lambda r: sent.append(r.url)
                    if r.method == "POST" and r.url.endswith("/api/v1/leads/scan") else None)
    page.goto("/scan")
    wait_for_service_worker(page)
    page.wait_for_function("""async () => {
        const c = await caches.open("salesgate-pages");
        return !!(await c.match("/scan")) && !!(await c.match("/outbox"));
    }""")  # both pages are kept for offline use, /outbox without ever being opened

    page.context.set_offline(True)
    page.reload()  # from the service worker's cache, camera and QR reader included
    card = page.locator("#lead-card")
    for _ in names:
        expect(card).to_be_visible(timeout=15_000)
        expect(page.locator("#lead-info")).to_have_text("当前无网络：胸卡内容按原文保存，发送时由服务器识别。")
        expect(page.locator("#lead-raw")).to_contain_text(re.compile("VCARD|MECARD"))
        page.get_by_role("button", name="保存线索").click()
        expect(card).to_be_hidden()
    pill = page.locator("#outbox-pill")
    expect(pill.locator(".outbox-count")).to_have_text("3")
    expect(page.locator("#outbox-waiting")).to_have_text("3")
    expect(page.locator(".session-state.waiting")).to_have_count(3)
    screenshot(page, "22-scan-offline-waiting")

    page.goto("/outbox")  # never opened, still there offline
    expect(page.locator("#waiting-list li")).to_have_count(3)
    expect(page.locator("#stale-warning")).to_be_hidden()
    page.evaluate(AGE_ONE_ITEM_JS, 25)
    page.reload()
    expect(page.locator("#stale-warning")).to_be_visible()
    expect(pill).to_have_class(re.compile("attention"))
    screenshot(page, "23-outbox-stale")
    assert sent == []

    # Back online: the page's online event, two more replays from the page and one from the
    # service worker, all at once.
    page.context.set_offline(False)
    page.evaluate("""() => {
        navigator.serviceWorker.controller.postMessage({type: "outbox-replay"});
        return Promise.all([SalesgateOutbox.replay(), SalesgateOutbox.replay()]);
    }""")
    expect(pill).to_be_hidden()
    expect(page.locator("#waiting-empty")).to_be_visible()
    page.wait_for_timeout(500)  # a duplicate send, had there been one, has landed by now
    for name in names:
        assert len(customers_named(server, name)) == 1, name
    assert len(sent) == 3, sent
    assert js_errors == []


# --- (c) an entry the server refuses is kept aside, shown with the reason, and can be fixed ---------------

def test_a_refused_entry_is_kept_aside_shown_and_fixed(camera_page, server, js_errors):
    junk = ["https://example.com/booth/42", "WIFI:S:expo-hall;T:WPA;P:guest2026;;"]
    page = camera_page([junk[0], None, junk[1], None], seconds_each=1.2)
    page.goto("/scan")
    wait_for_service_worker(page)
    page.context.set_offline(True)  # offline nobody can tell it is not a badge: it is saved as it is
    card = page.locator("#lead-card")
    for _ in junk:
        expect(card).to_be_visible(timeout=15_000)
        page.get_by_role("button", name="保存线索").click()
        expect(card).to_be_hidden()
    expect(page.locator("#outbox-pill .outbox-count")).to_have_text("2")

    page.context.set_offline(False)
    page.evaluate("SalesgateOutbox.replay()")
    expect(page.locator(".session-state.rejected")).to_have_count(2)
    expect(page.locator("#outbox-pill")).to_have_class(re.compile("attention"))
    page.locator(".session-state.rejected").first.click()

    expect(page).to_have_url(re.compile(r"/outbox$"))
    rejected = page.locator("#rejected-list li")
    expect(rejected).to_have_count(2)
    expect(rejected.first.locator(".outbox-error")).to_have_text(
        "这个二维码不是可识别的胸卡（vCard、MECARD 或带标签的文本）。")
    expect(page.locator("#waiting-empty")).to_be_visible()
    screenshot(page, "24-outbox-rejected")

    page.once("dialog", lambda d: d.accept())
    rejected.nth(1).get_by_role("button", name="删除").click()
    expect(rejected).to_have_count(1)

    rejected.first.get_by_role("link", name="修改").click()  # typed in by hand instead
    expect(page).to_have_url(re.compile(r"/scan\?fix="))
    expect(page.locator("#manual")).to_be_visible()
    expect(page.get_by_label("备注（可选）")).to_have_value(junk[0])
    expect(page.locator("#lead-form .form-error")).to_contain_text("不是可识别的胸卡")
    page.get_by_label("姓名").fill("赵敏")
    page.get_by_label("手机").fill("136 5555 6666")
    page.get_by_role("button", name="保存线索").click()
    expect(page.locator(".session-item", has_text="赵敏").locator(".session-state")).to_have_text("已保存")
    expect(page.locator("#outbox-pill")).to_be_hidden()
    zhao = customers_named(server, "赵敏")
    assert len(zhao) == 1 and zhao[0]["phone"] == "+8613655556666"
    assert js_errors == []


# --- (d) no camera, or no permission: the page says why and the visitor is typed in -----------------------

def test_without_a_camera_the_page_says_why_and_takes_the_badge_by_hand(launch_browser, server, js_errors):
    ctx = phone_context(launch_browser(), server, permissions=["camera"])  # allowed, but there is none
    page = ctx.new_page()
    page.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
    log_in(page)
    page.goto("/scan")
    expect(page.locator("#camera-off-reason")).to_have_text("此设备上没有找到相机。请在下方手动录入访客信息。")
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.get_by_label("姓名")).to_be_visible()
    screenshot(page, "25-scan-no-camera")
    page.get_by_label("姓名").fill("陈静")
    page.get_by_label("手机").fill("13800001111")
    page.get_by_label("公司").fill("无锡先导智能装备股份有限公司")
    page.locator("#products").get_by_role("button", name="AGV 小车").click()
    page.get_by_role("radio", name="中").check()
    screenshot(page, "26-scan-by-hand-filled")
    page.get_by_role("button", name="保存线索").click()
    expect(page.locator(".session-item", has_text="陈静").locator(".session-state")).to_have_text("已保存")
    chen = customers_named(server, "陈静")
    assert len(chen) == 1 and chen[0]["phone"] == "+8613800001111"
    assert chen[0]["company"] == "无锡先导智能装备股份有限公司"
    ctx.close()

    denied = phone_context(launch_browser("--use-fake-device-for-media-stream"), server)  # camera, no permission
    page = denied.new_page()
    page.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
    log_in(page)
    page.goto("/scan")
    expect(page.locator("#camera-off-reason")).to_contain_text("相机权限被拒绝")
    expect(page.get_by_role("button", name="重新打开相机")).to_be_visible()
    expect(page.get_by_label("姓名")).to_be_visible()
    denied.close()
    assert js_errors == []


# --- the outbox also carries the new-customer form and contact logging ------------------------------------

def test_new_customer_and_contact_log_saved_offline_are_sent_later(page, context, server, customer, js_errors):
    log_in(page)
    wait_for_service_worker(page)
    page.goto("/customers/new")
    page.goto(f"/customers/{customer['id']}")
    context.set_offline(True)

    page.get_by_label("备注（可选）").fill("展会后电话回访，客户要报价")
    page.locator("#activity-form").get_by_role("button", name="电话", exact=True).click()
    expect(page.locator(".toast")).to_have_text("已保存在本机，恢复网络后自动发送。")
    expect(page.get_by_label("备注（可选）")).to_have_value("")

    page.goto("/customers/new")  # from the cache
    page.get_by_label("姓名").fill("周杰")
    page.get_by_label("手机").fill("139 1234")  # a digit short: only the server can tell, later
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".toast")).to_have_text("已保存在本机，恢复网络后自动发送。")
    expect(page.get_by_label("姓名")).to_have_value("")
    expect(page.locator("#outbox-pill .outbox-count")).to_have_text("2")

    context.set_offline(False)  # no nudge: the browser's own online event replays the outbox
    expect(page.locator("#outbox-pill .outbox-count")).to_have_text("1")
    expect(page.locator("#outbox-pill")).to_have_class(re.compile("attention"))
    log = server.api("GET", f"/api/v1/customers/{customer['id']}/activities").json()["items"]
    assert [(a["kind"], a["note"]) for a in log] == [("call", "展会后电话回访，客户要报价")]
    assert customers_named(server, "周杰") == []

    page.locator("#outbox-pill").click()
    item = page.locator("#rejected-list li")
    expect(item).to_have_count(1)
    expect(item.locator(".outbox-error")).to_have_text("手机号码无效。")
    expect(item.locator(".outbox-meta")).to_contain_text("新客户")
    item.get_by_role("link", name="修改").click()
    expect(page).to_have_url(re.compile(r"/customers/new\?fix="))
    expect(page.get_by_label("姓名")).to_have_value("周杰")
    expect(page.locator("#customer-form .form-error")).to_have_text("手机号码无效。")
    expect(page.get_by_label("手机")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("手机").fill("139 1234 0000")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#main").get_by_role("heading", name="周杰")).to_be_visible()
    expect(page.locator("#outbox-pill")).to_be_hidden()
    zhou = customers_named(server, "周杰")
    assert len(zhou) == 1 and zhou[0]["phone"] == "+8613912340000"
    assert js_errors == []
