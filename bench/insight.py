"""Benchmark: the silent-customer workbench and the Process Health Index at organisation scale.

    uv run python bench/insight.py [--engine postgres|sqlite] [--customers 60000] [--open 20000]
                                   [--closed 10000] [--activities 1500000] [--requests 100]
                                   [--pg-url postgresql://postgres@127.0.0.1:5432/test]

Data: the shared generator (``salesgate demo generate``, server/generator.py; COPY on PostgreSQL):
200 reps in 20 teams with their managers, N customers (a third silent beyond their threshold, some
never contacted), open and closed opportunities over every stage with their stage transitions,
attachment rows for the current stage's materials (no objects: this bench does not read them), and
the activities; node clocks are not planned. Then, sequentially through the ASGI app in this process (no network):
GET /api/v1/workbench/silent as a rep (scope=me) and as a manager (scope=team), GET /api/v1/phi as a
rep, a manager and an admin (scope=org), each drill-down list, and the two jobs (digest counts over
the organisation, the daily snapshot). Goals: workbench p95 < 100 ms, organisation PHI < 500 ms.
Everything (temp dir, throwaway PostgreSQL database) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
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
from server.app import create_app  # noqa: E402
from server.domain import silence  # noqa: E402
from server.playbook_loader import load_playbook, playbook_path  # noqa: E402
from server import generator  # noqa: E402
from server.queries import workbench  # noqa: E402
from server.queries.phi_detail import record_snapshot  # noqa: E402
from server.queries.sessions import create_token  # noqa: E402
from server.settings import load_settings  # noqa: E402
from server.tables import User  # noqa: E402

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def seed(settings, args, now: datetime) -> dict:
    """The organisation from the shared generator (salesgate demo generate); node clocks left unplanned."""
    scale = generator.scale_with("org", customers=args.customers, open=args.open, closed=args.closed,
                                 activities=args.activities, teams=args.teams)
    summary = await generator.generate(settings=settings, pb=load_playbook(playbook_path(settings)), scale=scale,
                                       seed=7, now=now, storage=None, plan=False,
                                       progress=lambda line: print("  " + line, flush=True))
    print(f"loaded {summary['counts']} in {summary['seconds']:.0f} s")
    found = {r["username"]: r["id"] for r in await User.select(User.username, User.id).where(
        User.username.is_in(["admin", "mgr00", "rep000"])).run()}
    return {"admin": found["admin"], "manager": found["mgr00"], "rep": found["rep000"]}


async def timed(n: int, call) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def run(app, settings, people, args) -> None:
    tokens = {k: (await create_token(uid, "bench"))[0] for k, uid in people.items()}
    rows = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async def get(who, path, params):
            r = await client.get(path, params=params, headers={"Authorization": f"Bearer {tokens[who]}"})
            assert r.status_code == 200, r.text
            return r.json()
        cases = [
            ("GET /api/v1/me (baseline)", "rep", "/api/v1/me", {}),
            ("workbench, rep (scope=me)", "rep", "/api/v1/workbench/silent", {"scope": "me"}),
            ("workbench, manager (scope=team)", "manager", "/api/v1/workbench/silent", {"scope": "team"}),
            ("PHI, rep (scope=me)", "rep", "/api/v1/phi", {"scope": "me"}),
            ("PHI, manager (scope=team)", "manager", "/api/v1/phi", {"scope": "team"}),
            ("PHI, admin (scope=org)", "admin", "/api/v1/phi", {"scope": "org"}),
            ("PHI deals, org, transition days", "admin", "/api/v1/phi/opportunities",
             {"scope": "org", "metric": "stage_transition_days"}),
            ("PHI deals, org, completeness", "admin", "/api/v1/phi/opportunities",
             {"scope": "org", "metric": "material_completeness"}),
            ("PHI deals, org, silent rate", "admin", "/api/v1/phi/opportunities",
             {"scope": "org", "metric": "silent_rate"}),
        ]
        for name, who, path, params in cases:
            first = await get(who, path, params)
            n = args.requests if "org" not in name else max(10, args.requests // 4)
            rows.append((name, await timed(n, lambda: get(who, path, params)), first))
    pb = load_playbook(playbook_path(settings))
    now = datetime.now(timezone.utc)
    t = time.perf_counter()
    counts = await workbench.silent_counts(pb, now, silence.local_today(now, settings.tz))
    digest_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    groups = await record_snapshot(pb, settings.tz, now)
    snapshot_ms = (time.perf_counter() - t) * 1000

    print(f"\nWorkbench and PHI on {args.engine}, sequential, in-process ASGI (no network):")
    print("| case | n | p50 ms | p95 ms | mean ms | result |")
    print("|---|---:|---:|---:|---:|---|")
    for name, values, first in rows:
        what = (f"{first.get('total')} silent customers" if "workbench" in name else
                f"score {first.get('score')}, {first['counts']['open']} open deals" if "scope=" in name and "PHI," in name
                else f"{first.get('total')} deals" if "deals" in name else "")
        print(f"| {name} | {len(values)} | {pct(values, 0.5):.1f} | {pct(values, 0.95):.1f} | "
              f"{statistics.mean(values):.1f} | {what} |")
    print(f"| digest counts over the organisation (job) | 1 | {digest_ms:.1f} | | | {sum(counts.values()):,} silent "
          f"customers over {len(counts)} owners |")
    print(f"| daily PHI snapshot (job) | 1 | {snapshot_ms:.1f} | | | {groups} owner/team groups |")
    print("Goals: workbench p95 < 100 ms; organisation PHI < 500 ms.")


async def main(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-insight-"))
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
        settings = load_settings({"SALESGATE_DATABASE_URL": url, "SALESGATE_VAR_DIR": str(tmp / "var"),
                                  "SALESGATE_MEDIA_DIR": str(tmp / "media")})
        engine = db.build_engine(settings)
        await db.migrate(engine)
        app = create_app(settings)
        async with app.lifespan():
            people = await seed(settings, args, datetime.now(timezone.utc))
            await run(app, settings, people, args)
    finally:
        if pg_name and args.keep_db:
            print(f"kept the database: {url}")
        elif pg_name:
            conn = await asyncpg.connect(args.pg_url)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--customers", type=int, default=60_000)
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--closed", type=int, default=10_000)
    parser.add_argument("--activities", type=int, default=1_500_000)
    parser.add_argument("--teams", type=int, default=20, help="teams of 10 reps")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database (to EXPLAIN queries)")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    asyncio.run(main(parser.parse_args()))
