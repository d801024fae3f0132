"""Benchmark: the deadline job over 200,000 open node clocks, and Web Push fan-out, on PostgreSQL.

    uv run python bench/alerts.py [--repeats 3] [--instances 200000] [--opportunities 20000]
                                  [--history 100000] [--replan 1000] [--pushes 1000]
                                  [--receiver thread|process] [--plain-receiver] [--decrypt-every 1]
                                  [--profile-push] [--skip-deadlines] [--skip-push]
                                  [--pg-url postgresql://postgres@127.0.0.1:5432/test]

One run measures, each timing repeated --repeats times (the median is reported):

  0. baselines: a Litestar hello world over HTTP (bench/api.py's server and client,
     3 s windows, 16 keep-alive connections) and a PostgreSQL ``SELECT 1`` round trip
     through the app's engine;
  1. the deadline job: 301 users in 20 teams (200 reps, 20 managers under a director,
     presales/legal/delivery/commercial colleagues per team, made by the real
     create_user), 20,000 customers with an open opportunity each, 200,000 open node
     instances (10 per opportunity, due uniformly ±30 days around now) with their alarms
     as sync_clocks writes them (the playbook's levels and recipients, relations resolved
     by the real resolve_relations), 1-2 push devices per user, a robot for half the
     teams, and a history of 100,000 closed alerts with inbox items, fired alarms and
     sent pushes. Loaded with COPY into a template database; each repetition works on a
     fresh copy (CREATE DATABASE … TEMPLATE), caches warmed with pg_prewarm. Timed:
     ``fire_due_alarms`` first tick (one 15,000-alarm batch of the backlog), the
     rest of the backlog tick by tick, a tick at the same ``now`` (nothing new: the
     steady cost of a minute), a tick one minute later, re-planning N dirty opportunities
     with ``sync_clocks`` twice (the first closes the stale clocks, the second rewrites
     the alarms) and the tick after the re-plan;
  2. push fan-out: N overdue alerts made by ``fire_due_alarms``, one inbox item and one
     device each, delivered by ``server.jobs.push.run`` with the real PushSender to the
     loopback push service of tests/push_receiver.py (in this process by default), which
     verifies the VAPID JWT of every message and decrypts every message (or one in
     --decrypt-every). It keeps connections alive and listens with a backlog of 128, as a
     push service would; --plain-receiver uses the test receiver's HTTP/1.0 and backlog 5.

Only 127.0.0.1 is contacted. Every database this run makes is dropped at the end, also
on failure or Ctrl-C; the receiver and hello-world subprocesses are stopped by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import importlib.util
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from server import db  # noqa: E402
from server.domain.alerts import alarms_for, parse_quiet_hours, quiet_until  # noqa: E402
from server.playbook_loader import DEFAULT_PLAYBOOK, load_playbook  # noqa: E402
from server.queries import alerting  # noqa: E402
from server.queries.bulk import pg_copy as copy, pg_drop_indexes as drop_indexes  # noqa: E402
from server.queries.bulk import pg_setvals as setvals, pg_sql as sql  # noqa: E402
from server.queries.opp_facts import resolve_relations  # noqa: E402
from server.settings import load_settings  # noqa: E402
from tests import push_receiver  # noqa: E402

LOAD_AT_START = os.getloadavg()
GOAL_TICK_S = 2.0
GOAL_PUSH_PER_S = 300.0
TEAMS, REPS_PER_TEAM = 20, 10
COLLEAGUES = ("presales", "legal", "delivery", "commercial")
PUSH_HOSTS_REAL = ("fcm.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com")
READY, STATS = "RECEIVER-READY ", "RECEIVER-STATS "


@dataclass
class Row:
    case: str
    n: str
    values: list[float] = field(default_factory=list)  # seconds per repetition
    unit: str = "s"  # "s", "ms/opp", "msg/s", "req/s"
    p50: float | None = None  # ms
    p95: float | None = None
    goal: str = "—"
    met: str = "—"
    note: str = ""
    cpu: float | None = None  # CPU seconds (per opportunity for ms/opp, per run otherwise): app + PostgreSQL

    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, max(0, round(q * (len(data) - 1))))]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --------------------------------------------------------------------------- databases


class Databases:
    """The PostgreSQL databases this run made; all dropped at the end."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.made: list[str] = []

    def url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    async def create(self, name: str, template: str | None = None) -> str:
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.made.append(name)
            await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        finally:
            await conn.close()
        return self.url(name)

    async def drop(self, name: str) -> None:
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        if name in self.made:
            self.made.remove(name)

    async def drop_all(self) -> None:
        for name in reversed(list(self.made)):
            try:
                await self.drop(name)
            except Exception as exc:  # keep dropping the others
                print(f"could not drop database {name}: {exc}", file=sys.stderr)


