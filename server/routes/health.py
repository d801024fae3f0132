"""/healthz: is the database reachable, is the object store reachable."""

from __future__ import annotations

from litestar import Request, Response, get

from server.tables import Team


@get("/healthz", opt={"exclude_from_auth": True}, include_in_schema=True, tags=["health"])
async def healthz(request: Request) -> Response[dict]:
    database = True
    try:
        await Team.count().run()
    except Exception:  # noqa: BLE001 - any failure means "down"
        database = False
    storage = request.app.state.storage
    storage_ok = await storage.health() if storage is not None else False
    ok = database and storage_ok
    body = {"status": "ok" if ok else "degraded",
            "database": "ok" if database else "down",
            "storage": "ok" if storage_ok else ("down" if storage is not None else "not configured")}
    return Response(body, status_code=200 if ok else 503)


HEALTH_HANDLERS = [healthz]
