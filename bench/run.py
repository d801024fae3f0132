"""The performance suite: every benchmark in one run on PostgreSQL against generator data, one table.

    uv run python bench/run.py [--quick] [--duration 6] [--concurrency 4]
                               [--pg-url postgresql://postgres@127.0.0.1:5432/test]

1. A throwaway PostgreSQL database and a throwaway ``weed mini`` S3 server; the organisation from
   ``salesgate demo generate --scale org`` (run as the CLI: 200 reps in 20 teams, 60,000 customers,
   20,000 open + 10,000 closed deals, 1.5 M activities, ~30,000 attachment objects, node clocks planned
   by the deadline job's own planner). ``--quick``: 12,000 customers, 4,000 + 2,000 deals, 300,000
   activities.
2. The deadline job (server/jobs/deadlines.py) in this process: the first tick after the load (every
   overdue alarm of the generated deals at once: a backlog, reported, no goal), then steady ticks a
   minute apart (goal < 2 s).
3. Over HTTP against one uvicorn process (one worker), with bench/api.py's loopback load generator
   (N keep-alive connections, warm-up, then a timed window), after the same generator's Litestar
   hello world as the baseline: customer search, the opportunity API, a gate-checked transition
   (409 gate_blocked: every node of the stage evaluated, nothing written, so it can repeat), the lead
   scan POST (a new vCard each time: 201 with a new customer), the workbench (rep and manager), the
   organisation PHI (admin) and the inbox.
4. Reconciliation (bench/gates.py's reconcile_bench): the generator's objects topped up to 100,000
   (``--quick``: 40,000), 100 removed behind the app's back, ``reconcile.run`` timed.
5. Push fan-out (bench/alerts.py's bench_push, its own database): N overdue alerts delivered by
   ``server.jobs.push`` with the real PushSender to a loopback push service that checks every JWT.

Only 127.0.0.1 is contacted; every database, subprocess and temp file is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


api = _module("api")
alerts = _module("alerts")
gates = _module("gates")

from piccolo.querystring import QueryString  # noqa: E402

from server import db  # noqa: E402
from server.adapters import local_s3  # noqa: E402
from server.settings import load_settings  # noqa: E402

LOAD_AT_START = os.getloadavg()
QUICK = ["--customers", "12000", "--open", "4000", "--closed", "2000", "--activities", "300000"]


class Line:
    def __init__(self, case, *, rps=None, p50=None, p95=None, unit="ms", goal="—", met="—", base=None, note=""):
        self.case, self.rps, self.p50, self.p95, self.unit = case, rps, p50, p95, unit
        self.goal, self.met, self.base, self.note = goal, met, base, note


def post_request(path: str, token: str, body: dict) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: {api.HOST}", "Accept: application/json",
            "Content-Type: application/json", f"Content-Length: {len(data)}", f"Authorization: Bearer {token}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def cycle(requests: list[bytes]):
    state = {"i": 0}

    def next_request() -> bytes:
        state["i"] += 1
        return requests[state["i"] % len(requests)]
    return next_request


def machine(pg_version: str) -> str:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    now = os.getloadavg()
    return (f"{model}, {len(os.sched_getaffinity(0))} cores (shared with other work), "
            f"load average {LOAD_AT_START[0]:.2f}/{LOAD_AT_START[1]:.2f}/{LOAD_AT_START[2]:.2f} at start, "
            f"{now[0]:.2f}/{now[1]:.2f}/{now[2]:.2f} at end; Python {platform.python_version()}, "
            f"{pg_version}, SQLite {sqlite3.sqlite_version}")


# --------------------------------------------------------------------------- steps


def generate(env: dict, args) -> float:
    cmd = [sys.executable, "-m", "server.cli", "demo", "generate", "--scale", "org", "--seed", "1",
           *(QUICK if args.quick else [])]
    print("generating: " + " ".join(cmd[2:]), flush=True)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        for line in proc.stdout:
            if line.startswith("[") or line.startswith("generated") or line.startswith("salesgate"):
                print("  " + line.rstrip(), flush=True)
        proc.wait(timeout=1800)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0:
        raise RuntimeError(f"the generator failed (exit {proc.returncode})")
    return time.perf_counter() - t


async def deadline_ticks(settings, lines: list[Line], ticks: int) -> None:
    from server import jobs
    from server.app import build_storage
    from server.domain.alerts import parse_quiet_hours, quiet_until
    from server.jobs import deadlines
    from server.queries import alerting

    deps = jobs.Deps.build(settings, storage=build_storage(settings))
    now = datetime.now(timezone.utc)
    morning = quiet_until(now, settings.tz, parse_quiet_hours(settings.quiet_hours))
    t = time.perf_counter()
    first = await deadlines.run(now, deps)
    while True:  # a tick stops after its time budget: drain what is left of the backlog
        _, _, claimed = await alerting.fire_due_alarms(now, morning, batch=deadlines.FIRE_BATCH)
        if claimed < deadlines.FIRE_BATCH:
            break
    first_s = time.perf_counter() - t
    print(f"deadline job, first tick after the load: {first_s:.2f} s: {first}", flush=True)
    lines.append(Line("deadline job: first tick after the load (backlog)", p50=first_s * 1000, p95=first_s * 1000,
                      note=first))
    times = []
    for k in range(1, ticks + 1):
        t = time.perf_counter()
        summary = await deadlines.run(now + timedelta(minutes=k), deps)
        times.append(time.perf_counter() - t)
    print(f"deadline job, steady ticks: {[round(x, 3) for x in times]} s; last: {summary}", flush=True)
    p95 = api_pct(times, 95)
    lines.append(Line(f"deadline job: a tick a minute ({ticks} ticks)", p50=statistics.median(times) * 1000,
                      p95=p95 * 1000, goal="< 2 s", met="yes" if p95 < 2 else "NO", note=summary))


def api_pct(values: list[float], p: float) -> float:
    r = api.Result("x", "x")
    r.latencies = list(values)
    return r.pct(p) / 1000


async def prepare(settings) -> dict:
    """Tokens, the rep's deals, and the transitions the gate blocks (probed in-process, nothing written)."""
    from server.queries.sessions import create_token
    from server.tables import Opportunity, User

    people = {r["username"]: r["id"] for r in await User.select(User.username, User.id).where(
        User.username.is_in(["admin", "mgr00", "rep000"])).run()}
    tokens = {k: (await create_token(v, "bench-run"))[0] for k, v in people.items()}
    opps = await Opportunity.select(Opportunity.id, Opportunity.stage).where(
        (Opportunity.owner == people["rep000"]) & (Opportunity.status == "open")).order_by(Opportunity.id).run()
    return {"tokens": tokens, "people": people, "opps": opps}


