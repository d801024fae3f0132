"""Database engines: SQLite (embedded, default) and PostgreSQL (production).

SQLite allows one writer at a time. Piccolo opens a connection per query, so
we serialise writes inside the process with an asyncio lock, use IMMEDIATE
transactions for read-then-write, turn on WAL once, and give every
connection a busy timeout for writers in other processes (the job worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from server.settings import Settings, load_settings

_READ_TYPES = {"select", "count", "exists", "objects", "table_exists"}


class _LoopLock:
    """One asyncio.Lock per event loop (tests run several loops in one process)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(id(loop))
        if lock is None:
            lock = self._locks[id(loop)] = asyncio.Lock()
        return lock


class SerialTransaction(SQLiteTransaction):
    """A transaction that holds the process-wide write lock while it is open."""

    __slots__ = ("_held",)

    async def begin(self):
        lock = self.engine.write_lock.get()
        await lock.acquire()
        self._held = lock
        try:
            await self.connection.execute(f"BEGIN {self.transaction_type.value}")
        except BaseException:
            lock.release()
            raise

    async def __aexit__(self, exc_type, exc, tb):
        if self._parent is not None:
            return await super().__aexit__(exc_type, exc, tb)
        try:
            return await super().__aexit__(exc_type, exc, tb)
        finally:
            held = getattr(self, "_held", None)
            if held is not None:
                self._held = None
                held.release()


class SerialSQLiteEngine(SQLiteEngine):
    """Writes serialised in the process; reads share one long-lived connection per event loop
    (Piccolo would open a connection, and a thread, for every query)."""

    __slots__ = ("write_lock", "_readers", "_reader_locks")

    def __init__(self, path: str, **kwargs):
        super().__init__(path=path, timeout=30, **kwargs)
        self.write_lock = _LoopLock()
        self._reader_locks = _LoopLock()
        self._readers: dict[int, aiosqlite.Connection] = {}

    async def _reader(self) -> aiosqlite.Connection:
        key = id(asyncio.get_running_loop())
        conn = self._readers.get(key)
        if conn is None:
            async with self._reader_locks.get():
                conn = self._readers.get(key)
                if conn is None:
                    pending = aiosqlite.connect(**self.connection_kwargs)
                    # A reader left open (a loop that ended without closing it) must not keep the
                    # process alive at exit.
                    pending._thread.daemon = True
                    conn = await pending
                    conn.row_factory = dict_factory  # type: ignore[assignment]
                    await conn.execute("PRAGMA foreign_keys = 1")
                    self._readers[key] = conn
        return conn

    async def close_readers(self) -> None:
        conn = self._readers.pop(id(asyncio.get_running_loop()), None)
        if conn is not None:
            await conn.close()

    def transaction(self, transaction_type=TransactionType.immediate, allow_nested=True):
        return SerialTransaction(self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def run_querystring(self, querystring, in_pool: bool = False):
        if self.current_transaction.get() is not None:
            return await super().run_querystring(querystring, in_pool=in_pool)
        if _is_read(querystring):
            query, args = querystring.compile_string(engine_type=self.engine_type)
            conn = await self._reader()
            async with conn.execute(query, args) as cursor:
                return await cursor.fetchall()
        async with self.write_lock.get():
            return await super().run_querystring(querystring, in_pool=in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = False):
        if self.current_transaction.get() is not None:
            return await super().run_ddl(ddl, in_pool=in_pool)
        async with self.write_lock.get():
            return await super().run_ddl(ddl, in_pool=in_pool)


def _is_read(querystring) -> bool:
    """Piccolo labels most SELECTs "generic", so look at the statement itself."""
    kind = getattr(querystring, "query_type", "generic")
    if kind in _READ_TYPES:
        return True
    if kind in ("generic", "raw"):
        head = str(querystring.template).lstrip()[:6].upper()
        return head.startswith("SELECT") or (kind == "raw" and head.startswith("WITH"))
    return False


def build_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        return SerialSQLiteEngine(path=path)
    parsed = urlparse(settings.database_url)
    config = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "database": parsed.path.lstrip("/"),
    }
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return PostgresEngine(config=config)


_current: Engine | None = None


def configure(engine: Engine) -> None:
    """Point every table and Piccolo's migration machinery at this engine."""
    global _current
    from server.tables import ALL_TABLES

    from piccolo.apps.migrations.tables import Migration

    _current = engine
    os.environ["PICCOLO_CONF"] = "server.piccolo_conf"
    # Piccolo caches a table's engine on first use; its own Migration table too.
    for table in (*ALL_TABLES, Migration):
        table._meta.db = engine


def current_engine() -> Engine:
    if _current is None:
        raise RuntimeError("database engine not configured")
    return _current


def current_engine_or_env() -> Engine:
    """For Piccolo's CLI only (developers generating migrations)."""
    if _current is None:
        configure(build_engine(load_settings(os.environ)))
    return current_engine()


def write_transaction() -> contextlib.AbstractAsyncContextManager:
    """A transaction for read-then-write work: IMMEDIATE and serialised on SQLite."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        return _ReleasingTransaction(engine)
    return engine.transaction()


class _ReleasingTransaction:
    """Piccolo's PostgreSQL transaction, made to give its connection back when the connection dies.

    Piccolo releases the pooled connection and resets its context variable only after a successful
    COMMIT or ROLLBACK. When the server kills the connection (a restart, pg_terminate_backend) the
    ROLLBACK raises, so the connection never returned to the pool, and the task kept a transaction
    pointing at it: after max_size such losses every request waited for a connection forever."""

    def __init__(self, engine: PostgresEngine):
        self.inner = engine.transaction()
        self.engine = engine

    async def __aenter__(self):
        try:
            return await self.inner.__aenter__()
        except BaseException:
            await self._discard()
            raise

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        try:
            return await self.inner.__aexit__(exc_type, exc, tb)
        except BaseException:
            await self._discard()
            raise

    async def _discard(self) -> None:
        inner = self.inner
        if getattr(inner, "_parent", None) is not None:
            return
        context = getattr(inner, "context", None)
        if context is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                self.engine.current_transaction.reset(context)
            inner.context = None
        connection = getattr(inner, "connection", None)
        if connection is None:
            return
        inner.connection = None
        connection.terminate()  # it may be mid-transaction: never hand it to the next request as it is
        if self.engine.pool is not None:
            with contextlib.suppress(Exception):
                await self.engine.pool.release(connection)


async def open_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, SerialSQLiteEngine):
        await engine.close_readers()


async def migrate(engine: Engine) -> None:
    """Apply Piccolo migrations, then the engine-specific extras (triggers)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    configure(engine)
    try:
        result = await run_forwards(app_name="salesgate", migration_id="all", fake=False)
    finally:
        if isinstance(engine, SerialSQLiteEngine):
            await engine.close_readers()
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


@contextlib.asynccontextmanager
async def lifespan_engine(engine: Engine) -> AsyncIterator[Engine]:
    configure(engine)
    await open_pool(engine)
    try:
        yield engine
    finally:
        await close_pool(engine)
