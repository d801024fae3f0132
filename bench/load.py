"""Load test: a working day of 200 reps and 20 managers against two app processes and one worker.

    uv run python bench/load.py                     # org-scale data, 10 minutes of load
    uv run python bench/load.py --quick             # 2 minutes of load
    uv run python bench/load.py --scale small --quick   # a small dataset, for a first try

What it does, all on 127.0.0.1, everything removed at the end (also on failure, Ctrl-C, SIGTERM):

1. creates a throwaway PostgreSQL database ``salesgate_load_<random>`` (``--pg-url``, trust auth) and
   starts ONE local object store (weed mini, ``server/adapters/local_s3.py``) that every process shares;
2. fills the database with ``salesgate demo generate --scale org|small --seed N`` (200 reps in 20 teams
   with managers, 60,000 customers, 20,000 open deals, 1.5 M activities at org scale);
3. starts one ``salesgate jobs worker`` and two ``salesgate serve --no-jobs`` processes on two ports;
4. runs locust headless (``bench/load_locust.py``) for ``--run-time`` seconds: 200 rep users and 20 manager
   users, half on each app process, each logged in with a cookie session and doing a weighted working-day
   mix with think time (workbench, opportunity pages HTML and JSON, customer search, activity logs,
   badge scans, direct and multipart PDF uploads, the inbox; managers: the team's workbench, PHI, the
   board when the branch has one);
5. samples the RSS of the three processes (and the load average) every 10 s;
6. prints requests, failures, error rate, p50/p95/p99 per request type and overall, requests/s, each
   process's RSS after warm-up, in the middle and at the end, and checks the goals: error rate < 0.1 %
   over the whole run; p95 < 300 ms over the whole run (the logins, one a second by default, included)
   and in the steady state (after the warm-up: every user logged in and working); memory flat =
   each process's RSS grows < 10 % from the end of the warm-up to the end of the run.

The presigned PUT goes straight to the object store, not through the app: it is shown on its own line
and left out of the app's overall numbers and goals. ``--database NAME`` runs against an existing,
already generated database instead (not dropped; useful to repeat a run without generating again).
Exit status: 0 when every goal is met, 1 otherwise, 2 when the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server import generator  # noqa: E402
from server.adapters import local_s3  # noqa: E402

HOST = "127.0.0.1"
GOAL_ERROR_RATE = 0.001
GOAL_P95_MS = 300.0
GOAL_RSS_GROWTH = 0.10
SAMPLE_EVERY = 10.0
S3_NAME = "S3 PUT (weed, direct)"


# ------------------------------------------------------------------ processes and the database

class Run:
    """Everything this run started, so that one place can stop it."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.weed: subprocess.Popen | None = None

    def start(self, label: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{label}.log", "wb")
        proc = subprocess.Popen(args, env=env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # Ctrl-C reaches only us
        log.close()
        self.procs.append((label, proc))
        return proc

    def log_tail(self, label: str, lines: int = 15) -> str:
        path = self.tmp / f"{label}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop_all(self) -> None:
        for _label, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if _label == "locust" else signal.SIGTERM)
        for _label, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self.weed is not None:
            local_s3.stop(self.weed)


def pg_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


async def pg_admin(base: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_url(base, "postgres"), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def wait_http(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.3)
    return False


# ------------------------------------------------------------------ sampling

class Sampler(threading.Thread):
    """RSS of each process and the 1-minute load average every SAMPLE_EVERY seconds."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.procs = {label: psutil.Process(pid) for label, pid in pids.items()}
        self.rows: list[tuple[float, dict[str, int], float]] = []
        self.stopped = threading.Event()

    def sample(self) -> None:
        rss, cpu = {}, {}
        for label, proc in self.procs.items():
            try:
                rss[label] = proc.memory_info().rss
                times = proc.cpu_times()
                cpu[label] = times.user + times.system
            except psutil.Error:
                rss[label], cpu[label] = 0, 0.0
        self.rows.append((time.time(), rss, os.getloadavg()[0], cpu))

    def run(self) -> None:
        while True:
            self.sample()
            if self.stopped.wait(SAMPLE_EVERY):
                self.sample()
                return


# ------------------------------------------------------------------ report

def pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return math.nan
    return sorted_ms[min(len(sorted_ms) - 1, max(0, math.ceil(p / 100 * len(sorted_ms)) - 1))]


def summarise(samples: list) -> tuple[list[tuple], tuple, float]:
    """Per request type and overall (the app only): (name, n, failures, p50, p95, p99, max), and req/s."""
    by_name: dict[str, list] = {}
    for _t, name, ms, ok, _status, _error in samples:
        by_name.setdefault(name, []).append((ms, ok))

    def row(name, items):
        ms = sorted(m for m, _ in items)
        fails = sum(1 for _, ok in items if not ok)
        return (name, len(items), fails, pct(ms, 50), pct(ms, 95), pct(ms, 99), ms[-1] if ms else math.nan)

    rows = [row(name, items) for name, items in sorted(by_name.items())]
    app = [s for s in samples if s[1] != S3_NAME]
    overall = row("ALL app requests", [(s[2], s[3]) for s in app])
    span = (max(s[0] for s in app) - min(s[0] for s in app)) if len(app) > 1 else 0.0
    return rows, overall, (len(app) / span if span else math.nan)


def print_table(rows, overall) -> None:
    print(f"{'request':<52} {'n':>7} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}  (ms)")
    for name, n, fails, p50, p95, p99, mx in rows:
        print(f"{name[:52]:<52} {n:>7} {fails:>5} {p50:>6.0f} {p95:>6.0f} {p99:>6.0f} {mx:>7.0f}")
    print("-" * 96)
    name, n, fails, p50, p95, p99, mx = overall
    print(f"{name[:52]:<52} {n:>7} {fails:>5} {p50:>6.0f} {p95:>6.0f} {p99:>6.0f} {mx:>7.0f}")


def report(samples: list, sampler: Sampler, started: float, warmup: float, args, statuses: dict) -> bool:
    rows, whole, whole_rps = summarise(samples)
    print(f"\nWhole run, {args.run_time} s, including the ramp-up ({args.reps + args.managers} logins at "
          f"{args.spawn_rate}/s):")
    print_table(rows, whole)
    steady_samples = [s for s in samples if s[0] - s[2] / 1000 >= started + warmup]  # started after it
    rows, overall, rps = summarise(steady_samples) if len(steady_samples) > 1 else (rows, whole, whole_rps)
    print(f"\nSteady state, after the {warmup:.0f} s warm-up (every user logged in and working):")
    print_table(rows, overall)
    _name, n, fails, _p50, p95, _p99, _mx = overall
    rate = fails / n if n else 1.0
    w_rate = whole[2] / whole[1] if whole[1] else 1.0
    print(f"\nsteady state: requests {n:,} (app; the direct S3 PUTs apart), failures {fails:,}, error rate "
          f"{rate * 100:.3f} %, {rps:.1f} requests/s")
    print(f"whole run:    requests {whole[1]:,}, failures {whole[2]:,}, error rate {w_rate * 100:.3f} %, "
          f"p95 {whole[4]:.0f} ms, {whole_rps:.1f} requests/s")
    if statuses:
        print("failures (whole run), by status and error:")
        for key, count in sorted(statuses.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {count:>5} × {key}")

    # memory: after warm-up, the middle of the rest, the end
    rows_m = [r for r in sampler.rows if r[0] >= started + warmup] or sampler.rows[-1:]
    first, middle, last = rows_m[0], rows_m[len(rows_m) // 2], rows_m[-1]
    print(f"\nRSS (MB), start = first sample after the {warmup:.0f} s warm-up "
          f"(t+{first[0] - started:.0f} s), middle t+{middle[0] - started:.0f} s, end t+{last[0] - started:.0f} s:")
    flat = True
    for label in sampler.procs:
        a, m, b = first[1][label], middle[1][label], last[1][label]
        peak = max(r[1][label] for r in rows_m)
        growth = (b - a) / a if a else math.inf
        flat &= growth < GOAL_RSS_GROWTH
        print(f"  {label:<8} start {a / 2**20:7.1f}  middle {m / 2**20:7.1f}  end {b / 2**20:7.1f}  "
              f"peak {peak / 2**20:7.1f}  growth {growth * 100:+5.1f} %")
    minutes = [row for i, row in enumerate(sampler.rows) if i % 6 == 0 or row is sampler.rows[-1]]
    for label in sampler.procs:
        print(f"  {label:<8} every minute: " + " ".join(f"{row[1][label] / 2**20:.0f}" for row in minutes))
    span = last[0] - first[0]
    if span > 0:
        cpu = {label: last[3][label] - first[3][label] for label in sampler.procs}
        app_cpu = cpu["app1"] + cpu["app2"]
        print(f"CPU over the steady state's {span:.0f} s: " + ", ".join(
            f"{label} {sec:.1f} s ({sec / span * 100:.0f} % of a core)" for label, sec in cpu.items())
              + (f"; the app processes {app_cpu / (rps * span) * 1000:.1f} ms of CPU per request" if rps else ""))
    loads = [r[2] for r in sampler.rows]
    print(f"\nload average (1 min) during the run: min {min(loads):.2f}, mean {sum(loads) / len(loads):.2f}, "
          f"max {max(loads):.2f} on {os.cpu_count()} CPUs (shared with whatever else runs on this machine)")

    goals = [(f"error rate < {GOAL_ERROR_RATE * 100:.1f} % (whole run)", w_rate < GOAL_ERROR_RATE,
              f"{w_rate * 100:.3f} %"),
             (f"p95 < {GOAL_P95_MS:.0f} ms (steady state)", p95 < GOAL_P95_MS, f"{p95:.0f} ms"),
             (f"p95 < {GOAL_P95_MS:.0f} ms (whole run, the logins included)", whole[4] < GOAL_P95_MS,
              f"{whole[4]:.0f} ms"),
             (f"memory flat (RSS growth after warm-up < {GOAL_RSS_GROWTH * 100:.0f} %, each process)", flat, "")]
    print()
    for text, ok, value in goals:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}{': ' + value if value else ''}")
    return all(ok for _t, ok, _v in goals)


# ------------------------------------------------------------------ the run

def run(args, tmp: Path, r: Run, state: dict) -> int:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESGATE_", "PICCOLO_"))}
    if args.database:
        db_name = args.database
    else:
        db_name = f"salesgate_load_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_admin(args.pg_url, f'CREATE DATABASE "{db_name}"'))
        state["db"] = db_name
    print(f"database {db_name}; temp dir {tmp}")
    weed, s3 = local_s3.start(tmp / "weed", tmp / "weed.log")
    r.weed = weed
    print(f"object store (weed mini) on http://{s3.endpoint}, shared by every process")
    env = {**base_env,
           "SALESGATE_DATABASE_URL": pg_url(args.pg_url, db_name),
           "SALESGATE_S3_ENDPOINT": f"http://{s3.endpoint}",
           "SALESGATE_S3_ACCESS_KEY": s3.access_key, "SALESGATE_S3_SECRET_KEY": s3.secret_key,
           "SALESGATE_VAR_DIR": str(tmp / "var"), "SALESGATE_MEDIA_DIR": str(tmp / "media"),
           "SALESGATE_HOST": HOST, "SALESGATE_LOG_LEVEL": args.log_level}
    cli = [sys.executable, "-m", "server.cli"]
    scale = generator.SCALES[args.scale]
    if not args.database:
        t0 = time.monotonic()
        print(f"generating the {args.scale} dataset (seed {args.seed}) …", flush=True)
        gen = subprocess.run([*cli, "demo", "generate", "--scale", args.scale, "--seed", str(args.seed)],
                             env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp, capture_output=True, text=True)
        if gen.returncode != 0:
            print(gen.stdout[-2000:], gen.stderr[-2000:], sep="\n")
            return 2
        print(f"  {gen.stdout.strip().splitlines()[-2]}  ({time.monotonic() - t0:.0f} s)")
    env["PYTHONPATH"] = str(ROOT)

    ports = local_s3.free_ports(2)
    apps = [r.start(f"app{i + 1}", [*cli, "serve", "--no-jobs", "--port", str(p)], env) for i, p in enumerate(ports)]
    for i, (proc, port) in enumerate(zip(apps, ports)):
        if not wait_http(f"http://{HOST}:{port}/healthz", proc, 120):
            print(f"app{i + 1} did not start:\n{r.log_tail(f'app{i + 1}')}")
            return 2
    # after the apps: with --database and a fresh object store, the apps create the bucket the worker's
    # reconcile job lists (the worker itself does not create it; it logs NoSuchBucket until one does)
    worker = r.start("worker", [*cli, "jobs", "worker"], env)
    time.sleep(3)
    if worker.poll() is not None:
        print(f"the worker stopped:\n{r.log_tail('worker')}")
        return 2
    hosts = [f"http://{HOST}:{p}" for p in ports]
    print(f"app processes on {', '.join(hosts)} (pids {apps[0].pid}, {apps[1].pid}), worker pid {worker.pid}")

    reps = [f"rep{t:02d}{k}" for t in range(scale.teams) for k in range(scale.reps_per_team)]
    managers = [f"mgr{t:02d}" for t in range(scale.teams)]
    samples_file = tmp / "samples.json"
    users = args.reps + args.managers
    loc_env = {**base_env, "LOAD_HOSTS": ",".join(hosts), "LOAD_REPS": ",".join(reps),
               "LOAD_MANAGERS": ",".join(managers), "LOAD_PASSWORD": generator.DEMO_PASSWORD,
               "LOAD_REP_USERS": str(args.reps), "LOAD_MANAGER_USERS": str(args.managers),
               "LOAD_THINK": args.think, "LOAD_SAMPLES": str(samples_file), "PYTHONPATH": str(ROOT)}
    ramp = users / args.spawn_rate
    warmup = args.warmup if args.warmup is not None else max(ramp + 30, 0.2 * args.run_time)
    sampler = Sampler({"app1": apps[0].pid, "app2": apps[1].pid, "worker": worker.pid})
    print(f"load: {args.reps} reps + {args.managers} managers, spawned at {args.spawn_rate}/s, think time "
          f"{args.think.replace(',', '–')} s, {args.run_time} s; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    started = time.time()
    sampler.start()
    locust = r.start("locust", [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_locust.py"),
                                "--headless", "-u", str(users), "-r", str(args.spawn_rate),
                                "--run-time", f"{args.run_time}s", "--stop-timeout", "15", "--only-summary",
                                "--host", hosts[0]], loc_env)
    while locust.poll() is None:
        time.sleep(1)
        for label, proc in (("app1", apps[0]), ("app2", apps[1]), ("worker", worker)):
            if proc.poll() is not None:
                print(f"{label} died during the run:\n{r.log_tail(label)}")
                return 2
    sampler.stopped.set()
    sampler.join()
    if not samples_file.exists():
        print(f"locust wrote no samples:\n{r.log_tail('locust', 40)}")
        return 2
    samples = json.loads(samples_file.read_text())
    statuses: dict = {}
    for _t, name, _ms, ok, status, error in samples:
        if not ok and name != S3_NAME:
            key = f"{status} {error[:120]}" if error else str(status)
            statuses[key] = statuses.get(key, 0) + 1
    ok = report(samples, sampler, started, warmup, args, statuses)
    crashed = r.log_tail("locust", 10**6).count("failed with")  # a user's code raised: its day ended early
    if crashed:
        print(f"\nlocust: {crashed} simulated user(s) stopped on an exception; see its log (--keep-logs)")
        ok = False
    for label in ("app1", "app2", "worker"):
        lines = (tmp / f"{label}.log").read_text(errors="replace").splitlines()
        errors = [i for i, ln in enumerate(lines) if " ERROR " in ln]
        if errors:
            print(f"\n{label}: {len(errors)} error(s) in its log; the first:")
            print("\n".join("  " + ln for ln in lines[errors[0]:errors[0] + 25]))
    return 0 if ok else 1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=["org", "small"], default="org", help="the generator's dataset (default org)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--run-time", type=int, default=600, help="seconds of load (default 600)")
    p.add_argument("--quick", action="store_true", help="120 seconds of load")
    p.add_argument("--reps", type=int, default=200, help="rep users (default 200)")
    p.add_argument("--managers", type=int, default=20, help="manager users (default 20)")
    p.add_argument("--spawn-rate", type=float, default=1.0,
                   help="users started per second (default 1: the 220 morning logins over ~4 minutes; "
                        "5 makes them a burst of argon2 checks in 44 s)")
    p.add_argument("--think", default="5,15", help="think time min,max in seconds between actions (default 5,15)")
    p.add_argument("--warmup", type=float, help="seconds before the memory baseline "
                                                "(default: the ramp + 30 s, at least 20 %% of the run)")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server (trust)")
    p.add_argument("--database", help="use this existing, generated database (kept) instead of a throwaway one")
    p.add_argument("--log-level", default="WARNING", help="the app processes' SALESGATE_LOG_LEVEL (default WARNING)")
    p.add_argument("--keep-logs", metavar="DIR", help="copy the processes' and locust's logs to DIR at the end")
    args = p.parse_args(argv)
    if args.quick:
        args.run_time = 120
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    state: dict = {}

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp = Path(tempfile.mkdtemp(prefix="salesgate-load-"))
    r = Run(tmp)
    try:
        return run(args, tmp, r, state)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up")
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        r.stop_all()
        if state.get("db"):
            asyncio.run(pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{state["db"]}" WITH (FORCE)'))
            print(f"database {state['db']} dropped")
        import shutil

        if args.keep_logs:
            keep = Path(args.keep_logs)
            keep.mkdir(parents=True, exist_ok=True)
            for log in tmp.glob("*.log"):
                shutil.copy(log, keep / log.name)
            print(f"logs kept in {keep}")
        shutil.rmtree(tmp, ignore_errors=True)
        print("processes stopped, temp dir removed")


if __name__ == "__main__":
    raise SystemExit(main())
