"""One mapping from exceptions to the API's error shape.

``{"status_code", "detail", "code", "extra"}``; ``detail`` is a sentence a
person understands; ``code`` is a stable machine word. Never a stack trace.
Pages (non-API paths) get a redirect to the login page instead of a 401.
"""

from __future__ import annotations

import logging
from typing import Any

from asyncpg.exceptions import CharacterNotInRepertoireError, UntranslatableCharacterError

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.adapters.storage import StorageUnavailable

log = logging.getLogger("salesgate")


class ApiError(Exception):
    def __init__(self, status_code: int, code: str, detail: str, extra: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}


def not_found(what: str = "record") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}, or you may not see it.")


def error_body(status: int, code: str, detail: str, extra: dict | None = None) -> dict[str, Any]:
    return {"status_code": status, "detail": detail, "code": code, "extra": extra or {}}


def _response(status: int, code: str, detail: str, extra: dict | None = None,
              headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, code, detail, extra), status_code=status, headers=headers)


_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}

_SENTENCES = {
    401: "Please log in first.",
    404: "No such page or record, or you may not see it.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
}


def _validation_detail(exc: ValidationException) -> tuple[str, dict]:
    extra = exc.extra
    # A parameter whose name Python or Litestar reserves (from, scope) is declared as from_, scope_ and
    # read under an alias: name it as the client sent it.
    items = [{**i, "key": i["key"].rstrip("_")} if isinstance(i, dict) and isinstance(i.get("key"), str)
             and i["key"].endswith("_") else i for i in (extra if isinstance(extra, list) else [])]
    messages = []
    for item in items[:5]:
        if isinstance(item, dict):
            msg = str(item.get("message", "")).strip()
            key = item.get("key")
            if key and key not in msg and msg:
                msg = f"{msg} (field {key})"
            if msg:
                messages.append(msg)
    text = str(exc.detail or "")
    if "utf-8" in text.lower() or "decode" in text.lower() and not messages:
        return "The request body is not valid UTF-8 JSON.", {}
    if messages:
        return "The request is not valid: " + "; ".join(messages) + ".", {"errors": items[:20]}
    return "The request is not valid: " + (text or "malformed body") + ".", {}


def handle_api_error(request: Request, exc: ApiError) -> Response:
    return _response(exc.status_code, exc.code, exc.detail, exc.extra, exc.headers)


def handle_validation(request: Request, exc: ValidationException) -> Response:
    detail, extra = _validation_detail(exc)
    return _response(400, "validation_error", detail, extra)


def handle_http(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) and not _is_api(request):
        return Redirect(f"/login?next={request.url.path}", status_code=303)
    code = _CODES.get(status, "error")
    detail = _SENTENCES.get(status) or str(exc.detail or "") or "The request failed."
    if status == 413 and detail == str(exc.detail):
        detail = _SENTENCES[413]
    if not detail.endswith((".", "?", "!")):
        detail += "."
    return _response(status, code, detail, None, getattr(exc, "headers", None))


def handle_storage(request: Request, exc: StorageUnavailable) -> Response:
    log.warning("object storage unavailable: %s", exc)
    return _response(503, "storage_unavailable",
                     "File storage is not reachable right now; please try again in a minute.",
                     None, {"Retry-After": "30"})


def handle_bad_encoding(request: Request, exc: UnicodeDecodeError) -> Response:
    return _response(400, "invalid_encoding", "The request body is not valid UTF-8.")


def handle_bad_text(request: Request, exc: Exception) -> Response:
    """PostgreSQL refuses NUL (\\u0000) in text. Bodies are checked before (``schemas.refuse_nul``); this
    catches what else carries text to the database: a query parameter, a form field, a file name."""
    return _response(422, "invalid_text", "Text may not contain NUL (\\u0000) characters.")


def _database_unreachable(exc: BaseException) -> bool:
    """A lost or refused database connection (PostgreSQL restarted, a connection killed, SQLite locked):
    the request may be retried in a moment; the pool replaces dead connections by itself."""
    import sqlite3

    import asyncpg

    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                            asyncpg.exceptions.OperatorInterventionError, ConnectionError)):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _text_refused_by_database(exc: BaseException) -> bool:
    """PostgreSQL refuses a NUL character (U+0000) in text; SQLite stores it. Either way it is bad input."""
    import asyncpg

    return isinstance(exc, (asyncpg.exceptions.CharacterNotInRepertoireError,
                            asyncpg.exceptions.UntranslatableCharacterError))


def handle_500(request: Request, exc: Exception) -> Response:
    if _text_refused_by_database(exc):
        return _response(422, "invalid_text", "A text field contains a character that cannot be stored "
                         "(the NUL character); remove it and send again.")
    if _database_unreachable(exc):
        log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path,
                    type(exc).__name__, exc)
        return _response(503, "database_unavailable",
                         "The database is not reachable right now; please try again in a moment.",
                         None, {"Retry-After": "5"})
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error",
                     "Something went wrong on our side; it has been logged.")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    ValidationException: handle_validation,
    StorageUnavailable: handle_storage,
    UnicodeDecodeError: handle_bad_encoding,
    CharacterNotInRepertoireError: handle_bad_text,
    UntranslatableCharacterError: handle_bad_text,
    HTTPException: handle_http,
    Exception: handle_500,
}
