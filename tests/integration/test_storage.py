"""The object-storage adapter against a real weed S3 server, and its failure modes."""

import socket
import threading
import time
import urllib.request

import pytest

from server.adapters.storage import Storage, StorageUnavailable


async def test_storage_put_stat_get_list_remove(storage):
    await storage.ensure_bucket()
    await storage.ensure_bucket()  # idempotent
    await storage.put("opp/1/a.pdf", b"%PDF-1.4 hello", "application/pdf")
    await storage.put("opp/1/b.png", b"\x89PNG....", "image/png")
    await storage.put("opp/2/c.pdf", b"%PDF-1.4 other", "application/pdf")
    info = await storage.stat("opp/1/a.pdf")
    assert info is not None and info.size == 14
    assert await storage.get("opp/1/a.pdf") == b"%PDF-1.4 hello"
    assert sorted(o.key for o in await storage.list("opp/1/")) == ["opp/1/a.pdf", "opp/1/b.png"]
    await storage.remove("opp/1/a.pdf")
    assert await storage.stat("opp/1/a.pdf") is None
    assert await storage.get("opp/1/a.pdf") is None
    await storage.remove("opp/1/a.pdf")  # removing twice is fine


async def test_presigned_get_is_short_lived_and_downloads_as_attachment(storage):
    await storage.ensure_bucket()
    await storage.put("opp/9/合同.pdf", b"%PDF-1.7 contract", "application/pdf")
    url = await storage.presigned_get("opp/9/合同.pdf", filename="合同 扫描件.pdf")
    assert "X-Amz-Expires=900" in url
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b"%PDF-1.7 contract"
        assert resp.headers["Content-Disposition"].startswith("attachment;")


async def test_storage_down_raises_unavailable_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = Storage(endpoint=f"127.0.0.1:{port}", access_key="a", secret_key="b", bucket="salesgate")
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await dead.stat("x")
    assert time.monotonic() - started < 5
    assert await dead.health() is False


async def test_storage_that_never_answers_times_out_instead_of_hanging():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def hold():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # accept, never answer
            except OSError:
                pass
    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        slow = Storage(endpoint=f"127.0.0.1:{port}", access_key="a", secret_key="b", bucket="salesgate",
                       timeout=1.0)
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await slow.stat("x")
        assert time.monotonic() - started < 4
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


async def test_healthz_says_storage_down_with_503(settings, database_url):
    import httpx
    import msgspec

    from server.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broken = msgspec.structs.replace(settings, s3_endpoint=f"127.0.0.1:{port}")
    from tests.conftest import running

    app = create_app(broken)
    async with running(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            resp = await client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["storage"] == "down" and resp.json()["database"] == "ok"
