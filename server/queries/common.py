"""Helpers shared by the query modules."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone

from server.errors import ApiError, not_found


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_id(value: str | None, what: str = "record") -> uuid.UUID:
    """An id from a URL or body; a malformed one is simply not found."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise not_found(what) from None


def sid(value) -> str | None:
    return None if value is None else str(value)


def encode_cursor(*parts) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list:
    try:
        pad = "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(cursor + pad))
        if not isinstance(parts, list) or len(parts) != size:
            raise ValueError
        return parts
    except (ValueError, TypeError):
        raise ApiError(400, "invalid_cursor", "The page cursor is not valid; start from the first page.") from None


def contains_ci(column, pattern: str):
    """Case-insensitive LIKE: ILIKE on PostgreSQL; SQLite's LIKE already ignores ASCII case."""
    if column._meta.table._meta.db.engine_type == "sqlite":
        return column.like(pattern)
    return column.ilike(pattern)
