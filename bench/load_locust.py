"""The locust side of ``bench/load.py``: a working day of reps and managers (not run on its own).

Environment (set by bench/load.py):
  LOAD_HOSTS      comma-separated base URLs of the app processes; users are spread over them in turn
  LOAD_REPS       comma-separated rep usernames (user i logs in as the i-th, wrapping around)
  LOAD_MANAGERS   comma-separated manager usernames
  LOAD_PASSWORD   their password (the generator's demo password)
  LOAD_REP_USERS / LOAD_MANAGER_USERS   how many of each to run
  LOAD_THINK      "min,max" think time in seconds between two actions of one user
  LOAD_SAMPLES    file to write every request's (time, name, ms, ok, status) to at the end

Every user logs in with a cookie session (as the PWA does: the session cookie, the CSRF header on
POST), then repeats weighted tasks with think time. Writes carry an Idempotency-Key. Requests to the
object store itself (the presigned PUT) are named ``S3 PUT (weed, direct)`` so that bench/load.py can
keep them apart from the app's numbers.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, events, task

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.generator import pdf_bytes  # noqa: E402  (real small PDFs that pass the app's byte check)

HOSTS = itertools.cycle(os.environ.get("LOAD_HOSTS", "http://127.0.0.1:8000").split(","))
REPS = os.environ.get("LOAD_REPS", "rep000").split(",")
MANAGERS = os.environ.get("LOAD_MANAGERS", "mgr00").split(",")
PASSWORD = os.environ.get("LOAD_PASSWORD", "salesgate-demo")
THINK = tuple(float(x) for x in os.environ.get("LOAD_THINK", "3,12").split(","))
SAMPLES_FILE = os.environ.get("LOAD_SAMPLES")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑"
KINDS = ["call", "call", "visit", "meeting", "message", "note"]
S3_NAME = "S3 PUT (weed, direct)"

_samples: list[tuple[float, str, float, bool, int, str]] = []
_counters = {"rep": itertools.count(), "manager": itertools.count()}
_pdf_materials: list[str] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, **kw):
    status = getattr(response, "status_code", 0) or 0
    error = "" if exception is None else f"{type(exception).__name__}: {exception}"[:200]
    _samples.append((time.time(), name, float(response_time), exception is None, int(status), error))


@events.quitting.add_listener
def _dump(environment, **kw):
    if SAMPLES_FILE:
        Path(SAMPLES_FILE).write_text(json.dumps(_samples))


def _badge(rng: random.Random) -> str:
    name = rng.choice(SURNAMES) + rng.choice("伟芳娜敏静丽强磊军洋勇艳杰")
    phone = rng.choice(["138", "139", "150", "186"]) + "".join(rng.choice("0123456789") for _ in range(8))
    company = rng.choice(["华创", "恒信", "中科", "瑞丰"]) + rng.choice(["智能装备", "自动化", "电气"]) + "有限公司"
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"N:{name[0]};{name[1:]};;;", f"ORG:{company}",
                        "TITLE:采购经理", f"TEL;TYPE=CELL:{phone}", "END:VCARD"])


class _Worker(HttpUser):
    abstract = True
    wait_time = between(*THINK)
    kind = "rep"
    logins: list[str] = REPS

    def __init__(self, environment):
        self.host = next(HOSTS)  # before HttpUser builds its client: users alternate between the app processes
        super().__init__(environment)
        self.rng = random.Random()
        self.csrf = ""
        self.opps: list[str] = []
        self.customers: list[str] = []

    # -------------------------------------------------------------- helpers
    def post(self, url, name, **kw):
        headers = {"x-csrf-token": self.csrf, "Idempotency-Key": str(uuid.uuid4()), **kw.pop("headers", {})}
        return self.client.post(url, name=name, headers=headers, **kw)

    def get(self, url, name, **kw):
        return self.client.get(url, name=name, **kw)

    def on_start(self):
        n = next(_counters[self.kind])
        username = self.logins[n % len(self.logins)]
        r = self.client.post("/api/v1/auth/login", name="login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        self.csrf = r.json().get("csrf_token") or self.client.cookies.get("sg_csrf", "")
        if not _pdf_materials:
            pb = self.get("/api/v1/playbook", "GET /api/v1/playbook").json()
            for stage in pb["stages"]:
                for node in stage["nodes"]:
                    _pdf_materials.extend(m["key"] for m in node.get("materials", []) if "pdf" in m.get("types", []))
        self.refresh()

    def refresh(self):
        page = self.get("/api/v1/opportunities", "GET /api/v1/opportunities")  # the first page, as the list
        items = page.json().get("items", [])
        self.opps = [o["id"] for o in items] or self.opps
        self.customers = list(dict.fromkeys(o["customer_id"] for o in items)) or self.customers
        if not self.customers:
            items = self.get("/api/v1/customers", "GET /api/v1/customers").json().get("items", [])
            self.customers = [c["id"] for c in items]

    def opp(self):
        return self.rng.choice(self.opps) if self.opps else None

    def customer(self):
        return self.rng.choice(self.customers) if self.customers else None

    # -------------------------------------------------------------- shared tasks
    def opportunity_json(self):
        if (o := self.opp()):
            self.get(f"/api/v1/opportunities/{o}", "GET /api/v1/opportunities/{id}")

    def opportunity_page(self):
        if (o := self.opp()):
            self.get(f"/opportunities/{o}", "GET /opportunities/{id} (page)")

    def inbox(self):
        self.get("/api/v1/inbox", "GET /api/v1/inbox")
        self.get("/api/v1/inbox/unread", "GET /api/v1/inbox/unread")


class Rep(_Worker):
    """A rep's day: the workbench, opportunities, calls logged, badges scanned, files uploaded."""

    fixed_count = int(os.environ.get("LOAD_REP_USERS", "200"))
    kind = "rep"
    logins = REPS

    @task(10)
    def workbench(self):
        self.get("/api/v1/workbench/silent?scope=me", "GET /api/v1/workbench/silent?scope=me")

    @task(3)
    def workbench_page(self):
        self.get("/workbench", "GET /workbench (page)")

    @task(10)
    def opportunity(self):
        self.opportunity_json()

    @task(6)
    def opportunity_html(self):
        self.opportunity_page()

    @task(3)
    def opportunities(self):
        self.refresh()

    @task(6)
    def customer_search(self):
        self.get(f"/api/v1/customers?q={self.rng.choice(SURNAMES)}", "GET /api/v1/customers?q=")

    @task(4)
    def customer_detail(self):
        if (c := self.customer()):
            self.get(f"/api/v1/customers/{c}", "GET /api/v1/customers/{id}")

    @task(8)
    def log_activity(self):
        if (c := self.customer()):
            body = {"customer_id": c, "kind": self.rng.choice(KINDS), "note": "负载测试：电话跟进"}
            self.post("/api/v1/activities", "POST /api/v1/activities", json=body)

    @task(3)
    def scan_badge(self):
        body = {"payload": _badge(self.rng), "event": "CIIF 2026", "note": "展会扫码"}
        self.post("/api/v1/leads/scan", "POST /api/v1/leads/scan", json=body)

    @task(4)
    def inbox_check(self):
        self.inbox()

    @task(1)
    def upload_direct(self):
        o = self.opp()
        if not o or not _pdf_materials:
            return
        data = pdf_bytes(f"load {uuid.uuid4()}")
        r = self.post(f"/api/v1/opportunities/{o}/attachments/presign", "POST .../attachments/presign",
                      json={"material": self.rng.choice(_pdf_materials), "filename": "报价单.pdf", "size": len(data)})
        if not r.ok:
            return
        out = r.json()
        put = self.client.put(out["url"], data=data, name=S3_NAME)
        if put.ok:
            self.post(f"/api/v1/attachments/{out['attachment_id']}/confirm", "POST /api/v1/attachments/{id}/confirm")

    @task(1)
    def upload_multipart(self):
        o = self.opp()
        if not o or not _pdf_materials:
            return
        data = pdf_bytes(f"load {uuid.uuid4()}")
        self.post(f"/api/v1/opportunities/{o}/attachments", "POST .../attachments (multipart)",
                  data={"material": self.rng.choice(_pdf_materials)},
                  files={"file": ("合同.pdf", data, "application/pdf")})


