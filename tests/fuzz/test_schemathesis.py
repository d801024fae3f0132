"""API fuzzing: schemathesis generates requests for every operation that `/schema/openapi.json` lists and
sends them, as a rep and as an admin, to the real app (real database, real weed S3) over real HTTP.

Every response must be a non-5xx, carry a status code the schema declares, and match the schema
declared for that status. Every other example takes its ids (in the path, the query, a JSON body) from
seeded records, and a few operations get a known-good request first, so that the handlers get past
"not found" and into their real work.

Deterministic for CI: hypothesis is derandomized, with no example database and a bounded number of
examples per operation. All failures are collected and reported together (one per operation, role,
check and status), each with a curl command to reproduce it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import threading
import time
from datetime import date, timedelta
from typing import Any, Iterator

import requests
import schemathesis
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis.errors import Unsatisfiable
from hypothesis import HealthCheck, Phase, given, settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.integration.helpers import PASSWORD, make_org

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Examples per operation and role. SALESGATE_FUZZ_DEPTH=10 runs ten times as many (a longer local hunt).
DEPTH = int(os.environ.get("SALESGATE_FUZZ_DEPTH", "1"))
EXAMPLES = {GenerationMode.POSITIVE: 6 * DEPTH, GenerationMode.NEGATIVE: 3 * DEPTH}

# A valid request or two for operations whose bodies random data rarely gets right, sent before the
# generated ones ({customer_id}, {who}, {until}, {p256dh} are filled in), so their success paths are checked too.
KNOWN_GOOD = {
    ("POST", "/api/v1/auth/tokens"): [{"username": "{who}", "password": PASSWORD, "name": "fuzz"}],
    ("POST", "/api/v1/opportunities/{opp_id}/transition"): [{"to": "needs_analysis"}],
    ("POST", "/api/v1/opportunities/{opp_id}/attachments/presign"): [
        {"material": "requirements_summary", "filename": "需求.pdf", "size": 2048}],
    ("POST", "/api/v1/opportunities/{opp_id}/contributions"): [{"kind": "tech_demo", "note": "现场演示"}],
    ("POST", "/api/v1/leads/parse"): [{"payload": "MECARD:N:张三;TEL:13812345679;EMAIL:zs@example.com;;"}],
    ("POST", "/api/v1/leads/scan"): [{"payload": "MECARD:N:李四;TEL:13812345670;;", "event": "展会"},
                                     {"payload": "MECARD:N:李四;TEL:13812345670;;", "event": "展会"}],
    ("POST", "/api/v1/templates/{key}/entries"): [{"values": {"name": "王五", "phone": "13812345671"}}],
    ("POST", "/api/v1/workbench/snoozes"): [{"customer_id": "{customer_id}", "reason": "客户出差", "until": "{until}"}],
    ("POST", "/api/v1/push/subscriptions"): [
        {"endpoint": "http://127.0.0.1:9/push/fuzz-{who}", "keys": {"p256dh": "{p256dh}", "auth": "A" * 22}}],
}

# A browser's push key (any P-256 point will do; nothing listens on that port).
P256DH = base64.urlsafe_b64encode(ec.derive_private_key(7, ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)).rstrip(b"=").decode()

# (method, path) not fuzzed, and why. None at the moment: logout with a bearer token revokes nothing (it
# ends cookie sessions only), /me/password needs the current password, and user ids never include the
# admin's own, so no operation cuts the caller off; the 302 download is not followed; exports stream.
SKIP: dict[tuple[str, str], str] = {}


@contextlib.contextmanager
def serve(app) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """Run the app under uvicorn in a thread with its own event loop (its database pool lives there)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", loop
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()
        sock.close()


def _ok(resp: requests.Response, status: int = 201) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


