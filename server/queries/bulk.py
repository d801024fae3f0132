"""Bulk loading of plain tuples, for the data generator and the benchmarks.

PostgreSQL: COPY through the engine's pool (secondary indexes can be dropped before a big load
and built again in one pass each). SQLite: executemany in one transaction per call, through a
plain sqlite3 connection to the same file (Piccolo's sqlite3 adapters are registered process-wide,
so UUIDs, timestamps, dates and Decimals are stored exactly as the ORM stores them).
"""

from __future__ import annotations

import sqlite3

from server.db import current_engine


def is_postgres() -> bool:
    return current_engine().engine_type == "postgres"


class BulkWriter:
    """`await writer.load(table, columns, rows)`; rows must reference rows loaded before (FK order)."""

    def __init__(self, sqlite_path: str | None = None):
        self.engine = current_engine()
        self.postgres = self.engine.engine_type == "postgres"
        self._conn: sqlite3.Connection | None = None
        if not self.postgres:
            import piccolo.engine.sqlite  # noqa: F401  (registers the adapters)

            self._conn = sqlite3.connect(sqlite_path or self.engine.connection_kwargs["database"], timeout=60)
            self._conn.execute("PRAGMA busy_timeout = 60000")
            self._conn.execute("PRAGMA synchronous = NORMAL")

    async def load(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.postgres:
            async with self.engine.pool.acquire() as conn:
                await conn.copy_records_to_table(table, records=rows, columns=columns)
            return
        marks = ", ".join("?" for _ in columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        with self._conn:  # one transaction
            self._conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)

    async def sql(self, statement: str, *args):
        if self.postgres:
            async with self.engine.pool.acquire() as conn:
                return await conn.fetch(statement, *args)
        with self._conn:
            return self._conn.execute(statement, args).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def pg_copy(engine, table: str, columns: list[str], records, *, triggers: bool = False) -> None:
    """COPY through the engine's pool; foreign-key triggers off unless `triggers` (rows consistent by
    construction; needs a superuser)."""
    async with engine.pool.acquire() as conn:
        if not triggers:
            await conn.execute("SET session_replication_role = replica")
        try:
            await conn.copy_records_to_table(table, records=records, columns=columns)
        finally:
            if not triggers:
                await conn.execute("SET session_replication_role = DEFAULT")


async def pg_sql(engine, statement: str, *args):
    async with engine.pool.acquire() as conn:
        return await conn.fetch(statement, *args)


async def pg_drop_indexes(engine, tables: tuple[str, ...]) -> list[str]:
    """Drop the secondary indexes of these tables (those behind no constraint) before a bulk load;
    returns their definitions, to build them again in one pass each afterwards."""
    rows = await pg_sql(engine, "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def "
                                "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                                "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
                                "WHERE t.relname = ANY($1::text[]) AND c.oid IS NULL", list(tables))
    for r in rows:
        await pg_sql(engine, f"DROP INDEX {r['name']}")
    return [r["def"] for r in rows]


async def pg_setvals(engine, tables: tuple[str, ...]) -> None:
    for t in tables:
        await pg_sql(engine, f"SELECT setval('{t}_id_seq', GREATEST((SELECT max(id) FROM {t}), 1))")
