"""HTTP benchmark: Litestar hello-world baseline vs. Salesgate's customer list/search.

    uv run python bench/api.py [--duration 10] [--concurrency 16]
                               [--engines sqlite,postgres]
                               [--pg-url postgresql://postgres@127.0.0.1:5432/test]

One run measures, each after a short warm-up, with N keep-alive connections
from an asyncio client in this process (raw asyncio streams, uvloop when
installed) against one uvicorn process with one worker on a free loopback
port:

  1. a minimal ``Litestar([get("/")(...)])`` JSON app (the baseline);
  2. ``GET /api/v1/customers?q=`` (first page of 50) as a rep, per engine;
  3. ``GET /api/v1/customers?q=<surname>`` (a real search), per engine.

Data: 20,000 customers over 200 owners in 20 teams (each owner ~100), loaded
into a SQLite file in a temp dir and into a fresh PostgreSQL database
``salesgate_bench_<random>`` that is dropped at the end. Client and server
share the machine, so the numbers are a lower bound for the server alone.

Every subprocess, temp file and the PostgreSQL database are removed at the
end, also on failure or Ctrl-C. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
N_CUSTOMERS = 20_000
N_TEAMS = 20
USERS_PER_TEAM = 10  # 1 manager + 9 reps; all of them own customers
CHUNK = 1000
PASSWORD = "bench-password-1"
REQUEST_TIMEOUT = 10.0  # seconds, per request
MAX_REQUESTS_PER_CASE = 5_000_000  # hard cap next to the time bound
GOAL_P95_MS = 50.0
RESULT_MARK = "BENCH-TOKEN "
LOAD_AT_START = os.getloadavg()[0]

SURNAMES = ("王" * 14 + "李" * 14 + "张" * 13 + "刘" * 10 + "陈" * 9 + "杨" * 6 + "黄" * 4 + "赵" * 4
            + "吴" * 4 + "周" * 4 + "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅志强玉兰海燕晓东文博子涵雨欣浩然宇轩思远嘉怡俊杰"
CITIES = ("上海", "北京", "深圳", "广州", "杭州", "苏州", "南京", "成都", "武汉", "西安", "天津", "重庆",
          "宁波", "无锡", "合肥", "长沙", "青岛", "厦门", "东莞", "佛山")
WORDS = ("华创", "恒信", "中科", "瑞丰", "金桥", "鼎盛", "博远", "新元", "宏达", "天成", "立信", "海纳",
         "正泰", "联合", "东方", "卓越", "汇通", "安捷", "众合", "长青")
TRADES = ("科技", "贸易", "机械", "电子", "医疗器械", "软件", "物流", "建材", "化工", "环保")
TITLES = ("采购经理", "总经理", "技术总监", "采购专员", "项目经理", "财务经理", "工程师", "运营总监", None)
PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188",
            "130", "131", "132", "155", "156", "133", "153", "180", "189", "177", "199")


# --------------------------------------------------------------------------- servers

def serve(kind: str, port: int) -> None:
    """Subprocess entry point: one uvicorn process, one worker, log level warning."""
    import uvicorn

    if kind == "hello":
        from litestar import Litestar, get

        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        app = Litestar([get("/")(hello)])
    else:
        from server.app import create_app
        from server.settings import load_settings

        settings = load_settings({k: v for k, v in os.environ.items() if k.startswith("SALESGATE_")})
        app = create_app(settings)
    uvicorn.run(app, host=HOST, port=port, workers=1, log_level="warning", access_log=False,
                server_header=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Servers:
    """The subprocesses this run started; stop() ends each by its own id."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []

    def start(self, kind: str, env_extra: dict[str, str], label: str) -> tuple[subprocess.Popen, int]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGATE_")}
        env.update(env_extra)
        env["PYTHONUNBUFFERED"] = "1"
        for attempt in range(3):  # a free port may be taken between probe and bind
            port = free_port()
            log = self.tmp / f"{label}-{attempt}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--port", str(port)],
                    cwd=str(self.tmp), env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
            self.procs.append(proc)
            if wait_ready(proc, port, timeout=60.0):
                return proc, port
            self.stop(proc)
            tail = log.read_text(errors="replace")[-2000:]
            print(f"  server {label} did not come up (attempt {attempt + 1}); log tail:\n{tail}",
                  file=sys.stderr)
        raise RuntimeError(f"could not start the {label} server")

    def load(self, env_extra: dict[str, str], engine: str) -> str:
        """Migrate and fill the database in a child process (Piccolo's migration state is
        per process); return the rep's API token."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGATE_")}
        env.update(env_extra)
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--load", engine],
            cwd=str(self.tmp), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.procs.append(proc)
        try:
            out, _ = proc.communicate(timeout=900)
        finally:
            self.stop(proc)
        token = None
        for line in out.decode(errors="replace").splitlines():
            if line.startswith(RESULT_MARK):
                token = line[len(RESULT_MARK):].strip()
            elif line.startswith("  "):
                print(line, flush=True)
        if proc.returncode != 0 or not token:
            raise RuntimeError(f"loading {engine} failed (exit {proc.returncode}):\n"
                               + out.decode(errors="replace")[-3000:])
        return token

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            try:
                self.stop(proc)
            except Exception as exc:  # keep cleaning up the others
                print(f"  could not stop pid {proc.pid}: {exc}", file=sys.stderr)


def wait_ready(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    """Ready when a TCP connection to the port succeeds (bounded in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --------------------------------------------------------------------------- load generator

def build_request(path: str, token: str | None, gzip: bool) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}", "Accept: application/json", "User-Agent: salesgate-bench"]
    if gzip:
        lines.append("Accept-Encoding: gzip")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class BadResponse(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive). Handles Content-Length and chunked bodies."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 "):
        raise BadResponse(head[:40])
    status = int(head[9:12])
    low = head.lower()
    keep_alive = b"\r\nconnection: close" not in low
    i = low.find(b"\r\ncontent-length:")
    if i >= 0:
        j = low.index(b"\r\n", i + 2)
        body = await reader.readexactly(int(low[i + 17:j]))
    elif b"\r\ntransfer-encoding: chunked" in low:
        parts = []
        for _ in range(100_000):  # bounded
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        else:
            raise BadResponse("too many chunks")
        body = b"".join(parts)
    else:
        raise BadResponse("no length")
    return status, body, keep_alive