def seed(base: str, loop: asyncio.AbstractEventLoop) -> tuple[Any, dict[str, list[str]]]:
    """A team with a manager, reps, an admin; customers, opportunities, an attachment, an inbox item."""
    org = asyncio.run_coroutine_threadsafe(make_org(), loop).result(60)
    http = requests.Session()
    rep = org.auth("rep_a1")
    customers, opps = [], []
    for who in ("rep_a1", "rep_a2", "rep_b1"):
        c = _ok(http.post(f"{base}/api/v1/customers", headers=org.auth(who),
                          json={"name": f"客户 {who}", "phone": "13812345678" if who == "rep_a1" else None,
                                "contacts": [{"name": "王经理", "title": "采购"}]}))
        customers.append(c["id"])
        o = _ok(http.post(f"{base}/api/v1/opportunities", headers=org.auth(who),
                          json={"customer_id": c["id"], "title": f"项目 {who}", "amount": 120000}))
        opps.append(o["id"])
        _ok(http.post(f"{base}/api/v1/activities", headers=org.auth(who),
                      json={"customer_id": c["id"], "opportunity_id": o["id"], "kind": "call", "note": "首次联系"}))
    attachment = _ok(http.post(f"{base}/api/v1/opportunities/{opps[0]}/attachments", headers=rep,
                               data={"material": "requirements_summary"},
                               files={"file": ("需求.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n",
                                               "application/pdf")}))
    _ok(http.post(f"{base}/api/v1/opportunities/{opps[0]}/contributions", headers=rep,
                  json={"kind": "tech_demo", "note": "技术演示"}), 201)
    teams = _ok(http.get(f"{base}/api/v1/admin/teams", headers=org.auth("admin")), 200)
    team_ids = [t["id"] for t in (teams["items"] if isinstance(teams, dict) else teams)]
    inbox = _ok(http.get(f"{base}/api/v1/inbox", headers=org.auth("mgr_a")), 200)
    ids = {
        "customer_id": customers, "opp_id": opps, "opportunity_id": opps,
        "attachment_id": [attachment["id"]], "item_id": [i["id"] for i in inbox["items"]] or ["none"],
        "team_id": team_ids,
        # Never the admin's own id: disabling the caller would turn the rest of the run into 401s.
        "user_id": [org.ids[u] for u in ("rep_a1", "rep_a2", "mgr_a", "rep_b1")],
        "owner_id": [org.ids["rep_a1"], org.ids["rep_b1"]], "manager_id": [org.ids["mgr_a"]],
        "key": ["trade_show", "repeat_order"],
        "filename": ["silent.csv", "lost-review.xlsx", "phi.csv"],
    }
    return org, ids


def _with_real_ids(case, ids: dict[str, list[str]], n: int) -> None:
    """Every other example, swap the generated ids for seeded ones (in the path, the query or a JSON body),
    taking them in turn; the first of each list is one the rep may see."""
    if n % 2:
        return
    for container in (case.path_parameters, case.query, case.body):
        if isinstance(container, dict):
            for name in sorted(set(container) & set(ids)):
                container[name] = ids[name][(n // 2) % len(ids[name])]


def _known_good(operation, ids: dict[str, list[str]], who: str) -> list:
    """The requests of KNOWN_GOOD for this operation, with the first seeded id in each path parameter."""
    fill = {"{customer_id}": ids["customer_id"][0], "{who}": who,
            "{until}": (date.today() + timedelta(days=3)).isoformat(), "{p256dh}": P256DH}

    def filled(value):
        if isinstance(value, dict):
            return {k: filled(v) for k, v in value.items()}
        if isinstance(value, str):
            for placeholder, real in fill.items():
                value = value.replace(placeholder, real)
        return value

    path = {p.name: ids[p.name][0] for p in operation.path_parameters if p.name in ids}
    return [operation.Case(path_parameters=path, body=filled(body), media_type="application/json")
            for body in KNOWN_GOOD.get((operation.method.upper(), operation.path), [])]


def fuzz_operation(operation, *, base: str, who: str, auth: dict[str, str], ids, http,
                   failures: dict[str, str]) -> list[int]:
    statuses: list[int] = []

    def send(case) -> None:
        response = case.call(base_url=base, session=http, headers=auth, allow_redirects=False, timeout=30)
        statuses.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as exc:  # schemathesis's FailureGroup. Collected, not raised: hypothesis
            # would shrink it, re-sending hundreds of requests, and stop at the first operation.
            checks = ", ".join(sorted({getattr(e, "title", type(e).__name__) for e in exc.exceptions}))
            key = f"{operation.label} [{who}] {response.status_code}: {checks}"
            failures.setdefault(key, f"{key}\n{exc}")

    for case in _known_good(operation, ids, who):
        send(case)
    for mode, count in EXAMPLES.items():
        @hsettings(max_examples=count, derandomize=True, database=None, deadline=None,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            _with_real_ids(case, ids, len(statuses))
            send(case)
        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body): negative mode has no cases
            assert mode is GenerationMode.NEGATIVE
    return statuses


def test_every_operation_survives_fuzzing_as_rep_and_admin(app):
    with serve(app) as (base, loop):
        org, ids = seed(base, loop)
        schema = schemathesis.openapi.from_dict(requests.get(f"{base}/schema/openapi.json", timeout=30).json())
        operations = [result.ok() for result in schema.get_all_operations()]
        failures: dict[str, str] = {}
        http = requests.Session()
        seen: dict[str, list[int]] = {}
        for who in ("rep_a1", "admin"):
            for operation in operations:
                if (operation.method.upper(), operation.path) in SKIP:
                    continue
                seen[f"{operation.label} [{who}]"] = fuzz_operation(
                    operation, base=base, who=who, auth=org.auth(who), ids=ids, http=http, failures=failures)
    print("\n".join(f"{label}: {sorted(set(codes))}" for label, codes in seen.items()))
    assert len(operations) > 50
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures.values())
    assert sum(map(len, seen.values())) > len(seen) * 4
    # The seeded ids get the admin's requests past "not found": most operations answer 2xx/3xx at least once.
    admin = [label for label in seen if label.endswith("[admin]")]
    reached = [label for label in admin if any(200 <= c < 400 for c in seen[label])]
    assert len(reached) > len(admin) * 0.75, sorted(set(admin) - set(reached))