class Manager(_Worker):
    """A manager's day: the team's workbench and health, the board, the team's deals, the inbox."""

    fixed_count = int(os.environ.get("LOAD_MANAGER_USERS", "20"))
    kind = "manager"
    logins = MANAGERS
    board = True

    @task(6)
    def team_workbench(self):
        self.get("/api/v1/workbench/silent?scope=team", "GET /api/v1/workbench/silent?scope=team")

    @task(2)
    def workbench_page(self):
        self.get("/workbench?scope=team", "GET /workbench (page)")

    @task(4)
    def phi(self):
        self.get("/api/v1/phi?scope=team", "GET /api/v1/phi?scope=team")

    @task(1)
    def phi_opportunities(self):
        self.get("/api/v1/phi/opportunities?scope=team&metric=silent_rate",
                 "GET /api/v1/phi/opportunities?scope=team&metric=")

    @task(3)
    def the_board(self):
        if not Manager.board:
            return
        with self.client.get("/api/v1/board", name="GET /api/v1/board", catch_response=True) as r:
            if r.status_code == 404:
                Manager.board = False  # not built in this branch: skip it from now on
                r.success()

    @task(4)
    def opportunity(self):
        self.opportunity_json()

    @task(2)
    def opportunity_html(self):
        self.opportunity_page()

    @task(2)
    def opportunities(self):
        self.refresh()

    @task(2)
    def inbox_check(self):
        self.inbox()