@dataclass
class Result:
    case: str
    engine: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # server, database backends, client (s)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        k = min(len(data) - 1, max(0, math.ceil(p / 100 * len(data)) - 1))  # nearest rank
        return data[k] * 1000


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes (all their threads), from /proc."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


class CpuMeter:
    """CPU used inside the measurement window by the server, the database backends
    (PostgreSQL: the processes serving the bench database) and this client."""

    def __init__(self, server_pid: int, pg_url: str | None = None):
        self.server_pid, self.pg_url = server_pid, pg_url
        self.pg_pids: list[int] = []
        self.start = (0.0, 0.0, 0.0)
        self.used = (0.0, 0.0, 0.0)

    async def begin(self) -> None:
        if self.pg_url:
            import asyncpg

            try:
                conn = await asyncpg.connect(self.pg_url, timeout=5)
                try:
                    rows = await conn.fetch("SELECT pid FROM pg_stat_activity "
                                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                finally:
                    await conn.close()
                self.pg_pids = [r["pid"] for r in rows]
            except Exception:
                self.pg_pids = []
        self.start = (cpu_seconds([self.server_pid]), cpu_seconds(self.pg_pids), time.process_time())

    async def end(self) -> None:
        now = (cpu_seconds([self.server_pid]), cpu_seconds(self.pg_pids), time.process_time())
        self.used = tuple(b - a for a, b in zip(self.start, now))


async def load(port: int, request, concurrency: int, warmup: float, duration: float,
               result: Result, meter: CpuMeter | None = None, ok: tuple[int, ...] = (200,)) -> None:
    """N keep-alive connections; warm up, then record completions inside the window.
    `request`: the request's bytes, or a function giving each request's bytes (POSTs that must differ);
    `ok`: the statuses that count as answered (others are errors)."""
    loop_start = time.perf_counter()
    window_start = loop_start + warmup
    window_end = window_start + duration
    counted = 0

    async def timer() -> None:
        if meter is None:
            return
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        await meter.begin()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        await meter.end()

    async def worker() -> None:
        nonlocal counted
        reader = writer = None
        while counted < MAX_REQUESTS_PER_CASE:
            t0 = time.perf_counter()
            if t0 >= window_end:
                break
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(HOST, port)
                    writer.write(request() if callable(request) else request)
                    status, _, keep_alive = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                    BadResponse, ValueError):
                status, keep_alive = -1, False
            t1 = time.perf_counter()
            if window_start <= t1 <= window_end:  # completions inside the window
                counted += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status in ok:
                    result.requests += 1
                    result.latencies.append(t1 - t0)
                else:
                    result.errors += 1
            if not keep_alive and writer is not None:
                writer.close()
                reader = writer = None
                if status == -1:
                    await asyncio.sleep(0.01)  # do not spin on a dead server
        if writer is not None:
            writer.close()

    await asyncio.gather(timer(), *(worker() for _ in range(concurrency)))
    result.seconds = duration
    if meter is not None:
        result.cpu = meter.used


