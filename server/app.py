"""create_app(settings) -> Litestar: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router

from server import db, i18n, jobs
from server.adapters.storage import Storage
from server.adapters.webpush import load_vapid
from server.error_docs import document_errors
from server.errors import EXCEPTION_HANDLERS
from server.idempotency import IdempotencyMiddleware
from server.playbook_loader import playbook_path, read_playbook
from server.queries import playbooks
from server.routes import ROUTE_HANDLERS
from server.routes.pages import STATIC_DIR, static_cache_headers
from server.security import AuthMiddleware, security_headers
from server.settings import Settings

JSON_BODY_LIMIT = 1024 * 1024


def build_storage(settings: Settings) -> Storage | None:
    if not settings.s3_endpoint:
        return None
    return Storage(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key or "",
                   secret_key=settings.s3_secret_key or "", bucket=settings.s3_bucket,
                   secure=settings.s3_secure, region=settings.s3_region, public_url=settings.s3_public_url)


def _storage_origins(settings: Settings, storage: Storage | None) -> tuple[str, ...]:
    """Where browsers PUT and GET files with presigned URLs: allowed in the pages' connect-src."""
    store = storage or build_storage(settings)
    if store is None:
        return ()
    url = urlsplit(store.public_url)
    return (f"{url.scheme}://{url.netloc}",)


def create_app(settings: Settings, *, storage: Storage | None = None, migrate: bool = False,
               run_jobs: bool = False) -> Litestar:
    """The app. ``storage`` defaults to the configured S3 endpoint; tests may pass their own."""
    logging.getLogger("salesgate").setLevel(settings.log_level)
    i18n.init()
    playbook_text, playbook = read_playbook(playbook_path(settings))  # an invalid file stops the start
    refresher = playbooks.Refresher()

    async def fresh_playbook(request) -> None:
        """Another process may have published a playbook version: swap it in (checked every few seconds)."""
        await refresher.refresh(request.app.state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = db.build_engine(settings)
        if migrate:
            await db.migrate(engine)
        async with db.lifespan_engine(engine):
            app.state.engine = engine
            app.state.playbook = await playbooks.bootstrap(playbook_text, playbook)
            store = storage or build_storage(settings)
            app.state.storage = store
            if store is not None:
                with contextlib.suppress(Exception):
                    await store.ensure_bucket()  # storage down at start: /healthz says so, uploads 503
            app.state.vapid = load_vapid(settings.vapid_private_key, settings.var_dir)
            stop = asyncio.Event()
            deps = jobs.Deps(storage=store, settings=settings, playbook=app.state.playbook, vapid=app.state.vapid)
            task = asyncio.create_task(jobs.loop(stop, deps)) if run_jobs else None
            try:
                yield
            finally:
                stop.set()
                if task is not None:
                    await task

    document_errors(ROUTE_HANDLERS)
    return Litestar(
        route_handlers=[*ROUTE_HANDLERS,
                        create_static_files_router(path="/static", directories=[STATIC_DIR],
                                                   opt={"exclude_from_auth": True},
                                                   include_in_schema=False)],
        lifespan=[lifespan],
        before_request=fresh_playbook,
        state=State({"settings": settings, "playbook": playbook}),
        middleware=[DefineMiddleware(AuthMiddleware, exclude=["^/schema", "^/static/"]),
                    IdempotencyMiddleware()],
        before_send=[security_headers(connect=_storage_origins(settings, storage)), static_cache_headers()],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=JSON_BODY_LIMIT,
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=5),
        openapi_config=OpenAPIConfig(title="Salesgate API", version="1.0.0", path="/schema",
                                     render_plugins=[JsonRenderPlugin()]),
        debug=False,
    )