def settings_for(url: str, tmp: Path):
    return load_settings({"SALESGATE_DATABASE_URL": url, "SALESGATE_VAR_DIR": str(tmp / "var"),
                          "SALESGATE_MEDIA_DIR": str(tmp / "media"), "SALESGATE_PUSH_HOSTS": "127.0.0.1",
                          "SALESGATE_LOG_LEVEL": "WARNING"})


# --------------------------------------------------------------------------- data set


async def make_users(engine) -> tuple[list[dict], list]:
    """301 users through the real create_user; returns the 200 reps as {id, team}, and all users."""
    from server.queries import users

    pw = users.hash_password("bench-password-1")
    await users.create_user(username="director", password="x" * 8, roles=("manager",), team="总部",
                            password_hash=pw)
    for t in range(TEAMS):
        team = f"销售{t + 1:02d}组"
        await users.create_user(username=f"mgr{t:02d}", password="x" * 8, roles=("manager",), team=team,
                                manager_username="director", password_hash=pw)
        for k in range(REPS_PER_TEAM):
            await users.create_user(username=f"rep{t:02d}{k}", password="x" * 8, roles=("rep",), team=team,
                                    manager_username=f"mgr{t:02d}", password_hash=pw)
        for role in COLLEAGUES:
            await users.create_user(username=f"{role}{t:02d}", password="x" * 8, roles=(role,), team=team,
                                    manager_username=f"mgr{t:02d}", password_hash=pw)
    rows = await sql(engine, "SELECT id, team, username FROM app_user ORDER BY username")
    return [{"id": r["id"], "team": r["team"]} for r in rows if r["username"].startswith("rep")], rows


