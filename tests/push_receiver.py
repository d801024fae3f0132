"""A loopback push service for tests: a real HTTP server on 127.0.0.1 that plays the browser's push service.

Each test "device" has its own P-256 key pair and auth secret, as a browser would;
the receiver decrypts every message (aes128gcm) with them, verifies the VAPID
JWT (ES256, `aud` = the endpoint's origin, not expired, signed by the key in
`k=`) and keeps the headers. A device can be told to answer 410, 429 or 500.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Delivery:
    device: str
    payload: dict
    headers: dict
    claims: dict


@dataclass
class Device:
    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    answers: list = field(default_factory=list)  # (status, headers) to give before accepting

    def subscription(self, base_url: str) -> dict:
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{base_url}/push/{self.name}", "keys": {"p256dh": b64u(public), "auth": b64u(self.auth)}}


def verify_vapid(authorization: str, origin: str) -> dict:
    """Check `vapid t=<jwt>, k=<public key>`: ES256 signature by k, aud == origin, exp in the future."""
    parts = dict(p.strip().split("=", 1) for p in authorization.removeprefix("vapid ").split(","))
    token, key = parts["t"], parts["k"]
    header_b64, claims_b64, sig_b64 = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(key))
    sig = unb64u(sig_b64)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    header, claims = json.loads(unb64u(header_b64)), json.loads(unb64u(claims_b64))
    assert header["alg"] == "ES256", header
    assert claims["aud"] == origin, (claims, origin)
    assert claims["exp"] > time.time(), claims
    assert claims["sub"].startswith(("mailto:", "https:")), claims
    claims["k"] = key
    return claims


class PushReceiver:
    def __init__(self):
        self.devices: dict[str, Device] = {}
        self.deliveries: list[Delivery] = []
        self.refused: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.delay = 0.0  # seconds each push takes to answer (a slow push service)
        self.hits = 0  # requests received, answered or not yet
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "PushReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def device(self, name: str) -> Device:
        self.devices[name] = Device(name)
        return self.devices[name]

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        name = request.path.rsplit("/", 1)[-1]
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        with self.lock:
            self.hits += 1
        if self.delay:
            time.sleep(self.delay)
        device = self.devices.get(name)
        with self.lock:
            answer = device.answers.pop(0) if device and device.answers else None
        if device is None or answer is not None:
            status, headers = answer if answer else (404, {})
            with self.lock:
                self.refused.append((name, status))
            request.send_response(status)
            for key, value in headers.items():
                request.send_header(key, value)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        try:
            claims = verify_vapid(request.headers["Authorization"], self.base_url)
            assert request.headers["Content-Encoding"] == "aes128gcm"
            plain = http_ece.decrypt(body, private_key=device.key, auth_secret=device.auth, version="aes128gcm")
            delivery = Delivery(device=name, payload=json.loads(plain),
                                headers={k.lower(): v for k, v in request.headers.items()}, claims=claims)
        except Exception as exc:  # noqa: BLE001 - reported to the test, answered like a push service
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            request.send_response(400)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        with self.lock:
            self.deliveries.append(delivery)
        request.send_response(201)
        request.send_header("Location", f"{self.base_url}/message/{len(self.deliveries)}")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def for_device(self, name: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.device == name]
