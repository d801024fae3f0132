"""The organisation-scale data generator: ``salesgate demo generate --scale org --seed N``.

Builds a deterministic organisation: an admin, a director, per team a manager, reps and their
presales, delivery, commercial and legal colleagues; customers with a key contact; open
opportunities over every open stage of the playbook (and won and lost ones) with their stage
transitions; activities over the last three years, the customers' and deals' last contact
consistent with them; attachments for the materials of the deals' current stages as small real
PDF/PNG objects in the object store (they pass the app's byte checks); presales/delivery
collaborators and their contributions; the reps' daily check-ins.

Node clocks are not written by hand: every open opportunity is left "facts changed, clocks not
planned" (``clock_rev`` 0) and, unless ``plan=False``, the deadline job's own re-planning
(``alerting.sync_clocks``) then plans them, so the clocks and alarms are exactly what the app
plans from the playbook; with ``plan=False`` the deadline job plans them at its next tick.

Same seed and same ``now`` → the same rows (ids included): every value comes from one seeded
``random.Random``; only the password hashes (salted), the node clocks' serial ids and the ids and
wall-clock times of the collaborators the planner enlists for role-based nodes differ.
Bulk writes: COPY on PostgreSQL (secondary indexes dropped and built again), executemany in
big transactions on SQLite.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import random
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from server.domain.access import roles_to_db
from server.domain.playbook import Playbook
from server.queries.bulk import BulkWriter, pg_drop_indexes, pg_sql

DEMO_PASSWORD = "salesgate-demo"
DAY = timedelta(days=1)
COLLEAGUES = ("presales", "delivery", "commercial", "legal")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华国红梅志海燕晓东文博涵宇航雅琴欣浩然轩思远嘉怡俊"
CITIES = ["上海", "杭州", "苏州", "宁波", "南京", "无锡", "深圳", "广州", "东莞", "佛山", "厦门", "合肥", "成都", "武汉"]
WORDS = ["华创", "恒信", "中科", "瑞丰", "金桥", "鼎盛", "博远", "新元", "宏达", "天成", "立信", "海纳", "汇通", "安捷"]
TRADES = ["智能装备", "自动化", "精密机械", "电气", "物流科技", "医疗器械", "新材料", "汽车零部件", "仓储系统"]
TITLES = ["采购经理", "技术总监", "设备部主管", "总经理", "项目经理", "工程师", "采购专员", "生产副总"]
PREFIXES = ["138", "139", "136", "137", "150", "151", "152", "158", "159", "186", "187", "188", "135", "177"]
KINDS = ["call", "call", "visit", "meeting", "message", "note"]
NOTES = ["确认需求", "发送报价", "约下周拜访", "技术交流", "催合同", "电话跟进", None]
PRODUCTS = ["伺服驱动器", "PLC 控制器", "工业相机", "AGV 小车", "立体货架", "输送线", "机械臂", "变频器"]


@dataclass(frozen=True)
class Scale:
    teams: int
    reps_per_team: int
    customers: int
    open: int
    closed: int
    activities: int
    years: float = 3.0
    checkin_days: int = 20  # the reps' check-ins over the last N working days

    def describe(self) -> str:
        return (f"{self.teams} teams × {self.reps_per_team} reps, {self.customers:,} customers, {self.open:,} open + "
                f"{self.closed:,} closed opportunities, {self.activities:,} activities over {self.years:g} years")


SCALES = {
    "org": Scale(teams=20, reps_per_team=10, customers=60_000, open=20_000, closed=10_000, activities=1_500_000),
    "small": Scale(teams=2, reps_per_team=3, customers=300, open=100, closed=40, activities=2_000, checkin_days=5),
}


def scale_with(name: str, **overrides) -> Scale:
    """A preset with numeric overrides (None leaves the preset's value)."""
    return replace(SCALES[name], **{k: v for k, v in overrides.items() if v is not None})


# --------------------------------------------------------------------------- real little files

def pdf_bytes(title: str) -> bytes:
    """A small, complete one-page PDF (header, objects, xref, trailer, %%EOF)."""
    text = title.encode("ascii", "replace")[:60].replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 12 Tf 40 100 Td (" + text + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes(seed: int, size: int = 16) -> bytes:
    """A small valid RGB PNG (a colour from `seed`)."""
    r, g, b = (seed * 97) % 256, (seed * 57) % 256, (seed * 31) % 256

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes((r, g, b)) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --------------------------------------------------------------------------- the generator

class Generator:
    def __init__(self, pb: Playbook, scale: Scale, seed: int, now: datetime, progress: Callable[[str], None]):
        self.pb, self.scale, self.now, self.say = pb, scale, now.astimezone(timezone.utc), progress
        self.rng = random.Random(seed)
        self.started = time.perf_counter()
        self.counts: dict[str, int] = {}

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def ago(self, days: float) -> datetime:
        return self.now - days * DAY

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))

    def phone(self) -> str:
        return "+86" + self.rng.choice(PREFIXES) + "".join(self.rng.choice("0123456789") for _ in range(8))

    def note(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def step(self, text: str) -> None:
        self.say(f"[{time.perf_counter() - self.started:6.1f} s] {text}")

    # ----------------------------------------------------------------- people

    def people(self, password_hash: str) -> tuple[list[tuple], list[tuple], dict]:
        """(team rows, user rows, facts): admin, director, per team a manager, reps and colleagues."""
        created = self.ago(3 * 365 + 30)
        users, teams = [], []
        info: dict = {"reps": [], "team_of": {}, "colleagues": {}, "logins": {}}

        def user(username, display, roles, team, manager):
            uid = self.uid()
            users.append((uid, username, display, password_hash, roles_to_db(roles), team, manager, self.phone(),
                          "zh_CN", True, False, created))
            info["team_of"][uid] = team
            return uid
        admin = user("admin", "系统管理员", ("admin",), None, None)
        hq = self.uid()
        director = user("director", self.name(), ("manager",), hq, None)
        teams.append((hq, "总部", director, created))
        info["logins"] = {"admin": admin, "director": director}
        for t in range(self.scale.teams):
            tid = self.uid()
            mgr = user(f"mgr{t:02d}", self.name(), ("manager", "rep"), tid, director)
            teams.append((tid, f"销售{t + 1:02d}组", mgr, created))
            for k in range(self.scale.reps_per_team):
                info["reps"].append(user(f"rep{t:02d}{k}", self.name(), ("rep",), tid, mgr))
            for role in COLLEAGUES:
                info["colleagues"][(tid, role)] = user(f"{role}{t:02d}", self.name(), (role,), tid, mgr)
        return teams, users, info

    # ----------------------------------------------------------------- customers and activities

    def customers(self, info) -> tuple[list[tuple], list[tuple], list]:
        """(customer rows, contact rows, per customer (id, owner, team, created, last contact or None))."""
        years = self.scale.years * 365
        rows, contacts, facts = [], [], []
        reps = info["reps"]
        for i in range(self.scale.customers):
            owner = reps[i % len(reps)]
            team = info["team_of"][owner]
            created = self.ago(self.rng.uniform(20, years))
            roll = self.rng.random()
            # most customers contacted within the week, a third silent beyond it, a few never contacted
            last = None if roll < 0.04 else self.ago(self.rng.uniform(0, 6.5) if roll < 0.66 else
                                                     self.rng.uniform(8, 90))
            if last is not None and last < created:
                created = last - self.rng.uniform(1, 30) * DAY
            cid = self.uid()
            company = (self.rng.choice(CITIES) + self.rng.choice(WORDS) + self.rng.choice(TRADES)
                       + self.rng.choice(["有限公司", "股份有限公司", "科技有限公司"]))
            rows.append((cid, self.name(), self.phone(), company, self.rng.choice(TITLES), owner, team,
                         self.rng.choice(["展会", "转介绍", "官网", "老客户"]), last, created, created))
            contacts.append((self.uid(), cid, self.name(), self.phone(), self.rng.choice(TITLES), True, created))
            facts.append((cid, owner, team, created, last))
        return rows, contacts, facts

    def activities(self, facts):
        """Activities in chunks of 100,000: each customer's spread from its creation to its last contact
        (which is the last customer-facing one); a never-contacted customer has internal notes only."""
        total, n = self.scale.activities, len(facts)
        chunk: list[tuple] = []
        for i, (cid, owner, _team, created, last) in enumerate(facts):
            m = total // n + (1 if i < total % n else 0)
            end = last or self.now
            span = max((end - created).total_seconds(), 60.0)
            for k in range(m):
                if last is not None and k == m - 1:
                    at, kind = last, "call"
                else:
                    at = created + timedelta(seconds=self.rng.uniform(0, span))
                    kind = self.rng.choice(KINDS) if last is not None else "note"
                if last is not None and kind != "note" and at > last:
                    at = last
                chunk.append((self.uid(), cid, owner, kind, kind != "note", self.rng.choice(NOTES), at, at))
                if len(chunk) == 100_000:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    # ----------------------------------------------------------------- opportunities

    def opportunities(self, facts, info) -> dict:
        pb, rng = self.pb, self.rng
        open_stages = [s for s in pb.stages if s.terminal is None]
        won = next(s.key for s in pb.stages if s.terminal == "won")
        lost = next(s.key for s in pb.stages if s.terminal == "lost")
        kinds = [k.key for k in pb.contribution_kinds] or ["support"]
        out = {k: [] for k in ("opps", "transitions", "attachments", "objects", "collab", "contrib")}
        weights = [max(1, len(open_stages) - i) for i in range(len(open_stages))]  # more deals early on
        for i in range(self.scale.open + self.scale.closed):
            cid, owner, team, c_created, last = facts[rng.randrange(len(facts))]
            closed = i >= self.scale.open
            oid = self.uid()
            created = max(c_created, self.ago(rng.uniform(3, min(self.scale.years * 365, 400))))
            if closed:
                outcome = won if rng.random() < 0.55 else lost
                depth = len(open_stages) if outcome == won else rng.randrange(1, len(open_stages) + 1)
                path = [s.key for s in open_stages[:depth]] + [outcome]
                status = "won" if outcome == won else "lost"
            else:
                stage = rng.choices(open_stages, weights=weights)[0]
                path = [s.key for s in open_stages[:open_stages.index(stage) + 1]]
                status = "open"
            entered = created + (self.now - created) * rng.uniform(0.2, 0.97)
            current = pb.stage(path[-1])
            substate = rng.choice(current.substates) if current and current.substates else None
            fields = {"decision_maker": self.name()}
            if len(path) > 3:
                fields["quoted_price"] = rng.randrange(50_000, 3_000_000, 1000)
            if any(p in ("signed", "delivery_kickoff", won) for p in path):
                fields["contract_no"] = f"HT-{entered.year}-{rng.randint(1000, 9999)}"
            contact = last if last is not None and last >= created else None
            amount = Decimal(rng.randrange(20_000, 3_000_000, 1000))
            out["opps"].append((oid, cid, f"{rng.choice(PRODUCTS)} 采购项目", amount, owner, team, path[-1], substate,
                                status, _json(fields), "价格不占优" if status == "lost" else None, entered, contact,
                                pb.version, created, entered, 1, 1 if closed else 0))
            step = (entered - created) / max(len(path) - 1, 1)
            prev = None
            for k, to in enumerate(path):
                at = created + step * k if k < len(path) - 1 else entered
                out["transitions"].append((self.uid(), oid, owner, prev, to, substate if k == len(path) - 1 else None,
                                           at))
                prev = to
            # the materials of the deal's current stage (open: each present with 60 %; won: all of the last stage)
            materials = [m for node in (current.nodes if current else []) for m in node.materials]
            if status == "won":
                materials = [m for node in open_stages[-1].nodes for m in node.materials]
            for m in materials:
                if status == "open" and rng.random() >= 0.6:
                    continue
                aid = self.uid()
                as_png = "png" in m.types and ("pdf" not in m.types or rng.random() < 0.3)
                body = png_bytes(aid.int % 100_000) if as_png else pdf_bytes(f"{m.key} {oid}")
                ext, ctype = ("png", "image/png") if as_png else ("pdf", "application/pdf")
                key = f"opportunities/{oid}/{aid}.{ext}"
                at = entered + (self.now - entered) * rng.uniform(0, 0.5)
                out["attachments"].append((aid, oid, m.key, f"{m.key}.{ext}", ctype, len(body),
                                           hashlib.sha256(body).hexdigest(), key, "present", owner, at, at))
                out["objects"].append((key, body, ctype))
            if rng.random() < 0.25:  # a presales (and later a delivery) colleague works on it
                roles = ["presales"] + (["delivery"] if len(path) >= len(open_stages) - 1 else [])
                for role in roles:
                    colleague = info["colleagues"][(team, role)]
                    out["collab"].append((self.uid(), oid, colleague, role, created))
                    at = created + (entered - created) * rng.uniform(0.1, 1.0)
                    out["contrib"].append((self.uid(), oid, colleague, role, rng.choice(kinds),
                                           rng.choice(["客户现场演示", "POC 环境搭建", "技术方案评审", "合同条款审核"]),
                                           path[-1], None, at))
        return out

    def checkins(self, info, tz) -> list[tuple]:
        rows, day = [], self.now.astimezone(tz).date()
        days: list[date] = []
        while len(days) < self.scale.checkin_days:
            day -= DAY
            if day.weekday() < 5:
                days.append(day)
        for rep in info["reps"]:
            for d in days:
                if self.rng.random() < 0.15:
                    continue
                at = datetime.combine(d, datetime.min.time(), tz).replace(hour=18).astimezone(timezone.utc)
                rows.append((self.uid(), rep, d, _json([f"拜访{self.name()}", "更新报价"]),
                             _json([f"{self.rng.choice(PRODUCTS)} 合同"]), "[]", "[]", at, at))
        return rows


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --------------------------------------------------------------------------- orchestration

BIG_TABLES = ("customer", "contact", "opportunity", "stage_transition", "activity", "attachment",
              "opportunity_collaborator", "contribution")
USER_COLUMNS = ["id", "username", "display_name", "password_hash", "roles", "team", "manager", "phone", "locale",
                "active", "must_change_password", "created_at"]


async def has_data() -> bool:
    from server.tables import Customer, User

    return await User.exists().run() or await Customer.exists().run()


async def generate(*, settings, pb: Playbook, scale: Scale, seed: int, now: datetime, storage,
                   plan: bool = True, progress: Callable[[str], None] = print) -> dict:
    """Fill an empty database (and the object store); returns counts and the demo logins."""
    from server.queries import users

    gen = Generator(pb, scale, seed, now, progress)
    writer = BulkWriter(settings.sqlite_path if settings.is_sqlite else None)
    indexes: list[str] = []
    try:
        gen.step(f"generating {scale.describe()} (seed {seed}, now {gen.now.isoformat()}) on "
                 f"{'PostgreSQL' if writer.postgres else 'SQLite'}")
        if writer.postgres:
            indexes = await pg_drop_indexes(writer.engine, BIG_TABLES)
        password_hash = users.hash_password(DEMO_PASSWORD)
        teams, people, info = gen.people(password_hash)
        await writer.load("team", ["id", "name", "manager_id", "created_at"], teams)  # manager_id: no foreign key
        await writer.load("app_user", USER_COLUMNS, people)
        gen.note("users", len(people))
        gen.note("teams", len(teams))
        gen.step(f"{len(people)} users in {len(teams)} teams")

        customers, contacts, facts = gen.customers(info)
        for start in range(0, len(customers), 100_000):
            await writer.load("customer", ["id", "name", "phone", "company", "title", "owner", "team", "source",
                                           "last_contact_at", "created_at", "updated_at"],
                              customers[start:start + 100_000])
        await writer.load("contact", ["id", "customer", "name", "phone", "title", "is_key", "created_at"], contacts)
        gen.note("customers", len(customers))
        gen.note("contacts", len(contacts))
        gen.step(f"{len(customers):,} customers with their key contacts")

        deals = gen.opportunities(facts, info)
        await writer.load("opportunity", ["id", "customer", "title", "amount", "owner", "team", "stage", "substate",
                                          "status", "fields", "lost_reason", "stage_entered_at", "last_contact_at",
                                          "playbook_version", "created_at", "updated_at", "facts_rev", "clock_rev"],
                          deals["opps"])
        await writer.load("stage_transition", ["id", "opportunity", "user", "from_stage", "to_stage", "to_substate",
                                               "at"], deals["transitions"])
        await writer.load("attachment", ["id", "opportunity", "material", "filename", "content_type", "size",
                                         "sha256", "object_key", "status", "uploaded_by", "created_at", "checked_at"],
                          deals["attachments"])
        await writer.load("opportunity_collaborator", ["id", "opportunity", "user", "role", "created_at"],
                          deals["collab"])
        await writer.load("contribution", ["id", "opportunity", "user", "role", "kind", "note", "stage",
                                           "attachment", "created_at"], deals["contrib"])
        for key in ("opps", "transitions", "attachments", "collab", "contrib"):
            gen.note(key, len(deals[key]))
        gen.step(f"{len(deals['opps']):,} opportunities ({scale.open:,} open), {len(deals['transitions']):,} stage "
                 f"transitions, {len(deals['attachments']):,} attachments, {len(deals['contrib']):,} contributions")

        done = 0
        for chunk in gen.activities(facts):
            await writer.load("activity", ["id", "customer", "user", "kind", "customer_facing", "note", "occurred_at",
                                           "created_at"], chunk)
            done += len(chunk)
            gen.step(f"activities {done:,} / {scale.activities:,}")
        gen.note("activities", done)

        checkins = gen.checkins(info, settings.tz)
        await writer.load("checkin", ["id", "user", "day", "done", "tomorrow", "support", "attachments",
                                      "created_at", "updated_at"], checkins)
        gen.note("checkins", len(checkins))
        gen.step(f"{len(checkins):,} check-ins")

        if writer.postgres:
            for definition in indexes:
                await pg_sql(writer.engine, definition)
            indexes = []
            await pg_sql(writer.engine, "ANALYZE")
            gen.step("indexes built, ANALYZE done")
        else:
            await writer.sql("ANALYZE")
    finally:
        if indexes:  # a failure half-way: build the indexes again all the same
            for definition in indexes:
                await pg_sql(writer.engine, definition)
        writer.close()

    await upload(storage, deals["objects"], gen)
    if plan:
        await plan_clocks(pb, settings.tz, gen, workers=1 if settings.is_sqlite else PLAN_WORKERS)
    gen.step("done")
    return {"counts": gen.counts, "logins": ["admin", "director", "mgr00", "rep000", "presales00", "delivery00"],
            "seconds": time.perf_counter() - gen.started}


PLAN_WORKERS = 4  # PostgreSQL: opportunities planned side by side (sync_clocks is safe in parallel)


async def plan_clocks(pb: Playbook, tz, gen: Generator, workers: int) -> None:
    """The deadline job's own re-planning over every opportunity whose clocks lag behind its facts."""
    import asyncio

    from server.queries import alerting

    planned, batch = 0, 500 * workers

    async def plan(ids):
        for opp_id in ids:
            await alerting.sync_clocks(opp_id, pb, tz, gen.now)
    while True:
        ids = await alerting.dirty_opportunities(batch)
        await asyncio.gather(*(plan(ids[k::workers]) for k in range(workers)))
        planned += len(ids)
        if ids:
            gen.step(f"node clocks planned for {planned:,} / {gen.scale.open:,} open opportunities")
        if len(ids) < batch:
            break
    gen.note("planned", planned)


async def upload(storage, objects: list[tuple[str, bytes, str]], gen: Generator) -> None:
    """Put the attachments' bytes into the object store (16 threads)."""
    if storage is None or not objects:
        return
    await storage.ensure_bucket()
    client, bucket = storage.client, storage.bucket

    def put(item):
        key, body, ctype = item
        client.put_object(bucket_name=bucket, object_name=key, data=io.BytesIO(body), length=len(body),
                          content_type=ctype)
    import anyio

    def run_all():
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            for n, _ in enumerate(pool.map(put, objects), 1):
                if n % 10_000 == 0:
                    gen.step(f"objects stored {n:,} / {len(objects):,}")
    await anyio.to_thread.run_sync(run_all)
    gen.note("objects", len(objects))
    gen.step(f"{len(objects):,} attachment objects stored in bucket {bucket}")


async def digest() -> str:
    """A digest of the generated rows (password hashes and node clocks left out), to compare two runs."""
    from server.db import current_engine
    from piccolo.querystring import QueryString

    h = hashlib.sha256()
    for table, columns in (("team", "id, name, manager_id, created_at"),
                           ("app_user", "id, username, display_name, roles, team, manager, phone, created_at"),
                           ("customer", "*"), ("contact", "*"), ("opportunity", "*"), ("stage_transition", "*"),
                           ("attachment", "*"), ("contribution", "*"),
                           ("activity", "*"), ("checkin", "*")):
        rows = await current_engine().run_querystring(QueryString(f"SELECT {columns} FROM {table} ORDER BY id"))
        _update(h, table, rows)
    # the planner adds collaborators for role-based nodes (random ids, wall-clock created_at): compare who they are
    rows = await current_engine().run_querystring(QueryString(
        'SELECT opportunity, "user", role FROM opportunity_collaborator ORDER BY opportunity, "user", role'))
    _update(h, "opportunity_collaborator", rows)
    return h.hexdigest()


def _update(h, table: str, rows) -> None:
    h.update(table.encode())
    for row in rows:
        h.update(repr(sorted((k, str(v)) for k, v in row.items())).encode())