async def load_deadlines(engine, pb, args, now: datetime) -> dict:
    """Fill the template database; returns facts about it for the report."""
    rng = random.Random(20261127)
    t0 = time.perf_counter()
    reps, all_users = await make_users(engine)
    who = {r["id"]: await resolve_relations(pb, r["id"]) for r in reps}  # the real relation lookup
    t_users = time.perf_counter() - t0

    t0 = time.perf_counter()
    n_opp = args.opportunities
    indexes = await drop_indexes(engine, BULK_TABLES)
    customers, opps = [], []
    stages = [s for s in pb.stages if s.terminal is None]
    for i in range(n_opp):
        rep = reps[i % len(reps)]
        cid, oid = uuid.uuid4(), uuid.uuid4()
        created = now - timedelta(days=rng.uniform(30, 400))
        customers.append((cid, f"客户{i:05d}", f"+86138{i:08d}", f"城市{i % 97}科技有限公司", rep["id"],
                          rep["team"], "bench", created, created))
        stage = rng.choice(stages)
        sub = rng.choice(stage.substates) if stage.substates else None
        entered = now - timedelta(days=rng.uniform(0, 40))
        opps.append((oid, cid, f"商机{i:05d}", rep["id"], rep["team"], stage.key, sub, "open", "{}", entered,
                     created, created, 1, 1))
    await copy(engine, "customer", ["id", "name", "phone", "company", "owner", "team", "source", "created_at",
                                    "updated_at"], customers)
    await copy(engine, "opportunity", ["id", "customer", "title", "owner", "team", "stage", "substate", "status",
                                       "fields", "stage_entered_at", "created_at", "updated_at", "facts_rev",
                                       "clock_rev"], opps)

    nodes = [(s.key, n) for s, n in pb.nodes if n.deadline is not None]
    per_opp = max(1, round(args.instances / n_opp))
    instances, alarms = [], []
    iid = 0
    for j, o in enumerate(opps):
        owner = o[3]
        for stage_key, node in rng.sample(nodes, min(per_opp, len(nodes))):
            if iid >= args.instances:
                break
            iid += 1
            due = now + timedelta(seconds=rng.uniform(-30 * 86400, 30 * 86400))
            anchor = due - timedelta(hours=rng.choice((48, 72, 120, 168)))
            instances.append((iid, o[0], node.key, stage_key, anchor, due, "open", node.urgent, anchor))
            for a in alarms_for(node, due, who[owner]):
                alarms.append((iid, a.level, a.fire_at, uuid.UUID(a.recipient), a.relation, f"node:{iid}:{a.level}"))
    n_open = iid

    # History: clocks closed long ago, their alerts (closed), inbox items and sent pushes.
    subs, by_user = [], {}
    for u in all_users:
        for d in range(2 if rng.random() < 0.3 else 1):
            sid = uuid.uuid4()
            host = rng.choice(PUSH_HOSTS_REAL)
            subs.append((sid, u["id"], f"https://{host}/push/{uuid.uuid4().hex}{uuid.uuid4().hex}",
                         b64u(b"\x04" + os.urandom(64)), b64u(os.urandom(16)), rng.choice(("zh_CN", "zh_CN", "en")),
                         now - timedelta(days=60)))
            by_user.setdefault(u["id"], []).append(sid)
    h_inst, h_alarm, h_alert, h_inbox, h_push = [], [], [], [], []
    for k in range(args.history):
        iid += 1
        o = opps[k % n_opp]
        stage_key, node = nodes[k % len(nodes)]
        anchor = now - timedelta(days=35, minutes=k)
        due, closed = anchor + timedelta(days=3), anchor + timedelta(days=4)
        h_inst.append((iid, o[0], node.key, stage_key, anchor, due, "done", node.urgent, anchor, closed))
        mgr = who[o[3]]["owner.manager"]
        people = [o[3]] + ([uuid.UUID(mgr)] if mgr and k % 2 else [])
        for p in people:
            h_alarm.append((iid, 0, due, p, "owner" if p == o[3] else "owner.manager", f"node:{iid}:0",
                            "history"))
        h_alert.append((k + 1, f"node:{iid}:0", "overdue", o[0], iid, node.key, 0, node.urgent, "{}", "history",
                        due, closed))
        for p in people:
            h_inbox.append((len(h_inbox) + 1, k + 1, p, "history", due, due + timedelta(hours=2)))
            for s in by_user.get(p, ()):
                h_push.append((len(h_inbox), s, "sent", due, 1, due, due))
    await copy(engine, "node_instance", ["id", "opportunity", "node_key", "stage", "anchor_at", "due_at", "status",
                                         "urgent", "created_at"], instances)
    await copy(engine, "node_instance", ["id", "opportunity", "node_key", "stage", "anchor_at", "due_at", "status",
                                         "urgent", "created_at", "closed_at"], h_inst)
    await copy(engine, "node_alarm", ["instance", "level", "fire_at", "recipient", "relation", "alert_key"], alarms)
    await copy(engine, "node_alarm", ["instance", "level", "fire_at", "recipient", "relation", "alert_key",
                                      "fired_tick"], h_alarm)
    await copy(engine, "push_subscription", ["id", "user", "endpoint", "p256dh", "auth", "locale", "created_at"], subs)
    teams = await sql(engine, "SELECT id FROM team ORDER BY name")
    robot = "https://oapi.dingtalk.com/robot/send?access_token="
    hooks = [(uuid.uuid4(), t["id"], "dingtalk", robot + uuid.uuid4().hex, True) for t in teams[::2]]
    await copy(engine, "team_webhook", ["id", "team", "kind", "url", "enabled"], hooks)
    await copy(engine, "alert", ["id", "key", "kind", "opportunity", "instance", "node_key", "level", "urgent",
                                 "params", "tick", "created_at", "closed_at"], h_alert)
    await copy(engine, "inbox_item", ["id", "alert", "user", "tick", "created_at", "read_at"], h_inbox)
    await copy(engine, "push_outbox", ["inbox_item", "subscription", "status", "not_before", "attempts",
                                       "sent_at", "created_at"], h_push)
    await setvals(engine, ("node_instance", "node_alarm", "alert", "inbox_item", "push_outbox"))
    t_bulk = time.perf_counter() - t0
    t0 = time.perf_counter()
    for definition in indexes:
        await sql(engine, definition)
    async with engine.pool.acquire() as conn:
        await conn.execute("VACUUM (FREEZE, ANALYZE)")
    due_now = sum(1 for a in alarms if a[2] <= now)
    facts = {"users": len(all_users), "reps": len(reps), "opportunities": n_opp, "open_instances": n_open,
             "alarms": len(alarms), "alarms_due": due_now, "devices": len(subs), "robots": len(hooks),
             "history_alerts": len(h_alert), "history_inbox": len(h_inbox), "history_pushes": len(h_push)}
    print(f"  loaded in {t_users:.1f} s (users, real create_user) + {t_bulk:.1f} s (rows made and COPYed) + "
          f"{time.perf_counter() - t0:.1f} s ({len(indexes)} indexes built, VACUUM ANALYZE): {facts}", flush=True)
    return facts


BULK_TABLES = ("customer", "opportunity", "node_instance", "node_alarm", "alert", "inbox_item", "push_outbox")
PREWARM = ("node_alarm", "node_alarm_due", "node_alarm_fired_tick", "node_alarm_key", "node_alarm_pkey",
           "node_instance", "node_instance_pkey", "alert", "alert_key_key", "inbox_item", "push_subscription",
           "push_subscription_user", "opportunity", "team_webhook")