async def http_cases(env: dict, tmp: Path, prep: dict, pb, args, lines: list[Line]) -> None:
    servers = api.Servers(tmp)
    try:
        proc, port = servers.start("hello", {}, "hello")
        base = await measure("hello world (Litestar baseline)", port, api.build_request("/", None, True), args, proc.pid)
        servers.stop(proc)
        lines.append(Line("hello world (Litestar, the baseline)", rps=base.rps, p50=base.pct(50), p95=base.pct(95),
                          base=base.rps))
        proc, port = servers.start("app", env, "app")
        tok = prep["tokens"]
        stages = [s.key for s in pb.stages if s.terminal is None]
        opp_reqs = [api.build_request(f"/api/v1/opportunities/{o['id']}", tok["rep000"], True) for o in prep["opps"]]
        blocked = []
        for o in prep["opps"]:
            if o["stage"] == stages[-1]:
                continue
            req = post_request(f"/api/v1/opportunities/{o['id']}/transition", tok["rep000"],
                               {"to": stages[stages.index(o["stage"]) + 1]})
            status, _ = await api.probe(port, req)
            if status == 409:
                blocked.append(req)
        counter = {"n": 0}

        def scan() -> bytes:
            counter["n"] += 1
            n = counter["n"] + int(time.time() * 1000) % 10_000_000 * 100
            card = (f"BEGIN:VCARD\nVERSION:3.0\nFN:展会访客{n}\nTEL;TYPE=CELL:+86139{n % 100_000_000:08d}\n"
                    f"ORG:宁波精工{n}有限公司\nTITLE:采购经理\nEND:VCARD")
            return post_request("/api/v1/leads/scan", tok["rep000"], {"payload": card, "event": "CIIF 2026"})
        cases = [
            ("customer search (GET /api/v1/customers?q=王)", api.build_request("/api/v1/customers?q=%E7%8E%8B",
                                                                             tok["rep000"], True), (200,),
             "< 100 ms"),
            (f"opportunity (GET /api/v1/opportunities/{{id}}, {len(opp_reqs)} deals)", cycle(opp_reqs), (200,),
             "< 100 ms"),
            (f"gate-checked transition (POST …/transition → 409, {len(blocked)} deals)",
             cycle(blocked) if blocked else None, (409,),
             "< 100 ms"),
            ("lead scan (POST /api/v1/leads/scan → 201)", scan, (201, 200), "< 100 ms (scan-to-saved < 1.5 s)"),
            ("workbench, rep (scope=me)", api.build_request("/api/v1/workbench/silent?scope=me", tok["rep000"], True),
             (200,), "< 100 ms"),
            ("workbench, manager (scope=team)", api.build_request("/api/v1/workbench/silent?scope=team", tok["mgr00"],
                                                                  True), (200,), "< 100 ms"),
            ("PHI, organisation (admin, scope=org)", api.build_request("/api/v1/phi?scope=org", tok["admin"], True),
             (200,), "< 500 ms"),
            ("inbox (GET /api/v1/inbox, manager)", api.build_request("/api/v1/inbox", tok["mgr00"], True), (200,),
             "< 100 ms"),
        ]
        if not blocked:  # every deal of the rep could move on: nothing to repeat
            cases = [c for c in cases if "transition" not in c[0]]
        for label, request, ok, goal in cases:
            r = await measure(label, port, request, args, proc.pid, ok)
            limit = float(goal.split("<", 1)[1].split("ms")[0])
            met = "yes" if r.pct(95) < limit and r.errors == 0 else "NO"
            lines.append(Line(label, rps=r.rps, p50=r.pct(50), p95=r.pct(95), goal=f"p95 {goal}", met=met,
                              base=base.rps, note=f"{r.errors} errors" if r.errors else ""))
        servers.stop(proc)
    finally:
        servers.stop_all()


