"""Object storage behind a small async interface, over the ``minio`` SDK.

Every SDK call runs in a worker thread with our own timeouts (the SDK's are
five minutes), and any failure to reach the server becomes
``StorageUnavailable``, which the app answers with 503 and Retry-After.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Iterator
from urllib.parse import quote, urlsplit

import anyio.to_thread
import msgspec
import urllib3
from minio import Minio
from minio.error import S3Error

MAX_PRESIGN = timedelta(minutes=15)


class StorageUnavailable(Exception):
    """The object store could not be reached or refused to work."""


class ObjectInfo(msgspec.Struct, frozen=True):
    key: str
    size: int
    content_type: str | None = None


class Storage:
    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, bucket: str,
                 secure: bool = False, region: str = "us-east-1", timeout: float = 10.0,
                 public_url: str | None = None):
        self.bucket = bucket
        scheme = "https" if secure else "http"
        # Browsers (phones) PUT and GET through presigned URLs: sign them for the address they can
        # reach. Presigning is local arithmetic (the region is given), so this client never connects.
        self.public_url = (public_url or f"{scheme}://{endpoint}").rstrip("/")
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 3.0), read=timeout),
            # One quick retry for a refused connection; a slow server is not asked twice.
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, backoff_factor=0.1),
            maxsize=20,
        )
        self.client = Minio(endpoint=endpoint, access_key=access_key, secret_key=secret_key,
                            secure=secure, region=region, http_client=http)
        shown = urlsplit(self.public_url)
        self.signer = self.client if public_url is None else Minio(
            endpoint=shown.netloc, access_key=access_key, secret_key=secret_key, secure=shown.scheme == "https",
            region=region, http_client=http)

    async def _call(self, fn, *args, **kwargs):
        def run():
            try:
                return fn(*args, **kwargs)
            except S3Error:
                raise
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                raise StorageUnavailable(str(exc)) from exc
        return await anyio.to_thread.run_sync(run)

    async def ensure_bucket(self) -> None:
        if not await self._call(self.client.bucket_exists, bucket_name=self.bucket):
            try:
                await self._call(self.client.make_bucket, bucket_name=self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise StorageUnavailable(str(exc)) from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await self._call(self.client.put_object, bucket_name=self.bucket, object_name=key,
                             data=io.BytesIO(data), length=len(data), content_type=content_type)
        except S3Error as exc:
            raise StorageUnavailable(str(exc)) from exc

    async def get(self, key: str) -> bytes | None:
        def read():
            resp = self.client.get_object(bucket_name=self.bucket, object_name=key)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()
        try:
            return await self._call(read)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return None
            raise StorageUnavailable(str(exc)) from exc

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = await self._call(self.client.stat_object, bucket_name=self.bucket, object_name=key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return None
            raise StorageUnavailable(str(exc)) from exc
        return ObjectInfo(key=key, size=st.size or 0, content_type=st.content_type)

    async def remove(self, key: str) -> None:
        try:
            await self._call(self.client.remove_object, bucket_name=self.bucket, object_name=key)
        except S3Error as exc:
            if exc.code not in ("NoSuchKey", "NoSuchObject"):
                raise StorageUnavailable(str(exc)) from exc

    async def list(self, prefix: str) -> list[ObjectInfo]:
        """All objects under a prefix, one listing request per 1,000 keys."""
        def collect() -> list[ObjectInfo]:
            items: Iterator = self.client.list_objects(bucket_name=self.bucket, prefix=prefix,
                                                       recursive=True)
            return [ObjectInfo(key=o.object_name, size=o.size or 0) for o in items]
        try:
            return await self._call(collect)
        except S3Error as exc:
            raise StorageUnavailable(str(exc)) from exc

    async def presigned_get(self, key: str, *, filename: str, expires: timedelta = MAX_PRESIGN,
                            content_type: str | None = None) -> str:
        expires = min(expires, MAX_PRESIGN)
        headers = {
            "response-content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        }
        if content_type:
            headers["response-content-type"] = content_type
        return await self._call(self.signer.presigned_get_object, bucket_name=self.bucket,
                                object_name=key, expires=expires, response_headers=headers)

    async def presigned_put(self, key: str, *, expires: timedelta = MAX_PRESIGN) -> str:
        return await self._call(self.signer.presigned_put_object, bucket_name=self.bucket,
                                object_name=key, expires=min(expires, MAX_PRESIGN))

    async def health(self) -> bool:
        try:
            await self._call(self.client.bucket_exists, bucket_name=self.bucket)
            return True
        except (StorageUnavailable, S3Error):
            return False
