"""Web Push with pywebpush: the VAPID key, and one async sender sharing an aiohttp session.

Traps handled here: pywebpush mutates the claims dict (so every push gets a fresh
one with its own `aud`), has no timeout unless given one, and defaults to TTL 0
(a phone that is offline for a moment never sees the message).

The VAPID JWT is signed once per push service (`aud`) and reused for a few minutes,
far inside its 12-hour `exp`: RFC 8292 allows reuse, and signing every message cost a
fifth of the sender's CPU in a 1,000-push fan-out (bench/alerts.py). pywebpush then
gets the ready Authorization header and no claims, so it neither signs nor mutates.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

log = logging.getLogger("salesgate.push")

TTL_SECONDS = 24 * 3600
TIMEOUT_SECONDS = 10
VAPID_EXP_SECONDS = 12 * 3600
VAPID_REUSE_SECONDS = 5 * 60  # a signed JWT is reused this long (it stays valid for hours after)


def load_vapid(configured: str | None, var_dir: str) -> Vapid02:
    """The configured private key (PEM, or base64url DER/raw), else the one kept in var/, made on first start."""
    if configured:
        text = configured.strip()
        if text.startswith("-----BEGIN"):
            return Vapid02.from_pem(text.encode())
        return Vapid02.from_string(private_key=text)
    path = Path(var_dir) / "vapid_private.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = Vapid02()
        fresh.generate_keys()
        try:  # O_EXCL: two processes starting together keep one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(fresh.private_pem())
    return Vapid02.from_pem(path.read_bytes())


def public_key_b64(vapid: Vapid02) -> str:
    """The applicationServerKey a browser subscribes with: the uncompressed P-256 point, base64url."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class PushResult:
    status: int  # HTTP status, or 0 when the push service could not be reached
    retry_after: float | None = None
    error: str | None = None
    unusable: bool = False  # the subscription's keys cannot encrypt a message: as good as gone


def subscription_keys_problem(p256dh: str, auth: str) -> str | None:
    """Why a browser's subscription keys cannot be used, or None. p256dh must be an uncompressed
    P-256 point and auth 16 bytes (RFC 8291); anything else would fail at every send."""
    from cryptography.hazmat.primitives.asymmetric import ec

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text.strip().rstrip("=") + "=" * (-len(text.strip().rstrip("=")) % 4))

    try:
        point, secret = unb64(p256dh), unb64(auth)
    except (ValueError, TypeError):
        return "The subscription keys are not base64url."
    if len(secret) != 16:
        return "The subscription's auth key must be 16 bytes."
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return "The subscription's p256dh key is not a P-256 public key."
    return None


class PushSender:
    """Sends encrypted pushes; use as an async context manager (one aiohttp session for many pushes)."""

    def __init__(self, vapid: Vapid02, subject: str, concurrency: int = 32):
        self.vapid = vapid
        self.subject = subject
        self._session: aiohttp.ClientSession | None = None
        self._gate = asyncio.Semaphore(concurrency)
        self._signed: dict[str, tuple[str, float]] = {}  # aud → (Authorization header, reuse until)

    async def __aenter__(self) -> "PushSender":
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    def claims(self, endpoint: str) -> dict:
        url = urlsplit(endpoint)
        return {"sub": self.subject, "aud": f"{url.scheme}://{url.netloc}",
                "exp": int(time.time()) + VAPID_EXP_SECONDS}

    def authorization(self, endpoint: str) -> str:
        """`vapid t=<JWT>,k=<key>` for the endpoint's push service, signed at most every few minutes."""
        claims = self.claims(endpoint)
        now = time.time()
        cached = self._signed.get(claims["aud"])
        if cached is not None and now < cached[1]:
            return cached[0]
        header = self.vapid.sign(claims)["Authorization"]
        self._signed[claims["aud"]] = (header, min(now + VAPID_REUSE_SECONDS, claims["exp"] - 3600))
        return header

    async def send(self, endpoint: str, p256dh: str, auth: str, payload: str, *, urgency: str,
                   topic: str) -> PushResult:
        info = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        async with self._gate:
            try:
                headers = {"Authorization": self.authorization(endpoint), "Urgency": urgency, "Topic": topic}
                response = await webpush_async(
                    info, data=payload, ttl=TTL_SECONDS, timeout=TIMEOUT_SECONDS, headers=headers,
                    aiohttp_session=self._session)
                return PushResult(status=response.status)
            except WebPushException as exc:
                response = exc.response
                if response is None:
                    return PushResult(status=0, error=str(exc)[:300])
                status = getattr(response, "status", None) or getattr(response, "status_code", 0)
                return PushResult(status=status, retry_after=_retry_after(response.headers.get("Retry-After")),
                                  error=f"push service answered {status}")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                return PushResult(status=0, error=f"push service unreachable: {type(exc).__name__}")
            except (ValueError, TypeError) as exc:
                # Keys stored before they were checked, or a library refusing them: one such device
                # must not fail the whole batch (asyncio.gather) and block everyone's pushes.
                return PushResult(status=0, error=f"subscription keys unusable: {type(exc).__name__}", unusable=True)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None
