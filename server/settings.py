"""Settings: a frozen Struct built by a pure function from an environment mapping.

Nothing here reads the process environment at import time; the CLI passes
``os.environ`` (merged with a ``.env`` file) into ``load_settings``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
)
# Group robots of DingTalk and WeCom (企业微信).
DEFAULT_WEBHOOK_HOSTS = ("oapi.dingtalk.com", "qyapi.weixin.qq.com")


class SettingsError(ValueError):
    """A setting is wrong. The message is one line naming the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    s3_endpoint: str | None = None
    s3_public_url: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "salesgate"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    push_hosts: tuple[str, ...] = DEFAULT_PUSH_HOSTS
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:admin@salesgate.invalid"
    timezone: str = "Asia/Shanghai"
    quiet_hours: str = "22:00-08:00"
    webhook_hosts: tuple[str, ...] = DEFAULT_WEBHOOK_HOSTS
    jobs_interval_seconds: int = 60
    public_url: str | None = None
    meeting_url_template: str | None = None
    playbook: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: str = "var"
    media_dir: str = "media"
    session_idle_minutes: int = 7 * 24 * 60
    session_absolute_hours: int = 30 * 24
    secure_cookies: bool | None = None  # None: decided per request (HTTPS or not)
    upload_max_bytes: int = 20 * 1024 * 1024
    default_locale: str = "zh_CN"
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str:
        return sqlite_path_of(self.database_url)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet(self):
        """Quiet hours as (start, end) local times, or None when switched off."""
        from server.domain.alerts import parse_quiet_hours

        return parse_quiet_hours(self.quiet_hours)


def sqlite_path_of(url: str) -> str:
    # sqlite:///relative/path.db or sqlite:////absolute/path.db
    return url.split("sqlite:///", 1)[1]


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a simple KEY=VALUE .env file (comments and quotes allowed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        if "=" not in line:
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool | None) -> bool | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _database_url(env: Mapping[str, str], var_dir: str) -> str:
    raw = env.get("SALESGATE_DATABASE_URL") or f"sqlite:///{var_dir}/salesgate.db"
    if raw.startswith("sqlite:///") and len(raw) > len("sqlite:///"):
        return raw
    parsed = urlparse(raw)
    if parsed.scheme in ("postgres", "postgresql") and parsed.hostname and parsed.path.strip("/"):
        return raw
    raise SettingsError(
        "SALESGATE_DATABASE_URL: expected sqlite:///PATH or "
        f"postgresql://USER@HOST:PORT/DATABASE, got {raw!r}"
    )


def _s3(env: Mapping[str, str]) -> dict:
    endpoint = env.get("SALESGATE_S3_ENDPOINT") or None
    out: dict = {"s3_endpoint": None, "s3_secure": False}
    if endpoint is None:
        return out
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path not in ("", "/"):
        raise SettingsError(
            f"SALESGATE_S3_ENDPOINT: expected http(s)://HOST:PORT, got {endpoint!r}"
        )
    for name in ("SALESGATE_S3_ACCESS_KEY", "SALESGATE_S3_SECRET_KEY"):
        if not env.get(name):
            raise SettingsError(f"{name}: required when SALESGATE_S3_ENDPOINT is set")
    public = (env.get("SALESGATE_S3_PUBLIC_URL") or "").strip().rstrip("/") or None
    if public is not None:
        shown = urlparse(public)
        if shown.scheme not in ("http", "https") or not shown.hostname or shown.path not in ("", "/"):
            raise SettingsError(f"SALESGATE_S3_PUBLIC_URL: expected http(s)://HOST[:PORT], got {public!r}")
    out.update(
        s3_public_url=public,
        s3_endpoint=parsed.netloc,
        s3_secure=parsed.scheme == "https",
        s3_access_key=env["SALESGATE_S3_ACCESS_KEY"],
        s3_secret_key=env["SALESGATE_S3_SECRET_KEY"],
    )
    return out


def _hosts(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    for host in hosts:
        bare = host.removeprefix("*.")
        if not bare or "/" in bare or " " in bare:
            raise SettingsError(f"{name}: {host!r} is not a host name")
    return hosts


def _public_url(env: Mapping[str, str]) -> str | None:
    """Where people reach the app (links in chat messages), e.g. https://sales.example.com."""
    raw = (env.get("SALESGATE_PUBLIC_URL") or "").strip().rstrip("/")
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"SALESGATE_PUBLIC_URL: expected an http(s):// address, got {raw!r}")
    return raw


