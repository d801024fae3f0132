"""Group-chat robots: DingTalk (signed with the robot's secret) and WeCom (企业微信). Markdown messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

import httpx

TIMEOUT_SECONDS = 10


def dingtalk_signed_url(url: str, secret: str | None, now_ms: int | None = None) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    if not secret:
        return url
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def message_body(kind: str, title: str, text: str) -> dict:
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


async def send(kind: str, url: str, secret: str | None, title: str, text: str) -> tuple[bool, str]:
    """(delivered, a short status line). Both robots answer 200 with an errcode; 0 means delivered."""
    target = dingtalk_signed_url(url, secret) if kind == "dingtalk" else url
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.post(target, json=message_body(kind, title, text))
    except httpx.HTTPError as exc:
        return False, f"unreachable: {type(exc).__name__}"
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    code = answer.get("errcode") if isinstance(answer, dict) else None
    ok = response.status_code == 200 and code in (0, None)
    return ok, f"HTTP {response.status_code} errcode {code} {str(answer.get('errmsg', ''))[:100]}".strip()
