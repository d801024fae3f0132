"""Shared fixtures: a real weed S3 server, a real database (SQLite, or PostgreSQL when
SALESGATE_TEST_DATABASE_URL is set), the app and an async client.

SQLite: migrations run once into a template file, copied for every test.
PostgreSQL: a fresh database per session, migrated once, tables truncated per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest
import httpx

from server import db
from server.adapters import local_s3
from server.adapters.storage import Storage
from server.app import create_app
from server.settings import Settings, load_settings
from server.tables import ALL_TABLES

PG_URL = os.environ.get("SALESGATE_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("weed")
    proc, info = local_s3.start(data / "data", data / "weed.log")
    yield info
    local_s3.stop(proc)


def _pg_admin_url(url: str) -> tuple[str, str]:
    base, _, dbname = url.rpartition("/")
    return base, dbname


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """A migrated database: (url, kind)."""
    if PG_URL:
        base, admin_db = _pg_admin_url(PG_URL)
        name = f"salesgate_test_{uuid.uuid4().hex[:10]}"

        async def create():
            conn = await asyncpg.connect(PG_URL)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
        asyncio.run(create())
        url = f"{base}/{name}"
        settings = load_settings({"SALESGATE_DATABASE_URL": url})
        asyncio.run(db.migrate(db.build_engine(settings)))
        yield url, "postgres"

        async def drop():
            conn = await asyncpg.connect(PG_URL)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
        asyncio.run(drop())
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        settings = load_settings({"SALESGATE_DATABASE_URL": f"sqlite:///{path}"})
        asyncio.run(db.migrate(db.build_engine(settings)))
        yield str(path), "sqlite"


@pytest.fixture
def database_url(database_template, tmp_path):
    target, kind = database_template
    if kind == "sqlite":
        path = tmp_path / "salesgate.db"
        shutil.copy(target, path)
        for suffix in ("-wal", "-shm"):
            if Path(target + suffix).exists():
                shutil.copy(target + suffix, str(path) + suffix)
        return f"sqlite:///{path}"

    async def truncate():
        conn = await asyncpg.connect(target.replace("postgresql://", "postgres://", 1))
        tables = ", ".join(f'"{t._meta.tablename}"' for t in ALL_TABLES)
        await conn.execute(f"TRUNCATE {tables} CASCADE")
        await conn.close()
    asyncio.run(truncate())
    return target


@pytest.fixture
def settings(database_url, s3_server, tmp_path) -> Settings:
    return load_settings({
        "SALESGATE_DATABASE_URL": database_url,
        "SALESGATE_S3_ENDPOINT": f"http://{s3_server.endpoint}",
        "SALESGATE_S3_ACCESS_KEY": s3_server.access_key,
        "SALESGATE_S3_SECRET_KEY": s3_server.secret_key,
        "SALESGATE_S3_BUCKET": f"t{uuid.uuid4().hex[:12]}",
        "SALESGATE_PUSH_HOSTS": "127.0.0.1",
        "SALESGATE_WEBHOOK_HOSTS": "127.0.0.1",
        "SALESGATE_VAR_DIR": str(tmp_path / "var"),
        "SALESGATE_MEDIA_DIR": str(tmp_path / "media"),
    })


@pytest.fixture
def app(settings):
    return create_app(settings)


@contextlib.asynccontextmanager
async def running(app):
    """Run the app's lifespan in the test's own event loop (a PostgreSQL pool belongs to the
    loop that opened it), inside one task, since fixtures set up and tear down in different tasks."""
    ready, stop = asyncio.Event(), asyncio.Event()

    async def hold():
        async with app.lifespan():
            ready.set()
            await stop.wait()
    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises the start-up error
    try:
        yield app
    finally:
        stop.set()
        await task


@pytest.fixture
async def client(app):
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield c


@pytest.fixture
def storage(settings) -> Storage:
    return Storage(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                   secret_key=settings.s3_secret_key, bucket=settings.s3_bucket)