def _meeting_url_template(env: Mapping[str, str]) -> str | None:
    """The workbench's one-tap video meeting link, e.g. https://meet.example.com/new?invite={phone}."""
    from server.domain.silence import meeting_template_problem

    raw = (env.get("SALESGATE_MEETING_URL_TEMPLATE") or "").strip()
    if not raw:
        return None
    problem = meeting_template_problem(raw)
    if problem:
        raise SettingsError(f"SALESGATE_MEETING_URL_TEMPLATE: {problem}")
    return raw


def _quiet_hours(env: Mapping[str, str]) -> str:
    from server.domain.alerts import parse_quiet_hours

    raw = env.get("SALESGATE_QUIET_HOURS")
    raw = "22:00-08:00" if raw is None else raw
    try:
        parse_quiet_hours(raw)
    except ValueError as exc:
        raise SettingsError(f"SALESGATE_QUIET_HOURS: {exc}") from None
    return raw.strip()


def _bucket(env: Mapping[str, str]) -> str:
    bucket = env.get("SALESGATE_S3_BUCKET") or "salesgate"
    ok = 3 <= len(bucket) <= 63 and all(c.islower() or c.isdigit() or c in "-." for c in bucket)
    if not ok or bucket[0] in "-." or bucket[-1] in "-.":
        raise SettingsError(
            "SALESGATE_S3_BUCKET: 3-63 lower-case letters, digits, '-' or '.', "
            f"got {bucket!r}"
        )
    return bucket


def _timezone(env: Mapping[str, str]) -> str:
    tz = env.get("SALESGATE_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"SALESGATE_TIMEZONE: unknown time zone {tz!r}") from None
    return tz


def _host(env: Mapping[str, str]) -> str:
    host = env.get("SALESGATE_HOST") or "127.0.0.1"
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise SettingsError(f"SALESGATE_HOST: expected an IP address, got {host!r}") from None
    return host


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping; raise SettingsError on the first wrong value."""
    var_dir = env.get("SALESGATE_VAR_DIR") or "var"
    locale = env.get("SALESGATE_LOCALE") or "zh_CN"
    if locale not in ("zh_CN", "en"):
        raise SettingsError(f"SALESGATE_LOCALE: expected zh_CN or en, got {locale!r}")
    playbook = env.get("SALESGATE_PLAYBOOK") or None
    if playbook is not None and not Path(playbook).is_file():
        raise SettingsError(f"SALESGATE_PLAYBOOK: no such file {playbook!r}")
    level = (env.get("SALESGATE_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"SALESGATE_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return Settings(
        database_url=_database_url(env, var_dir),
        **_s3(env),
        s3_bucket=_bucket(env),
        s3_region=env.get("SALESGATE_S3_REGION") or "us-east-1",
        push_hosts=_hosts(env, "SALESGATE_PUSH_HOSTS", DEFAULT_PUSH_HOSTS),
        webhook_hosts=_hosts(env, "SALESGATE_WEBHOOK_HOSTS", DEFAULT_WEBHOOK_HOSTS),
        quiet_hours=_quiet_hours(env),
        jobs_interval_seconds=_int(env, "SALESGATE_JOBS_INTERVAL_SECONDS", 60, 1, 3600),
        public_url=_public_url(env),
        meeting_url_template=_meeting_url_template(env),
        vapid_private_key=env.get("SALESGATE_VAPID_PRIVATE_KEY") or None,
        vapid_subject=env.get("SALESGATE_VAPID_SUBJECT") or "mailto:admin@salesgate.invalid",
        timezone=_timezone(env),
        playbook=playbook,
        host=_host(env),
        port=_int(env, "SALESGATE_PORT", 8000, 1, 65535),
        var_dir=var_dir,
        media_dir=env.get("SALESGATE_MEDIA_DIR") or "media",
        session_idle_minutes=_int(env, "SALESGATE_SESSION_IDLE_MINUTES", 7 * 24 * 60, 5, 90 * 24 * 60),
        session_absolute_hours=_int(env, "SALESGATE_SESSION_ABSOLUTE_HOURS", 30 * 24, 1, 365 * 24),
        secure_cookies=_bool(env, "SALESGATE_SECURE_COOKIES", None),
        upload_max_bytes=_int(env, "SALESGATE_UPLOAD_MAX_BYTES", 20 * 1024 * 1024, 1024, 1024**3),
        default_locale=locale,
        log_level=level,
    )
