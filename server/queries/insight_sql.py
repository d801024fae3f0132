"""SQL pieces shared by the workbench and the PHI queries: the same on SQLite and PostgreSQL.

Access filters come from ``server.queries.scope`` as Piccolo where-clauses and are embedded
here as SQL fragments, so every set-based query still goes through that one place.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from piccolo.querystring import QueryString

from server.db import current_engine
from server.domain.playbook import Playbook
from server.domain.silence import cutoffs

TRUE = QueryString("1 = 1")


def is_postgres() -> bool:
    return current_engine().engine_type == "postgres"


def where_sql(where) -> QueryString:
    """A Piccolo where-clause (or None: everything) as a SQL fragment over the unaliased table."""
    return TRUE if where is None else where.querystring


def days_between(later: str, earlier: str) -> str:
    """SQL for (later - earlier) in days, as a real number."""
    if is_postgres():
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def days_since(now: datetime, basis: str) -> QueryString:
    """SQL for (now - basis) in days, as a real number (`basis` a timestamp column expression)."""
    if is_postgres():
        return QueryString(f"(EXTRACT(EPOCH FROM (CAST({{}} AS TIMESTAMPTZ) - {basis})) / 86400.0)", utc(now))
    return QueryString(f"(julianday({{}}) - julianday({basis}))", utc(now))


def real(expr: str) -> str:
    """`expr` as a double-precision number (PostgreSQL would otherwise keep NUMERIC)."""
    return f"CAST({expr} AS {'DOUBLE PRECISION' if is_postgres() else 'REAL'})"


def round2(expr: str) -> str:
    """`expr` (a real number) rounded to two decimals, as Python's round(x, 2)."""
    if is_postgres():
        return f"ROUND(CAST({expr} AS NUMERIC), 2)"
    return f"ROUND({expr}, 2)"


def probe_each() -> QueryString:
    """Appended inside a NOT EXISTS (…) over an indexed column: PostgreSQL then probes the index once per
    outer row instead of hashing the whole inner table (OFFSET keeps the sub-query from being pulled up into
    an anti-join: 20,000 open deals hashed for a team's 1,000 customers took 25 of the query's 45 ms).
    SQLite probes the index anyway."""
    return QueryString(" OFFSET 0" if is_postgres() else "")


def placeholders(values) -> str:
    return ", ".join("{}" for _ in values)


def silent_condition(pb: Playbook, now: datetime, basis: str) -> QueryString:
    """SQL true when an open opportunity (columns of ``opportunity``) is silent beyond its stage's threshold.

    One comparison per stage with its own threshold, then the default: each compares a timestamp
    with a bound timestamp, so PostgreSQL types the parameters and the indexes stay usable.
    """
    per_stage, default_cut = cutoffs(pb, now)
    parts, args = [], []
    for stage, cut in per_stage.items():
        parts.append(f"(opportunity.stage = {{}} AND {basis} < {{}})")
        args += [stage, utc(cut)]
    if per_stage:
        parts.append(f"(opportunity.stage NOT IN ({placeholders(per_stage)}) AND {basis} < {{}})")
        args += [*per_stage, utc(default_cut)]
    else:
        parts.append(f"{basis} < {{}}")
        args.append(utc(default_cut))
    return QueryString("(" + " OR ".join(parts) + ")", *args)


async def fetch(template: str, *args) -> list[dict]:
    """Run a read (it must start with SELECT: SQLite then uses its shared reader connection)."""
    return await current_engine().run_querystring(QueryString(template, *args))


def utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def as_datetime(value) -> datetime | None:
    """A timestamp from a raw query: SQLite may hand back text for computed columns."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def as_date(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


def as_float(value) -> float | None:
    return None if value is None else float(value)