async def measure(label, port, request, args, pid, ok=(200,)):
    result = api.Result(label, "postgres")
    meter = api.CpuMeter(pid)
    await api.load(port, request, args.concurrency, args.warmup, args.duration, result, meter, ok)
    print(f"  {label:<70} {result.rps:8,.0f} req/s  p50 {result.pct(50):7.1f} ms  p95 {result.pct(95):7.1f} ms"
          f"  errors {result.errors}", flush=True)
    return result


async def reconcile(settings, s3, rep_id, args, lines: list[Line]) -> None:
    from server.tables import Attachment

    have = await Attachment.count().run()
    target = 40_000 if args.quick else 100_000
    seconds, checked, summary = await gates.reconcile_bench(settings, s3, rep_id, max(0, target - have))
    per_100k = seconds * 100_000 / max(checked, 1)
    lines.append(Line(f"reconciliation ({checked:,} stored objects)", p50=seconds * 1000, p95=seconds * 1000,
                      goal="100k objects < 60 s", met="yes" if per_100k < 60 else "NO",
                      note=f"{checked / seconds:,.0f} objects/s; {summary}"))


def print_table(lines: list[Line], facts: dict) -> None:
    print()
    print(f"Salesgate performance suite on PostgreSQL ({facts['data']}); HTTP cases: "
          f"{facts['concurrency']} keep-alive connections, {facts['duration']:g} s after {facts['warmup']:g} s "
          "warm-up, one uvicorn process with one worker, client on the same machine.")
    print()
    print("| case | requests/s | p50 | p95 | ratio to baseline | goal | met? |")
    print("|---|---:|---:|---:|---:|---|---|")

    def ms(v, unit):
        if v is None:
            return "—"
        if unit == "msg/s":
            return f"{v:,.0f} msg/s"
        return f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.1f} ms"
    for x in lines:
        rps = f"{x.rps:,.0f}" if x.rps is not None else "—"
        ratio = f"{x.rps / x.base:.3f}" if x.rps is not None and x.base else "—"
        print(f"| {x.case} | {rps} | {ms(x.p50, x.unit)} | {ms(x.p95, x.unit)} | {ratio} | {x.goal} | {x.met} |")
    notes = [f"- {x.case}: {x.note}" for x in lines if x.note]
    if notes:
        print()
        print("\n".join(notes))
    print()
    print(f"Data: generated in {facts['generate_s']:.0f} s. Machine: {facts['machine']}")


