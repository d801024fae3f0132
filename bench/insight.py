"""Benchmark: the silent-customer workbench and the Process Health Index at organisation scale.

    uv run python bench/insight.py [--engine postgres|sqlite] [--customers 60000] [--open 20000]
                                   [--closed 10000] [--activities 1500000] [--requests 100]
                                   [--pg-url postgresql://postgres@127.0.0.1:5432/test]

Data (bulk-loaded; COPY on PostgreSQL): 100 reps in 10 teams with their managers, N customers
(a third silent beyond their threshold, some never contacted), open and closed opportunities over
every stage with their stage transitions, present attachments for about half of the required
materials, and the activities. Then, sequentially through the ASGI app in this process (no network):
GET /api/v1/workbench/silent as a rep (scope=me) and as a manager (scope=team), GET /api/v1/phi as a
rep, a manager and an admin (scope=org), each drill-down list, and the two jobs (digest counts over
the organisation, the daily snapshot). Goals: workbench p95 < 100 ms, organisation PHI < 500 ms.
Everything (temp dir, throwaway PostgreSQL database) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from server import db  # noqa: E402
from server.app import create_app  # noqa: E402
from server.domain import silence  # noqa: E402
from server.playbook_loader import load_playbook, playbook_path  # noqa: E402
from server.queries import users, workbench  # noqa: E402
from server.queries.phi_detail import record_snapshot  # noqa: E402
from server.queries.sessions import create_token  # noqa: E402
from server.settings import load_settings  # noqa: E402

OPEN_STAGES = ["initial_contact", "needs_analysis", "solution_confirmed", "price_comparison", "contract_approval",
               "signed", "delivery_kickoff"]
MATERIALS = {"needs_analysis": ["requirements_summary"], "solution_confirmed": ["tech_confirmation_letter"],
             "price_comparison": ["three_party_quotation"],
             "contract_approval": ["stamped_contract_draft", "legal_opinion"],
             "signed": ["contract_scan", "technical_agreement", "payment_commitment_letter"],
             "delivery_kickoff": ["kickoff_minutes", "delivery_plan", "acceptance_certificate"]}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Loader:
    """Bulk insert of plain tuples: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, url: str, engine: str):
        self.url, self.engine = url, engine

    async def load(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.engine == "postgres":
            conn = await asyncpg.connect(self.url.replace("postgresql://", "postgres://", 1))
            try:
                await conn.copy_records_to_table(table, records=rows, columns=columns)
            finally:
                await conn.close()
            return
        conn = sqlite3.connect(self.url.split("sqlite:///", 1)[1], timeout=60)
        try:
            marks = ", ".join("?" for _ in columns)
            cols = ", ".join(f'"{c}"' for c in columns)
            conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})',
                             [tuple(self._sqlite(v) for v in row) for row in rows])
            conn.commit()
        finally:
            conn.close()

    @staticmethod
    def _sqlite(value):
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(" ")
        if isinstance(value, Decimal):
            return int(value)
        return value


