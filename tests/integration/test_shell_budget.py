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
        assert "/static/app.js" in urls and "/static/app.css" in urls, f"{path} loads {urls}"
        total = gz(page.content)
        for url in urls:
            resp = await client.get(url)
            assert resp.status_code == 200, f"{path} loads {url}: {resp.status_code}"
            total += gz(resp.content)
        assert total < BUDGET, f"{path}: HTML+CSS+JS is {total / 1024:.1f} KB gzipped (budget 150 KB)"
