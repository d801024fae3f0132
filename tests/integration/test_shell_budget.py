"""The app shell's size budget (Issue 8): under 150 KB gzipped, the zxing wasm decoder excluded.

The shell is everything pwa/sw.js precaches; each main page's own HTML + CSS + JS must fit the
same budget. Measured on the bodies the app serves, gzip level 9 — no Node, no browser; the
Lighthouse run itself is a benchmark (bench/lighthouse.py).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from tests.integration.helpers import make_org

SW = Path(__file__).resolve().parents[2] / "pwa" / "sw.js"
BUDGET = 150 * 1024


def precache_paths() -> list[str]:
    found = re.search(r"const PRECACHE = \[(.*?)\];", SW.read_text(), re.S)
    assert found, "pwa/sw.js has no PRECACHE list"
    return re.findall(r'"([^"]+)"', found.group(1))


def gz(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9, mtime=0))


def is_decoder(path: str) -> bool:
    return path.endswith(".wasm")


async def test_everything_the_service_worker_precaches_is_served_and_fits_the_budget(client):
    paths = precache_paths()
    assert "/static/app.js" in paths and "/offline" in paths
    sizes = {}
    for path in paths:
        resp = await client.get(path)
        assert resp.status_code == 200, f"{path}: {resp.status_code}"
        sizes[path] = gz(resp.content)
    decoders = [p for p in paths if is_decoder(p)]
    assert decoders == ["/static/vendor/zxing-wasm/zxing_reader.wasm"]
    shell = sum(n for p, n in sizes.items() if not is_decoder(p))
    biggest = sorted(sizes.items(), key=lambda x: -x[1])[:4]
    assert shell < BUDGET, f"the app shell is {shell / 1024:.1f} KB gzipped (budget 150 KB); biggest: {biggest}"


async def test_each_main_page_with_its_css_and_js_fits_the_budget(client):
    org = await make_org()
    rep = org.auth("rep_a1")
    customer = (await client.post("/api/v1/customers", headers=rep, json={"name": "王建国"})).json()
    opp = (await client.post("/api/v1/opportunities", headers=rep,
                             json={"customer_id": customer["id"], "title": "一期"})).json()
    pages = [("/login", {}), ("/workbench", rep), ("/workbench", org.auth("mgr_a")), ("/scan", rep),
             (f"/opportunities/{opp['id']}", rep)]
    for path, headers in pages:
        page = await client.get(path, headers=headers)
        assert page.status_code == 200, f"{path}: {page.status_code}"
        assets = re.findall(r'<script[^>]* src="(/[^"]+)"|<link rel="stylesheet" href="(/[^"]+)"', page.text)
        urls = [a or b for a, b in assets]
        plain = {url.split("?")[0] for url in urls}
        assert {"/static/app.js", "/static/app.css"} <= plain, f"{path} loads {urls}"
        total = gz(page.content)
        for url in urls:
            resp = await client.get(url)
            assert resp.status_code == 200, f"{path} loads {url}: {resp.status_code}"
            total += gz(resp.content)
        assert total < BUDGET, f"{path}: HTML+CSS+JS is {total / 1024:.1f} KB gzipped (budget 150 KB)"


async def test_pages_link_versioned_static_files_that_may_be_cached_for_a_year(client):
    page = await client.get("/login")
    versioned = re.findall(r'"(/static/[^"?]+)\?v=([0-9a-f]{12})"', page.text)
    assert {"/static/app.css", "/static/app.js"} <= {path for path, _ in versioned}, page.text[:2000]
    for path, version in versioned:
        fresh = await client.get(f"{path}?v={version}")
        assert fresh.status_code == 200
        assert fresh.headers["cache-control"] == "public, max-age=31536000, immutable", path
        assert fresh.content == (await client.get(path)).content
    # The plain URL (the service worker's precache) and a version that is not the file's are
    # revalidated every time, so a deploy is never hidden behind a year-long cache.
    for url in ("/static/app.js", "/static/app.js?v=000000000000", "/static/app.js?x=1"):
        resp = await client.get(url)
        assert resp.status_code == 200 and resp.headers["cache-control"] == "no-cache", url
        assert resp.headers.get("etag")
    assert "cache-control" not in (await client.get("/static/no-such-file.js")).headers