async def seed(loader: Loader, args, now: datetime) -> dict:
    rng = random.Random(7)
    hashed = users.hash_password("bench-password")
    admin = await users.create_user(username="admin", password="x" * 8, roles=("admin",), password_hash=hashed)
    reps, managers, team_of = [], [], {}
    for t in range(10):
        mgr = await users.create_user(username=f"mgr{t}", password="x" * 8, roles=("manager",), team=f"T{t}",
                                      password_hash=hashed)
        managers.append(mgr)
        for r in range(10):
            rep = await users.create_user(username=f"rep{t}_{r}", password="x" * 8, roles=("rep",), team=f"T{t}",
                                          manager_username=f"mgr{t}", password_hash=hashed)
            reps.append(rep)
            team_of[rep.id] = rep.team
    t0 = time.perf_counter()
    customers, owners, contact_of = [], {}, {}
    for i in range(args.customers):
        owner = reps[i % len(reps)].id
        roll = rng.random()
        last = None if roll < 0.05 else now - timedelta(days=rng.uniform(0, 6) if roll < 0.67 else rng.uniform(8, 60))
        created = now - timedelta(days=rng.uniform(60, 400))
        cid = uuid.uuid4()
        owners[cid], contact_of[cid] = owner, last
        customers.append((cid, f"客户{i}", f"+86138{i:08d}", owner, team_of[owner], last, created, created))
    await loader.load("customer", ["id", "name", "phone", "owner", "team", "last_contact_at", "created_at",
                                   "updated_at"], customers)
    cids = [c[0] for c in customers]
    opps, transitions, attachments = [], [], []
    for i in range(args.open + args.closed):
        cid = cids[i % len(cids)]
        owner = owners[cid]
        closed = i >= args.open
        stage = rng.choice(["won", "lost"]) if closed else rng.choice(OPEN_STAGES)
        oid = uuid.uuid4()
        created = now - timedelta(days=rng.uniform(5, 300))
        entered = created + (now - created) * rng.uniform(0.3, 0.95)
        opps.append((oid, cid, f"商机{i}", Decimal(rng.randrange(10_000, 3_000_000, 1000)), owner, team_of[owner],
                     stage, "pending_legal_archive" if stage == "signed" else None,
                     "won" if stage == "won" else "lost" if stage == "lost" else "open", "{}", entered,
                     contact_of[cid], created, entered, 1, 1))
        transitions.append((uuid.uuid4(), oid, owner, None, "initial_contact", created))
        path = OPEN_STAGES[1:OPEN_STAGES.index(stage) + 1] if stage in OPEN_STAGES else OPEN_STAGES[1:4] + [stage]
        step = (entered - created) / max(len(path), 1)
        for k, to in enumerate(path):
            transitions.append((uuid.uuid4(), oid, owner, None, to, created + step * (k + 1)))
        for material in MATERIALS.get(stage, []) if not closed else []:
            if rng.random() < 0.5:
                attachments.append((uuid.uuid4(), oid, material, "f.pdf", "application/pdf", 1000,
                                    f"opportunities/{oid}/{uuid.uuid4()}.pdf", "present", owner, created))
    await loader.load("opportunity", ["id", "customer", "title", "amount", "owner", "team", "stage", "substate",
                                      "status", "fields", "stage_entered_at", "last_contact_at", "created_at",
                                      "updated_at", "facts_rev", "clock_rev"], opps)
    await loader.load("stage_transition", ["id", "opportunity", "user", "from_stage", "to_stage", "at"], transitions)
    await loader.load("attachment", ["id", "opportunity", "material", "filename", "content_type", "size",
                                     "object_key", "status", "uploaded_by", "created_at"], attachments)
    batch = []
    for i in range(args.activities):
        cid = cids[i % len(cids)]
        at = now - timedelta(days=rng.uniform(1, 400))
        kind = rng.choice(["call", "visit", "meeting", "message", "note"])
        batch.append((uuid.uuid4(), cid, owners[cid], kind, kind != "note", at, at))
        if len(batch) == 100_000:
            await loader.load("activity", ["id", "customer", "user", "kind", "customer_facing", "occurred_at",
                                           "created_at"], batch)
            batch = []
    await loader.load("activity", ["id", "customer", "user", "kind", "customer_facing", "occurred_at",
                                   "created_at"], batch)
    if loader.engine == "postgres":
        conn = await asyncpg.connect(loader.url.replace("postgresql://", "postgres://", 1))
        await conn.execute("ANALYZE")
        await conn.close()
    print(f"loaded {len(customers):,} customers, {len(opps):,} opportunities ({args.open:,} open), "
          f"{len(transitions):,} transitions, {len(attachments):,} attachments, {args.activities:,} activities "
          f"in {time.perf_counter() - t0:.0f} s")
    return {"admin": admin, "manager": managers[0], "rep": reps[0]}


async def timed(n: int, call) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def run(app, settings, people, args) -> None:
    tokens = {k: (await create_token(u.id, "bench"))[0] for k, u in people.items()}
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
            people = await seed(Loader(url, args.engine), args, datetime.now(timezone.utc))
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
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database (to EXPLAIN queries)")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    asyncio.run(main(parser.parse_args()))