# --------------------------------------------------------------------------- deadline job


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Cpu:
    """CPU seconds used by this process and by the PostgreSQL backends of a database: a figure the
    other engineers' load on the machine does not inflate the way it inflates wall time."""

    def __init__(self, engine, extra_pid: int | None = None):
        self.engine, self.extra_pid = engine, extra_pid

    async def __aenter__(self) -> "Cpu":
        rows = await sql(self.engine, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        self.pids = [r["pid"] for r in rows] + ([self.extra_pid] if self.extra_pid else [])
        self.start = (time.process_time(), sum(cpu_of(p) for p in self.pids))
        return self

    async def __aexit__(self, *exc) -> None:
        self.app = time.process_time() - self.start[0]
        self.others = sum(cpu_of(p) for p in self.pids) - self.start[1]


async def timed(engine, call):
    """(wall seconds, result, CPU seconds of this process + the database backends)."""
    async with Cpu(engine) as cpu:
        t = time.perf_counter()
        out = await call()
        wall = time.perf_counter() - t
    return wall, out, cpu.app + cpu.others


async def deadlines_once(url: str, tmp: Path, pb, now: datetime, args, rep: int) -> dict:
    """One repetition on a fresh copy of the template; returns seconds and counts per case."""
    settings = settings_for(url, tmp)
    engine = db.build_engine(settings)
    tz = settings.tz
    quiet = parse_quiet_hours(settings.quiet_hours)
    out: dict = {}
    async with db.lifespan_engine(engine):
        await sql(engine, "CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for rel in PREWARM:
            await sql(engine, "SELECT pg_prewarm($1)", rel)

        def fire(at):
            async def one_batch():  # (alerts, inbox items) of one batch, as the job's loop fires them
                alerts, inbox, _claimed = await alerting.fire_due_alarms(at, quiet_until(at, tz, quiet))
                return alerts, inbox
            return one_batch

        out["first"] = await timed(engine, fire(now))
        ticks = []
        while True:  # the rest of the backlog, one job tick at a time
            tick = await timed(engine, fire(now))
            if tick[1] == (0, 0):
                break
            ticks.append(tick)
        out["drain"] = (sum(t[0] for t in ticks), (sum(t[1][0] for t in ticks), sum(t[1][1] for t in ticks)),
                        sum(t[2] for t in ticks), len(ticks), max((t[0] for t in ticks), default=0.0))
        out["same"] = await timed(engine, fire(now))
        out["later"] = await timed(engine, fire(now + timedelta(minutes=1)))
        counted = await sql(engine, "SELECT (SELECT count(*) FROM alert) AS alerts, "
                                    "(SELECT count(*) FROM inbox_item) AS inbox, "
                                    "(SELECT count(*) FROM push_outbox WHERE status = 'pending') AS pushes_held, "
                                    "(SELECT count(*) FROM webhook_outbox) AS robot_items")
        out["rows"] = dict(counted[0])
        ids = [r["id"] for r in await sql(engine, "SELECT id FROM opportunity ORDER BY id")]
        picked = random.Random(rep).sample(ids, min(args.replan, len(ids)))
        for label in ("replan1", "replan2"):
            await sql(engine, "UPDATE opportunity SET facts_rev = facts_rev + 1 WHERE id = ANY($1::uuid[])", picked)
            out[label] = await timed(engine, lambda: replan(pb, tz, now + timedelta(minutes=2)))
        out["after"] = await timed(engine, fire(now + timedelta(minutes=2)))
    return out


async def replan(pb, tz, now: datetime) -> list[float]:
    """What deadlines.run does before it fires: re-plan every dirty opportunity; seconds of each."""
    per: list[float] = []
    while True:
        dirty = await alerting.dirty_opportunities(500)
        for opp_id in dirty:
            t = time.perf_counter()
            await alerting.sync_clocks(opp_id, pb, tz, now)
            per.append(time.perf_counter() - t)
        if len(dirty) < 500:
            return per


async def bench_deadlines(dbs: Databases, tmp: Path, args, rows: list[Row]) -> dict:
    pb = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    tag = uuid.uuid4().hex[:6]
    template = f"sg_bench_alerts_{tag}"
    print(f"deadlines: loading {template}", flush=True)
    url = await dbs.create(template)
    engine = db.build_engine(settings_for(url, tmp))
    await db.migrate(engine)
    async with db.lifespan_engine(engine):
        facts = await load_deadlines(engine, pb, args, now)
    runs = []
    for rep in range(args.repeats):
        name = f"{template}_r{rep + 1}"
        t = time.perf_counter()
        copy_url = await dbs.create(name, template=template)
        print(f"  repetition {rep + 1}: copy made in {time.perf_counter() - t:.1f} s", flush=True)
        res = await deadlines_once(copy_url, tmp, pb, now, args, rep)
        await dbs.drop(name)
        runs.append(res)
        d = res["drain"]
        print(f"    first tick {res['first'][0]:.2f} s {res['first'][1]}; backlog {d[3]} more ticks {d[0]:.2f} s "
              f"(slowest {d[4]:.2f} s) {d[1]}; same now {res['same'][0] * 1000:.0f} ms {res['same'][1]}; "
              f"+1 min {res['later'][0] * 1000:.0f} ms {res['later'][1]}; re-plan {res['replan1'][0]:.1f} s / "
              f"{res['replan2'][0]:.1f} s; tick after re-plan {res['after'][0]:.2f} s {res['after'][1]}", flush=True)
    await dbs.drop(template)

    def counts(c):
        return f"{c[0]:,} alerts / {c[1]:,} inbox"

    def per_item(cpu, c):  # an alarm fired is one inbox item; fixed costs dominate a few
        return f"{cpu / c[1] * 1e6:,.0f} µs CPU per alarm fired" if c[1] >= 1000 else ""

    def add(case, key):
        med, cpu = statistics.median(r[key][0] for r in runs), statistics.median(r[key][2] for r in runs)
        rows.append(Row(case, counts(runs[0][key][1]), [r[key][0] for r in runs], cpu=cpu,
                        goal=f"< {GOAL_TICK_S:g} s", met="yes" if med < GOAL_TICK_S else "NO",
                        note=per_item(cpu, runs[0][key][1])))

    add("fire_due_alarms: first tick (one 15,000-alarm batch)", "first")
    slowest = statistics.median(r["drain"][4] for r in runs)
    cpu = statistics.median(r["drain"][2] for r in runs)
    rows.append(Row("fire_due_alarms: rest of the backlog, tick by tick", counts(runs[0]["drain"][1]),
                    [r["drain"][0] for r in runs], cpu=cpu,
                    goal=f"each < {GOAL_TICK_S:g} s", met="yes" if slowest < GOAL_TICK_S else "NO",
                    note=f"{runs[0]['drain'][3]} ticks, the slowest {slowest:.2f} s (median over repetitions); "
                         + per_item(cpu, runs[0]["drain"][1])))
    add("fire_due_alarms: same now again (nothing new)", "same")
    add("fire_due_alarms: one minute later", "later")
    for key, case in (("replan1", "sync_clocks: first re-plan (stale clocks closed)"),
                      ("replan2", "sync_clocks: re-plan again (alarms rewritten)")):
        per = [x for r in runs for x in r[key][1]]
        n = max(1, len(runs[0][key][1]))
        rows.append(Row(case, f"{len(runs[0][key][1]):,} opportunities", [r[key][0] / n for r in runs],
                        unit="ms/opp", p50=pct(per, 0.5) * 1000, p95=pct(per, 0.95) * 1000,
                        cpu=statistics.median(r[key][2] for r in runs) / n))
    add("fire_due_alarms: the tick after the re-plan", "after")
    facts["rows_after_first_tick_and_backlog"] = runs[0]["rows"]
    return facts


# --------------------------------------------------------------------------- push fan-out


def receiver_child(n: int, decrypt_every: int, plain: bool) -> None:
    """Subprocess: the loopback push service; prints the subscriptions, answers 'stats' on stdin."""
    with SampledReceiver(decrypt_every, keep_alive=not plain) as receiver:
        subs = [receiver.device(f"d{i:05d}").subscription(receiver.base_url) for i in range(n)]
        print(READY + json.dumps({"base_url": receiver.base_url, "subscriptions": subs}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(STATS + json.dumps(receiver.stats()), flush=True)
            elif line.strip() == "quit":
                break


class SampledReceiver(push_receiver.PushReceiver):
    """The test receiver; verifies the VAPID JWT of every push and decrypts one in `every`
    (every one by default), checking the payload is a notification."""

    def __init__(self, every: int, keep_alive: bool = False):
        super().__init__()
        self.every = max(1, every)
        self.received = self.decrypted = 0
        if keep_alive:
            # Like a real push service: persistent connections (the test receiver answers HTTP/1.0 and
            # closes each), and a listen backlog of 128 (socketserver's 5 drops SYNs when the sender
            # opens its 32 connections at once; the kernel retries them after 1 s, 3 s, 7 s — stalls
            # of the receiver, not of the sender).
            self.server.RequestHandlerClass.protocol_version = "HTTP/1.1"
            self.server.socket.listen(128)

    def _handle(self, request) -> None:
        name = request.path.rsplit("/", 1)[-1]
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        device = self.devices.get(name)
        try:
            if device is None:
                raise KeyError(f"unknown device {name}")
            push_receiver.verify_vapid(request.headers["Authorization"], self.base_url)
            assert request.headers["Content-Encoding"] == "aes128gcm"
            with self.lock:
                self.received += 1
                check = self.received % self.every == 0
            if check:
                plain = push_receiver.http_ece.decrypt(body, private_key=device.key, auth_secret=device.auth,
                                                       version="aes128gcm")
                payload = json.loads(plain)
                assert payload["title"] and payload["url"].startswith("/"), payload
                with self.lock:
                    self.decrypted += 1
            status = 201
        except Exception as exc:  # noqa: BLE001 - counted, and answered like a push service would
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            status = 400
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def stats(self) -> dict:
        with self.lock:
            return {"received": self.received, "decrypted": self.decrypted, "errors": len(self.errors),
                    "first_errors": self.errors[:3]}


class ReceiverHandle:
    """The receiver in this process (threads) or in a subprocess; the same small interface."""

    def __init__(self, args, tmp: Path):
        self.proc, self.local = None, None
        n, every, keep = args.pushes, args.decrypt_every, not args.plain_receiver
        if args.receiver == "thread":
            self.local = SampledReceiver(every, keep_alive=keep)
            self.local.__enter__()
            self.base_url = self.local.base_url
            self.subscriptions = [self.local.device(f"d{i:05d}").subscription(self.base_url) for i in range(n)]
            return
        cmd = [sys.executable, str(Path(__file__).resolve()), "--receiver-child", str(n), "--decrypt-every",
               str(every)] + (["--plain-receiver"] if args.plain_receiver else [])
        with open(tmp / "receiver.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.startswith(READY):
            raise RuntimeError(f"the push receiver did not start: {line[:200]!r} (see receiver.log)")
        info = json.loads(line[len(READY):])
        self.base_url, self.subscriptions = info["base_url"], info["subscriptions"]

    def stats(self) -> dict:
        if self.local is not None:
            return self.local.stats()
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        return json.loads(line[len(STATS):])

    def close(self) -> None:
        if self.local is not None:
            self.local.__exit__(None, None, None)
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                self.proc.terminate()
                self.proc.wait(timeout=10)


async def load_push(engine, receiver: ReceiverHandle, now: datetime) -> list[tuple]:
    """One user, customer and open opportunity per device; returns (opp id, owner) pairs."""
    team = uuid.uuid4()
    await copy(engine, "team", ["id", "name"], [(team, "推送组")])
    users, customers, opps, subs = [], [], [], []
    for i, s in enumerate(receiver.subscriptions):
        uid, cid, oid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        users.append((uid, f"push{i:05d}", f"用户{i}", "x", ",rep,", team))
        customers.append((cid, f"苏州恒达精密机械有限公司{i}", uid, team, now, now))
        opps.append((oid, cid, f"二期产线改造项目{i}", uid, team, "signed", "pending_delivery_scheduling", "open",
                     "{}", now - timedelta(days=10), 1, 1, now, now))
        subs.append((uuid.uuid4(), uid, s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"],
                     "en" if i % 3 == 0 else "zh_CN", now))
    await copy(engine, "app_user", ["id", "username", "display_name", "password_hash", "roles", "team"], users)
    await copy(engine, "customer", ["id", "name", "owner", "team", "created_at", "updated_at"], customers)
    await copy(engine, "opportunity", ["id", "customer", "title", "owner", "team", "stage", "substate", "status",
                                       "fields", "stage_entered_at", "facts_rev", "clock_rev", "created_at",
                                       "updated_at"], opps)
    await copy(engine, "push_subscription", ["id", "user", "endpoint", "p256dh", "auth", "locale", "created_at"],
               subs)
    return [(o[0], o[3]) for o in opps]


async def make_alerts(engine, pairs: list[tuple], pb, now: datetime, rep: int) -> tuple[int, int]:
    """One overdue clock per opportunity, fired by the real fire_due_alarms: one push per device."""
    nodes = [n for s, n in pb.nodes if n.deadline is not None]
    start = (await sql(engine, "SELECT COALESCE(max(id), 0) AS m FROM node_instance"))[0]["m"]
    inst, alarms = [], []
    for k, (oid, owner) in enumerate(pairs):
        iid = start + k + 1
        node = nodes[k % len(nodes)]
        due = now - timedelta(hours=1 + rep)
        inst.append((iid, oid, node.key, "signed", due - timedelta(days=3), due, "open", False, now))
        alarms.append((iid, 0, due, owner, "owner", f"node:{iid}:0"))
    await copy(engine, "node_instance", ["id", "opportunity", "node_key", "stage", "anchor_at", "due_at", "status",
                                         "urgent", "created_at"], inst)
    await copy(engine, "node_alarm", ["instance", "level", "fire_at", "recipient", "relation", "alert_key"], alarms)
    await setvals(engine, ("node_instance",))
    return await alerting.fire_due_alarms(now, now)  # quiet hours off: every push due now


async def bench_push(dbs: Databases, tmp: Path, args, rows: list[Row]) -> None:
    from server import jobs
    from server.adapters.webpush import load_vapid
    from server.jobs import push as push_job

    pb = load_playbook(DEFAULT_PLAYBOOK)
    name = f"sg_bench_alerts_push_{uuid.uuid4().hex[:6]}"
    mode = args.receiver + (", as in the tests" if args.plain_receiver else ", keep-alive")
    print(f"push: {args.pushes} devices on the loopback receiver ({mode}), database {name}", flush=True)
    url = await dbs.create(name)
    settings = settings_for(url, tmp)
    engine = db.build_engine(settings)
    await db.migrate(engine)
    receiver = ReceiverHandle(args, tmp)
    deps = jobs.Deps(settings=settings, playbook=pb, vapid=load_vapid(None, settings.var_dir))
    results = []
    try:
        async with db.lifespan_engine(engine):
            now = datetime.now(timezone.utc)
            pairs = await load_push(engine, receiver, now)
            for rep in range(args.repeats + (1 if args.profile_push else 0)):
                made = await make_alerts(engine, pairs, pb, now, rep)
                before = receiver.stats()
                profiler = cProfile.Profile() if args.profile_push and rep == args.repeats else None
                async with Cpu(engine, receiver.proc.pid if receiver.proc else None) as cpu:
                    t = time.perf_counter()
                    if profiler:
                        profiler.enable()
                    summary = await push_job.run(now, deps)
                    if profiler:
                        profiler.disable()
                    seconds = time.perf_counter() - t
                after = receiver.stats()
                got, dec, errs = (after[k] - before[k] for k in ("received", "decrypted", "errors"))
                label = "profiled run" if profiler else f"repetition {rep + 1}"
                print(f"  {label}: {made} → {summary}; {seconds:.2f} s = {got / seconds:,.0f} msg/s received; "
                      f"decrypted {dec}, receiver errors {errs}; CPU {cpu.app:.2f} s in this process, "
                      f"{cpu.others:.2f} s in PostgreSQL{' and the receiver' if receiver.proc else ''}", flush=True)
                if after["first_errors"]:
                    print(f"    receiver errors: {after['first_errors']}", flush=True)
                if profiler:
                    for key in ("cumulative", "tottime"):
                        buf = io.StringIO()
                        pstats.Stats(profiler, stream=buf).sort_stats(key).print_stats(25)
                        print(buf.getvalue())
                else:
                    results.append((seconds, got, dec, errs, cpu.app + cpu.others))
    finally:
        receiver.close()
    await dbs.drop(name)
    rates = [got / s for s, got, *_ in results]
    errs = sum(r[3] for r in results)
    rows.append(Row(f"push fan-out: push.run, real PushSender → loopback receiver ({mode})",
                    f"{args.pushes:,} messages", rates, unit="msg/s",
                    cpu=statistics.median(r[4] for r in results), goal=f"≥ {GOAL_PUSH_PER_S:g} msg/s",
                    met="yes" if statistics.median(rates) >= GOAL_PUSH_PER_S and errs == 0 else "NO",
                    note=f"received {[r[1] for r in results]} of {args.pushes}, decrypted "
                         f"{sum(r[2] for r in results)} of {sum(r[1] for r in results)} "
                         f"(1 in {args.decrypt_every}), receiver errors {errs}"))


# --------------------------------------------------------------------------- baselines


def load_api_module():
    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "bench" / "api.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_api"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def bench_baselines(dbs: Databases, tmp: Path, args, rows: list[Row]) -> None:
    api = load_api_module()
    servers = api.Servers(tmp)
    try:
        proc, port = servers.start("hello", {}, "hello")
        results = []
        for _ in range(args.repeats):
            r = api.Result("hello", "-")
            await api.load(port, api.build_request("/", None, True), 16, 1.0, 3.0, r)
            results.append(r)
        servers.stop(proc)
    finally:
        servers.stop_all()
    rates = [r.rps for r in results]
    mid = sorted(results, key=lambda r: r.rps)[len(results) // 2]
    rows.append(Row("baseline: Litestar hello world, HTTP, 16 connections", f"{sum(r.requests for r in results):,} req",
                    rates, unit="req/s", p50=mid.pct(50), p95=mid.pct(95)))

    name = f"sg_bench_alerts_ping_{uuid.uuid4().hex[:6]}"
    url = await dbs.create(name)
    engine = db.build_engine(settings_for(url, tmp))
    from piccolo.querystring import QueryString

    async with db.lifespan_engine(engine):
        lat, rates = [], []
        for _ in range(args.repeats):
            t0, one = time.perf_counter(), []
            for _ in range(2000):
                t = time.perf_counter()
                await engine.run_querystring(QueryString("SELECT 1"))
                one.append(time.perf_counter() - t)
            rates.append(len(one) / (time.perf_counter() - t0))
            lat += one
    await dbs.drop(name)
    rows.append(Row("baseline: PostgreSQL SELECT 1 through the engine, sequential", f"{len(lat):,} queries", rates,
                    unit="q/s", p50=pct(lat, 0.5) * 1000, p95=pct(lat, 0.95) * 1000))


# --------------------------------------------------------------------------- report


def print_table(rows: list[Row], facts: dict, args) -> None:
    print()
    print(f"Salesgate alerts benchmark on PostgreSQL: each figure is the median of {args.repeats} repetitions. "
          "CPU = seconds of CPU used by this process and the database's PostgreSQL backends (and the receiver "
          "subprocess, if any), per run (per opportunity for re-planning): unlike wall time it does not grow "
          "with the other load on the machine.")
    print()
    print("| case | n | median | p50 ms | p95 ms | CPU | goal | met? |")
    print("|---|---|---:|---:|---:|---:|---|---|")
    for r in rows:
        med = r.median()
        value = {"s": f"{med:.3f} s", "ms/opp": f"{med * 1000:.1f} ms/opp"}.get(r.unit, f"{med:,.0f} {r.unit}")
        p50 = f"{r.p50:.2f}" if r.p50 is not None else "—"
        p95 = f"{r.p95:.2f}" if r.p95 is not None else "—"
        cpu = "—" if r.cpu is None else (f"{r.cpu * 1000:.1f} ms" if r.unit == "ms/opp" else f"{r.cpu:.2f} s")
        print(f"| {r.case} | {r.n} | {value} | {p50} | {p95} | {cpu} | {r.goal} | {r.met} |")
    print()
    for r in rows:
        each = ", ".join({"s": f"{v:.3f} s", "ms/opp": f"{v * 1000:.1f} ms"}.get(r.unit, f"{v:,.0f}")
                         for v in r.values)
        print(f"  {r.case}: runs {each}" + (f" — {r.note}" if r.note else ""))
    if facts:
        print(f"\nData: {facts}")
    end = os.getloadavg()
    print(f"Machine: {len(os.sched_getaffinity(0))} cores, Python {sys.version.split()[0]}; load average "
          f"(1/5/15 min) at start {LOAD_AT_START[0]:.2f}/{LOAD_AT_START[1]:.2f}/{LOAD_AT_START[2]:.2f}, "
          f"at end {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}")


async def main(args) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-alerts-"))
    dbs = Databases(args.pg_url)
    rows: list[Row] = []
    facts: dict = {}
    started = time.perf_counter()
    try:
        await bench_baselines(dbs, tmp, args, rows)
        if not args.skip_deadlines:
            facts = await bench_deadlines(dbs, tmp, args, rows)
        if not args.skip_push:
            await bench_push(dbs, tmp, args, rows)
        print_table(rows, facts, args)
        return 0
    finally:
        await dbs.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"total runtime {time.perf_counter() - started:.0f} s")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="an existing database on the (loopback) server where the bench databases are made")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--opportunities", type=int, default=20_000)
    p.add_argument("--instances", type=int, default=200_000)
    p.add_argument("--history", type=int, default=100_000, help="closed alerts already in the database")
    p.add_argument("--replan", type=int, default=1000, help="dirty opportunities to re-plan")
    p.add_argument("--pushes", type=int, default=1000)
    p.add_argument("--receiver", choices=("thread", "process"), default="thread",
                   help="the loopback push service in this process (default) or in a subprocess")
    p.add_argument("--plain-receiver", action="store_true",
                   help="the test receiver as it is: HTTP/1.0, a connection per push, listen backlog 5")
    p.add_argument("--decrypt-every", type=int, default=1, help="decrypt 1 push in N (the JWT is always checked)")
    p.add_argument("--profile-push", action="store_true", help="one extra push run under cProfile")
    p.add_argument("--skip-deadlines", action="store_true")
    p.add_argument("--skip-push", action="store_true")
    p.add_argument("--receiver-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from urllib.parse import urlsplit

    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        p.error("--pg-url: only a loopback PostgreSQL server is allowed")
    if not 1 <= args.repeats <= 20 or args.opportunities < 1 or args.instances < 1 or args.pushes < 1:
        p.error("--repeats 1..20; sizes must be positive")
    return args


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.receiver_child:
        receiver_child(ARGS.receiver_child, ARGS.decrypt_every, ARGS.plain_receiver)
        raise SystemExit(0)
    print(f"machine: {os.cpu_count()} cores, load average {LOAD_AT_START[0]:.2f}", flush=True)
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            raise SystemExit(runner.run(main(ARGS)))
    except KeyboardInterrupt:
        print("\ninterrupted; databases dropped", file=sys.stderr)
        raise SystemExit(130)
