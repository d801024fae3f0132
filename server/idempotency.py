"""Idempotency-Key on POST: the first answer is stored; a repeat gets it again.

Same key and same body → the stored status and body, and nothing changes.
Same key and another body → 422 ``idempotency_key_reused``. While the first
request still runs, a repeat gets 409 ``idempotency_in_progress``. A 5xx
answer is not stored, so the client may retry with the same key.
Keys are per user (or per anonymous caller) and kept for 8 days.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_body, log
from server.queries.common import utcnow
from server.tables import IdempotencyKey

KEEP = timedelta(days=8)
_ENCODED = "\x01encoded:"
MAX_STORED_BODY = 256 * 1024


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _send_json(send: Send, status: int, body: dict, headers: list | None = None) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())] + (headers or [])})
    await send({"type": "http.response.body", "body": data})


class IdempotencyMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        key = _header(scope, b"idempotency-key")
        if scope["method"] != "POST" or key is None:
            await next_app(scope, receive, send)
            return
        key = key.strip()
        if not 1 <= len(key) <= 128:
            await _send_json(send, 400, error_body(400, "invalid_idempotency_key",
                                                   "The Idempotency-Key header must be 1-128 characters."))
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        digest = hashlib.sha256(scope["path"].encode() + b"\0" + scope.get("query_string", b"") + b"\0" + body).hexdigest()
        user = scope.get("user")
        scope_key = f"{getattr(user, 'id', 'anon')}:{key}"

        if not await self._claim(scope_key, scope, digest):
            await self._answer_existing(send, scope_key, digest)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        captured: dict = {"status": 500, "headers": [], "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await next_app(scope, replay, capture)
        except BaseException:
            await IdempotencyKey.delete().where(IdempotencyKey.scope_key == scope_key).run()
            raise
        try:
            await self._store(scope_key, captured)
        except Exception:  # the answer was sent; never leave the key stuck "in progress"
            log.exception("could not store the answer for an idempotency key")
            await IdempotencyKey.delete().where(IdempotencyKey.scope_key == scope_key).run()

    async def _claim(self, scope_key: str, scope: Scope, digest: str) -> bool:
        now = utcnow()
        await IdempotencyKey.delete().where(
            (IdempotencyKey.scope_key == scope_key) & (IdempotencyKey.expires_at < now)).run()
        try:
            await IdempotencyKey.insert(IdempotencyKey(
                scope_key=scope_key, method=scope["method"], path=scope["path"][:500], body_hash=digest,
                created_at=now, expires_at=now + KEEP)).run()
            return True
        except Exception as exc:  # unique violation: someone holds the key already
            if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                raise
            return False

    async def _answer_existing(self, send: Send, scope_key: str, digest: str) -> None:
        row = await IdempotencyKey.select().where(IdempotencyKey.scope_key == scope_key).first().run()
        if row is None:  # the first request failed and released the key just now
            await _send_json(send, 409, error_body(409, "idempotency_in_progress",
                                                   "Please retry this request."), [(b"retry-after", b"1")])
        elif row["body_hash"] != digest:
            await _send_json(send, 422, error_body(
                422, "idempotency_key_reused",
                "This Idempotency-Key was already used for a different request."))
        elif row["status_code"] is None:
            await _send_json(send, 409, error_body(
                409, "idempotency_in_progress",
                "The first request with this Idempotency-Key is still running; retry shortly."),
                [(b"retry-after", b"1")])
        else:
            stored = row["response_body"] or ""
            headers = [(b"content-type", (row["content_type"] or "application/json").encode()),
                       (b"idempotent-replayed", b"true")]
            if stored.startswith(_ENCODED):
                encoding, _, payload = stored[len(_ENCODED):].partition(":")
                data = base64.b64decode(payload)
                headers += [(b"content-encoding", encoding.encode()), (b"vary", b"Accept-Encoding")]
            else:
                data = stored.encode()
            headers.append((b"content-length", str(len(data)).encode()))
            await send({"type": "http.response.start", "status": row["status_code"], "headers": headers})
            await send({"type": "http.response.body", "body": data})

    async def _store(self, scope_key: str, captured: dict) -> None:
        status = captured["status"]
        body = b"".join(captured["body"])
        content_type = next((v.decode("latin-1") for k, v in captured["headers"]
                             if k.lower() == b"content-type"), "application/json")
        encoding = next((v.decode("latin-1") for k, v in captured["headers"] if k.lower() == b"content-encoding"), None)
        no_store = any(k.lower() == b"cache-control" and b"no-store" in v.lower() for k, v in captured["headers"])
        if status >= 500 or status in (408, 429) or len(body) > MAX_STORED_BODY or no_store:
            # Not a final answer: let the client retry with the same key. An answer marked no-store
            # holds a secret shown once (a temporary password) and is not kept in the database.
            await IdempotencyKey.delete().where(IdempotencyKey.scope_key == scope_key).run()
            return
        await IdempotencyKey.update({
            IdempotencyKey.status_code: status,
            # A compressed answer is kept byte for byte (base64), marked with its encoding.
            IdempotencyKey.response_body: (f"{_ENCODED}{encoding}:" + base64.b64encode(body).decode()) if encoding
            else body.decode("utf-8", "replace"),
            IdempotencyKey.content_type: content_type,
        }).where(IdempotencyKey.scope_key == scope_key).run()