# --------------------------------------------------------------------------- main


async def main(args) -> int:
    from server.playbook_loader import load_playbook, playbook_path

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-run-"))
    weed, s3 = local_s3.start(tmp / "weed", tmp / "weed.log")
    dbs = alerts.Databases(args.pg_url)
    lines: list[Line] = []
    try:
        url = await dbs.create(f"sg_bench_run_{uuid.uuid4().hex[:8]}")
        env_s = {"SALESGATE_DATABASE_URL": url, "SALESGATE_VAR_DIR": str(tmp / "var"),
                 "SALESGATE_MEDIA_DIR": str(tmp / "media"), "SALESGATE_S3_ENDPOINT": f"http://{s3.endpoint}",
                 "SALESGATE_S3_ACCESS_KEY": s3.access_key, "SALESGATE_S3_SECRET_KEY": s3.secret_key,
                 "SALESGATE_LOG_LEVEL": "WARNING", "SALESGATE_PUSH_HOSTS": "127.0.0.1"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGATE_")} | env_s
        generate_s = generate(env, args)
        settings = load_settings(env_s)
        pb = load_playbook(playbook_path(settings))
        engine = db.build_engine(settings)
        async with db.lifespan_engine(engine):
            pg_version = (await engine.run_querystring(QueryString("SELECT version() AS v")))[0]["v"].split(" on ")[0]
            await deadline_ticks(settings, lines, 3 if args.quick else 5)
            prep = await prepare(settings)
        await http_cases(env_s, tmp, prep, pb, args, lines)
        async with db.lifespan_engine(db.build_engine(settings)):
            await reconcile(settings, s3, prep["people"]["rep000"], args, lines)
        push_args = alerts.parse_args(["--pg-url", args.pg_url, "--repeats", "1" if args.quick else "3",
                                       "--pushes", "500" if args.quick else "1000"])
        rows: list = []
        await alerts.bench_push(dbs, tmp, push_args, rows)
        push = rows[-1]
        lines.append(Line(f"push fan-out ({push.n}, real PushSender → loopback push service; msg/s, median of "
                          f"{len(push.values)})", rps=push.median(), goal="≥ 300 msg/s", met=push.met, note=push.note))
        facts = {"data": "org scale" if not args.quick else "--quick scale", "concurrency": args.concurrency,
                 "duration": args.duration, "warmup": args.warmup, "generate_s": generate_s,
                 "machine": machine(pg_version)}
        print_table(lines, facts)
        return 0
    finally:
        await dbs.drop_all()
        local_s3.stop(weed)
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"total runtime {time.perf_counter() - started:.0f} s")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a fifth of the organisation, shorter windows")
    p.add_argument("--duration", type=float, help="seconds per HTTP measurement (default 6, --quick 3)")
    p.add_argument("--warmup", type=float, default=1.5)
    p.add_argument("--concurrency", type=int, default=4, help="keep-alive connections (default 4)")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = p.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 6.0)
    from urllib.parse import urlsplit

    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        p.error("--pg-url: only a loopback PostgreSQL server is allowed")
    return args


if __name__ == "__main__":
    raise SystemExit(api.run_async(main(parse_args())))
