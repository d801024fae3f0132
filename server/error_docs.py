"""The error answers each API operation can give, declared in the OpenAPI document.

Litestar documents only a handler's success status and its own 400 (without our ``code``). Every
``/api/`` answer in the error shape of ``server/errors.py`` comes from one of a few places that apply
to whole classes of operations (authentication, CSRF, scope checks, body parsing, the body limit,
Idempotency-Key) or from a handful of specific ones (uploads, storage, rate limits). Declaring them here,
in one table, keeps the route modules as they are and the schema truthful: a client generated from
it, or schemathesis, sees every status the server may send and the body that comes with it.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from litestar import Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from server.schemas import ErrorOut

_WHY = {
    400: "The request is malformed: a parameter or the body does not parse or breaks a constraint.",
    401: "Not logged in, or the token or session is no longer valid.",
    403: "The caller's role may not do this, the CSRF header is missing, or the password must be changed first.",
    404: "No such record, or the caller may not see it.",
    409: "The record changed meanwhile, a gate blocks the move, the name is taken, "
         "or a request with the same Idempotency-Key is still running.",
    413: "The body or file is larger than the limit.",
    415: "The body or file is not of an accepted type.",
    422: "The request parses but cannot be carried out (an unknown reference, a rule it breaks, "
         "an Idempotency-Key reused with another body).",
    429: "Too many failed attempts; see Retry-After.",
    503: "File storage or the database is not reachable right now; see Retry-After.",
}

_EVERY = (400, 401, 403, 404, 422, 503)  # 503: the database went away (errors.handle_500)
_WITH_BODY = (409, 413)  # POST, PUT, PATCH: the body limit, Idempotency-Key in flight, concurrent edits
_SPECIFIC: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/auth/login"): (429,),
    ("POST", "/api/v1/auth/tokens"): (429,),
    ("POST", "/api/v1/me/password"): (429,),
    ("POST", "/api/v1/opportunities/{opp_id}/attachments"): (415, 503),
    ("POST", "/api/v1/opportunities/{opp_id}/attachments/presign"): (503,),
    ("POST", "/api/v1/attachments/{attachment_id}/confirm"): (415, 503),
    ("GET", "/api/v1/attachments/{attachment_id}/download"): (503,),
    ("POST", "/api/v1/evidence"): (415, 503),
    ("GET", "/api/v1/admin/playbook/drafts/{draft_id}"): (409,),  # a published version is no draft
    ("GET", "/api/v1/admin/playbook/drafts/{draft_id}/review"): (409,),
    ("DELETE", "/api/v1/admin/playbook/drafts/{draft_id}"): (409,),
}


def _plain(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _statuses(method: str, path: str) -> set[int]:
    codes = set(_EVERY)
    if method in ("POST", "PUT", "PATCH"):
        codes.update(_WITH_BODY)
    codes.update(_SPECIFIC.get((method, path), ()))
    return codes


def _handlers(items: Iterable[Any]) -> Iterable[tuple[HTTPRouteHandler, str]]:
    """(handler, full path) pairs; a Router's handlers know only their path inside the router."""
    for item in items:
        if isinstance(item, Router):
            for route in item.routes:
                for handler in getattr(route, "route_handlers", ()):
                    if isinstance(handler, HTTPRouteHandler):
                        yield handler, route.path
        elif isinstance(item, HTTPRouteHandler):
            yield from ((item, path) for path in item.paths)


def document_errors(route_handlers: Iterable[Any]) -> None:
    """Add the error answers to every ``/api/`` handler's ``responses`` (idempotent; a handler's own
    declaration of a status wins)."""
    for handler, path in _handlers(route_handlers):
        if not path.startswith("/api/"):
            continue
        declared = dict(handler.responses or {})
        for method in handler.http_methods:
            for status in sorted(_statuses(method, _plain(path))):
                declared.setdefault(status, ResponseSpec(data_container=ErrorOut, description=_WHY[status],
                                                         generate_examples=False))
        handler.responses = declared