async def probe(port: int, request: bytes) -> tuple[int, bytes]:
    """One request outside the measurement, to check the answer's content."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            writer.write(request.replace(b"Accept-Encoding: gzip\r\n", b""))
            status, body, _ = await read_response(reader)
    finally:
        writer.close()
    return status, body


# --------------------------------------------------------------------------- data set

def phone(rng: random.Random) -> str:
    return "+86" + rng.choice(PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


async def load_data(settings, *, analyze: bool) -> tuple[str, str, int]:
    """Migrate, create users and customers; (token, rep id, customers owned by the rep)."""
    from server import db
    from server.queries import sessions, users
    from server.tables import Customer

    engine = db.build_engine(settings)
    await db.migrate(engine)
    rng = random.Random(20261127)
    pw_hash = users.hash_password(PASSWORD)  # argon2 is slow: hash once
    async with db.lifespan_engine(engine):
        t = time.perf_counter()
        owners: list[tuple[str, str]] = []  # (user id, team id)
        for team_no in range(N_TEAMS):
            team = f"销售{team_no + 1:02d}组"
            mgr = f"mgr{team_no:02d}"
            user = await users.create_user(username=mgr, password=PASSWORD, roles=("manager",),
                                           display_name=person_name(rng), team=team,
                                           phone=phone(rng), password_hash=pw_hash)
            owners.append((user.id, user.team))
            for k in range(1, USERS_PER_TEAM):
                user = await users.create_user(username=f"rep{team_no:02d}{k}", password=PASSWORD,
                                               roles=("rep",), display_name=person_name(rng), team=team,
                                               manager_username=mgr, phone=phone(rng),
                                               password_hash=pw_hash)
                owners.append((user.id, user.team))
        rep_id = str(owners[1][0])  # rep001: a plain rep in the first team
        t_users = time.perf_counter() - t

        t = time.perf_counter()
        now = datetime.now(timezone.utc)
        for start in range(0, N_CUSTOMERS, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, N_CUSTOMERS)):
                owner, team = owners[i % len(owners)]
                created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
                last = created + timedelta(minutes=rng.randrange(60 * 24 * 90)) if rng.random() < 0.7 else None
                rows.append(Customer(
                    id=uuid.uuid4(), name=person_name(rng), phone=phone(rng),
                    email=f"c{i:05d}@{rng.choice(('qq.com', '163.com', 'example.cn'))}" if rng.random() < 0.6 else None,
                    company=rng.choice(CITIES) + rng.choice(WORDS) + rng.choice(TRADES) + "有限公司",
                    title=rng.choice(TITLES), owner=owner, team=team, source="bench",
                    last_contact_at=last if last is None or last < now else now,
                    created_at=created, updated_at=created,
                ))
            await Customer.insert(*rows).run()
        if analyze:
            await engine.run_ddl("ANALYZE")
        t_customers = time.perf_counter() - t
        mine = await Customer.count().where(Customer.owner == rep_id).run()
        token, _ = await sessions.create_token(rep_id, "bench")
    print(f"  loaded {len(owners)} users in {t_users:.1f}s, {N_CUSTOMERS} customers in {t_customers:.1f}s; "
          f"measured rep owns {mine}")
    return token, rep_id, mine


def load_entry(engine: str) -> None:
    """Subprocess entry point: migrate and fill the database named in the environment."""
    from server.settings import load_settings

    settings = load_settings({k: v for k, v in os.environ.items() if k.startswith("SALESGATE_")})
    token, _, _ = run_async(load_data(settings, analyze=engine == "postgres"))
    print(RESULT_MARK + token, flush=True)


def pg_database_url(base_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def pg_create(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def pg_drop(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --------------------------------------------------------------------------- report

def machine_info() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load1 = os.getloadavg()[0]
    return [f"nproc {len(os.sched_getaffinity(0))}", f"CPU {model}",
            f"Python {platform.python_version()} ({platform.python_implementation()})",
            f"load average (1 min) at start {LOAD_AT_START:.2f}, at end {load1:.2f}"]


def print_table(results: list[Result], args, baseline: Result | None) -> None:
    base = baseline.rps if baseline and baseline.rps else None
    print()
    print(f"Salesgate API benchmark: {args.duration:g} s per measurement after {args.warmup:g} s warm-up, "
          f"{args.concurrency} keep-alive HTTP/1.1 connections from one asyncio client (raw streams"
          f"{', Accept-Encoding: gzip' if not args.no_gzip else ''}), uvicorn 1 process 1 worker, "
          f"log level warning. Client and server (and PostgreSQL) share this {len(os.sched_getaffinity(0))}-core machine.")
    print()
    print("| case | engine | req/s | p50 ms | p95 ms | ratio to baseline | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = f"{r.rps / base:.3f}" if base else "n/a"
        print(f"| {r.case} | {r.engine} | {r.rps:,.0f} | {r.pct(50):.1f} | {r.pct(95):.1f} | {ratio} | {r.errors} |")
    print()
    pg = [r for r in results if r.engine == "postgres" and r.case.startswith("customers?q= ")]
    if pg:
        p95 = pg[0].pct(95)
        verdict = "MET" if p95 < GOAL_P95_MS and pg[0].errors == 0 else "NOT MET"
        print(f"Goal: p95 under {GOAL_P95_MS:g} ms on PostgreSQL for the customer list "
              f"(at {args.concurrency} connections): {verdict} (p95 {p95:.1f} ms).")
    else:
        print(f"Goal: p95 under {GOAL_P95_MS:g} ms on PostgreSQL for the customer list: not measured "
              "(postgres not in --engines).")
    print()
    print("CPU inside each measurement window (the machine is shared: client, server and PostgreSQL "
          "compete for the same cores, so req/s is a lower bound for the server alone):")
    for r in results:
        n = max(1, r.requests + r.errors)
        srv, dbc, cli = r.cpu
        db_part = f", PostgreSQL backends {dbc * 1000 / n:.2f} ms/req" if r.engine == "postgres" else ""
        print(f"  {r.case} / {r.engine}: server process {srv / r.seconds * 100:.0f}% of a core = "
              f"{srv * 1000 / n:.2f} ms CPU/req{db_part}; client {cli / r.seconds * 100:.0f}% of a core")
    for r in results:
        odd = {s: n for s, n in r.statuses.items() if s != 200}
        if odd:
            print(f"  {r.case} / {r.engine}: non-200 answers by status (-1 = network/timeout): {odd}")
    print("Machine: " + "; ".join(machine_info()))


# --------------------------------------------------------------------------- main

def run_async(coro):
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


def measure(label: str, engine: str, port: int, request: bytes, args, server_pid: int,
            pg_url: str | None = None) -> Result:
    result = Result(label, engine)
    meter = CpuMeter(server_pid, pg_url)
    run_async(load(port, request, args.concurrency, args.warmup, args.duration, result, meter))
    print(f"  {label:<24} {engine:<9} {result.rps:9,.0f} req/s  p50 {result.pct(50):6.1f} ms  "
          f"p95 {result.pct(95):6.1f} ms  errors {result.errors}", flush=True)
    return result


def check_page(port: int, request: bytes, expect_full: bool) -> int:
    import json

    status, body = run_async(probe(port, request))
    if status != 200:
        raise RuntimeError(f"probe answered {status}: {body[:300]!r}")
    page = json.loads(body)
    n = len(page["items"])
    if expect_full and (n != 50 or not page.get("next")):
        raise RuntimeError(f"expected a full first page of 50 with a next cursor, got {n} items")
    if n == 0:
        raise RuntimeError("the search found nothing; pick another --search term")
    return n


def run(args, tmp: Path, servers: Servers, state: dict) -> list[Result]:
    results: list[Result] = []
    gzip = not args.no_gzip

    print("baseline: Litestar hello world", flush=True)
    proc, port = servers.start("hello", {}, "hello")
    baseline = measure("hello world (baseline)", "-", port, build_request("/", None, gzip), args, proc.pid)
    results.append(baseline)
    servers.stop(proc)

    q = urllib.parse.quote(args.search)
    for engine in args.engines:
        print(f"{engine}: loading data", flush=True)
        if engine == "sqlite":
            url = f"sqlite:///{tmp / 'salesgate.db'}"
        else:
            name = f"salesgate_bench_{uuid.uuid4().hex[:10]}"
            run_async(pg_create(args.pg_url, name))
            state["pg_db"] = name
            url = pg_database_url(args.pg_url, name)
        env = {"SALESGATE_DATABASE_URL": url, "SALESGATE_VAR_DIR": str(tmp / "var"),
               "SALESGATE_MEDIA_DIR": str(tmp / "media"), "SALESGATE_LOG_LEVEL": "WARNING"}
        token = servers.load(env, engine)

        proc, port = servers.start("app", env, f"app-{engine}")
        list_req = build_request("/api/v1/customers?q=", token, gzip)
        search_req = build_request(f"/api/v1/customers?q={q}", token, gzip)
        check_page(port, list_req, expect_full=True)
        hits = check_page(port, search_req, expect_full=False)
        print(f"  search {args.search!r} finds {hits} of the rep's customers on the first page", flush=True)
        pg_url = url if engine == "postgres" else None
        results.append(measure("customers?q= (list)", engine, port, list_req, args, proc.pid, pg_url))
        results.append(measure(f"customers?q={args.search} (search)", engine, port, search_req, args,
                               proc.pid, pg_url))
        servers.stop(proc)
        if engine == "postgres":
            run_async(pg_drop(args.pg_url, state.pop("pg_db")))
    return results


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each (default 2)")
    p.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (default 16)")
    p.add_argument("--engines", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="an existing database on the server where the bench database is created")
    p.add_argument("--search", default="王", help="search term for the search case (default 王, a surname)")
    p.add_argument("--no-gzip", action="store_true", help="do not send Accept-Encoding: gzip")
    p.add_argument("--serve", choices=("hello", "app"), help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--load", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve or args.load:
        return args
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = [e for e in args.engines if e not in ("sqlite", "postgres")]
    if bad or not args.engines:
        p.error(f"--engines: expected sqlite and/or postgres, got {bad or 'nothing'}")
    if not 0 < args.duration <= 3600 or not 0 <= args.warmup <= 600:
        p.error("--duration must be in (0, 3600] and --warmup in [0, 600]")
    if not 1 <= args.concurrency <= 1000:
        p.error("--concurrency must be 1..1000")
    host = urllib.parse.urlsplit(args.pg_url).hostname
    if "postgres" in args.engines and host not in ("127.0.0.1", "localhost", "::1"):
        p.error("--pg-url: only a loopback PostgreSQL server is allowed")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if args.load:
        load_entry(args.load)
        return 0

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="salesgate-bench-"))
    servers = Servers(tmp)
    state: dict = {}
    code = 1
    try:
        results = run(args, tmp, servers, state)
        print_table(results, args, results[0])
        code = 0
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        code = 130
    except Exception as exc:
        print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for log in sorted(tmp.glob("*.log")):
            print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-1500:]}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        servers.stop_all()
        if state.get("pg_db"):
            try:
                run_async(pg_drop(args.pg_url, state["pg_db"]))
            except Exception as exc:
                print(f"could not drop database {state['pg_db']}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"total runtime {time.perf_counter() - started:.0f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
