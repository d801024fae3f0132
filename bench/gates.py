"""Benchmark: a gate-checked transition (19-node playbook) and reconciling 100,000 stored objects.

    uv run python bench/gates.py [--transitions 300] [--objects 100000] [--engine sqlite|postgres]
                                 [--pg-url postgresql://postgres@127.0.0.1:5432/test]

In one run: a baseline (GET /api/v1/me through the same app), a blocked
transition (409 gate_blocked, all 19 nodes evaluated, relations resolved)
and an allowed transition, each measured sequentially through the ASGI app
in this process (no network), then the reconciliation job over N real
objects in a fresh `weed mini` S3 server. Everything lives in a temp dir
(and a throwaway PostgreSQL database) that is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from server import db  # noqa: E402
from server.adapters import local_s3  # noqa: E402
from server.adapters.storage import Storage  # noqa: E402
from server.app import create_app  # noqa: E402
from server.jobs import reconcile  # noqa: E402
from server.queries import users  # noqa: E402
from server.queries.sessions import create_token  # noqa: E402
from server.settings import load_settings  # noqa: E402
from server.tables import Attachment, Customer, Opportunity  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def timed(n: int, call) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def main(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-gates-"))
    proc, s3 = local_s3.start(tmp / "weed", tmp / "weed.log")
    pg_name = None
    try:
        if args.engine == "postgres":
            pg_name = f"salesgate_bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(args.pg_url)
            await conn.execute(f'CREATE DATABASE "{pg_name}"')
            await conn.close()
            url = args.pg_url.rsplit("/", 1)[0] + "/" + pg_name
        else:
            url = f"sqlite:///{tmp / 'bench.db'}"
        settings = load_settings({
            "SALESGATE_DATABASE_URL": url, "SALESGATE_S3_ENDPOINT": f"http://{s3.endpoint}",
            "SALESGATE_S3_ACCESS_KEY": s3.access_key, "SALESGATE_S3_SECRET_KEY": s3.secret_key,
            "SALESGATE_VAR_DIR": str(tmp / "var"), "SALESGATE_MEDIA_DIR": str(tmp / "media")})
        await db.migrate(db.build_engine(settings))
        app = create_app(settings)
        async with app.lifespan():
            await run_benchmarks(app, settings, s3, args)
    finally:
        local_s3.stop(proc)
        if pg_name:
            conn = await asyncpg.connect(args.pg_url)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


async def run_benchmarks(app, settings, s3, args) -> None:
    hashed = users.hash_password("bench-password")
    admin = await users.create_user(username="admin", password="x" * 8, roles=("admin",), password_hash=hashed)
    mgr = await users.create_user(username="mgr", password="x" * 8, roles=("manager",), team="T",
                                  password_hash=hashed)
    rep = await users.create_user(username="rep", password="x" * 8, roles=("rep",), team="T", manager_username="mgr",
                                  password_hash=hashed)
    for role in ("presales", "commercial", "legal", "delivery"):
        await users.create_user(username=role, password="x" * 8, roles=(role,), team="T", password_hash=hashed)
    token, _ = await create_token(rep.id, "bench")
    admin_token, _ = await create_token(admin.id, "bench")
    now = datetime.now(timezone.utc)
    customer = Customer(name="基准客户", owner=rep.id, created_at=now, updated_at=now)
    await Customer.insert(customer).run()
    n = args.transitions
    opps = [Opportunity(customer=customer.id, title=f"商机{i}", owner=rep.id, stage="solution_confirmed",
                        stage_entered_at=now, created_at=now, updated_at=now) for i in range(n)]
    for start in range(0, n, 500):
        await Opportunity.insert(*opps[start:start + 500]).run()
    present = [Attachment(opportunity=o.id, material="tech_confirmation_letter", filename="l.pdf",
                          content_type="application/pdf", size=10, object_key=f"bench/{o.id}", status="present",
                          uploaded_by=rep.id) for o in opps[: n // 2]]
    for start in range(0, len(present), 500):
        await Attachment.insert(*present[start:start + 500]).run()

    rows = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(20):
            await client.get("/api/v1/me", headers=auth)
        base = await timed(n, lambda i: client.get("/api/v1/me", headers=auth))
        rows.append(("GET /api/v1/me (baseline)", base))

        async def blocked(i):
            r = await client.post(f"/api/v1/opportunities/{opps[n // 2 + i % (n - n // 2)].id}/transition",
                                  json={"to": "price_comparison"}, headers=auth)
            assert r.status_code == 409, r.text
        rows.append(("transition, gate blocked (409)", await timed(n, blocked)))

        async def allowed(i):
            r = await client.post(f"/api/v1/opportunities/{opps[i].id}/transition", json={"to": "price_comparison"},
                                  headers=auth)
            assert r.status_code == 200, r.text
        rows.append(("transition, gate open (200)", await timed(n // 2, allowed)))

    print(f"\nGate-checked transitions on {args.engine}, 19-node playbook, sequential, in-process ASGI (no network):")
    print("| case | n | p50 ms | p95 ms | mean ms | ratio of p95 to baseline p95 |")
    print("|---|---:|---:|---:|---:|---:|")
    base_p95 = pct(base, 0.95)
    for name, values in rows:
        print(f"| {name} | {len(values)} | {pct(values, 0.5):.2f} | {pct(values, 0.95):.2f} | "
              f"{statistics.mean(values):.2f} | {pct(values, 0.95) / base_p95:.1f} |")
    print("Goal: p95 of a gate-checked transition under 100 ms.")

    await Attachment.delete().where(Attachment.object_key.like("bench/%")).run()  # rows without objects
    await reconcile_bench(settings, s3, rep.id, args.objects)


async def reconcile_bench(settings, s3, rep_id, count: int) -> tuple[float, int, str]:
    """Upload `count` more objects (with their attachment rows), remove 100 behind the app's back, time
    reconcile.run over every stored attachment; returns (seconds, attachments checked, summary)."""
    storage = Storage(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                      secret_key=settings.s3_secret_key, bucket=settings.s3_bucket)
    await storage.ensure_bucket()
    now = datetime.now(timezone.utc)
    customer = Customer(name="对账客户", owner=rep_id, created_at=now, updated_at=now)
    await Customer.insert(customer).run()
    per_opp = 50
    opp_ids = []
    for start in range(0, count // per_opp + 1, 500):
        batch = [Opportunity(customer=customer.id, title="对账", owner=rep_id, stage="signed",
                             substate="pending_legal_archive", created_at=now, updated_at=now)
                 for _ in range(min(500, count // per_opp + 1 - start))]
        await Opportunity.insert(*batch).run()
        opp_ids += [o.id for o in batch]
    keys = [f"opportunities/{opp_ids[i // per_opp]}/{uuid.uuid4()}.pdf" for i in range(count)]
    t = time.perf_counter()
    body = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
    client = storage.client

    def put(key):
        import io

        client.put_object(bucket_name=storage.bucket, object_name=key, data=io.BytesIO(body), length=len(body),
                          content_type="application/pdf")
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, keys))
    put_seconds = time.perf_counter() - t
    rows = [Attachment(opportunity=opp_ids[i // per_opp], material="contract_scan", filename="c.pdf",
                       content_type="application/pdf", size=len(body), object_key=key, status="present",
                       uploaded_by=rep_id) for i, key in enumerate(keys)]
    for start in range(0, len(rows), 1000):
        await Attachment.insert(*rows[start:start + 1000]).run()
    for key in keys[:100]:  # 100 objects vanish behind the app's back
        client.remove_object(bucket_name=storage.bucket, object_name=key)
    t = time.perf_counter()
    summary = await reconcile.run(datetime.now(timezone.utc), storage)
    seconds = time.perf_counter() - t
    print(f"\nReconciliation: {count:,} stored objects over {len(opp_ids):,} opportunities, "
          f"{put_seconds:.0f} s to upload them first")
    print(f"  reconcile.run: {seconds:.2f} s ({count / seconds:,.0f} objects/s) — {summary}")
    print("Goal: 100,000 objects reconciled in under 60 s.")
    return seconds, await Attachment.count().run(), summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transitions", type=int, default=300)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    asyncio.run(main(parser.parse_args()))
