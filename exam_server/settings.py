"""Settings, read once from the environment into one typed object.

A missing or malformed setting stops start-up with one line naming it (SettingsError).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from registry.passwords import hasher_for


class SettingsError(Exception):
    """A setting is missing or malformed; str() is the one line shown at start-up."""


SMS_BACKENDS = ("log", "aliyun", "tencent")
# What each SMS gateway needs from the environment (exam_server.infra.sms_gateways).
SMS_REQUIRED = {
    "aliyun": ("DINGKAO_SMS_KEY_ID", "DINGKAO_SMS_KEY_SECRET", "DINGKAO_SMS_SIGN_NAME", "DINGKAO_SMS_TEMPLATE_ID"),
    "tencent": ("DINGKAO_SMS_KEY_ID", "DINGKAO_SMS_KEY_SECRET", "DINGKAO_SMS_SIGN_NAME", "DINGKAO_SMS_TEMPLATE_ID",
                "DINGKAO_SMS_APP_ID"),
}
SMS_ENDPOINTS = {"aliyun": "https://dysmsapi.aliyuncs.com/", "tencent": "https://sms.tencentcloudapi.com/"}


@dataclass(frozen=True, slots=True)
class SmsGateway:
    """Keys, sign name and template of a commercial SMS gateway (never logged)."""

    key_id: str
    key_secret: str = field(repr=False)
    sign_name: str
    template_id: str
    app_id: str = ""  # Tencent's SmsSdkAppId
    region: str = ""
    endpoint: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    storage_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    sms_backend: str = "log"
    sms_gateway: SmsGateway | None = None
    demo_mode: bool = False
    cookie_secure: bool = True
    initial_password: str = "666666"
    # Max request body; uploads have their own, smaller, per-field limits.
    max_body_bytes: int = 25 * 1024 * 1024
    session_idle_seconds: int = 2 * 3600
    log_json: bool = True
    # Behind the reverse proxy, take the client address from X-Forwarded-For (rate limits per client).
    trust_proxy: bool = False
    # Wrong passwords one client address may send in a sliding 10 minutes (logins and old passwords)
    # before it gets 429 without the hash being computed; docs/security.md.
    login_client_failures: int = 30
    # Answers arriving this long after an attempt's deadline (requests in flight) are still taken.
    exam_grace_seconds: int = 10
    # Consent and the pre-exam identity check (exam_server.identity) must pass before an attempt
    # starts; the hook is exam_server.identity.gate.identity_gate.
    exam_face_check: bool = True
    # Evidence frames and thumbnails are deleted this many days after they were taken (PIPL).
    proctor_retention_days: int = 30
    # Where webcam frames are analysed: "local" (a process pool in each web process) or "redis"
    # (the queue read by `dingkao proctor-worker`).
    proctor_analyzer: str = "local"
    proctor_pool_processes: int = 1
    # Start the local pool (models loaded) when the server starts, not on the first frame, so the
    # first identity check does not wait for it.
    proctor_pool_warm: bool = False
    # How often each process looks for overdue attempts (seconds).
    sweep_interval: float = 1.0
    # Papers are drawn ahead for a schedule's physicians from this many minutes before its window
    # opens (exam_server.exam.predraw); 0 turns drawing ahead off (every start draws).
    predraw_ahead_minutes: int = 120
    # Redis connections per process, and how long a request waits for one before it answers 503.
    redis_pool_size: int = 512
    redis_pool_timeout: float = 30.0
    # Every live-state key starts with this, so deployments (and test runs) can share one Redis.
    live_prefix: str = "dingkao:"
    # When set, GET /metrics wants "Authorization: Bearer <token>".
    metrics_token: str = ""

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true/false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, *, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def _database_url(env: Mapping[str, str], var_dir: Path) -> str:
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return f"sqlite+aiosqlite:///{(var_dir / 'dingkao.sqlite3').resolve()}"
    scheme = urlsplit(raw).scheme
    # Accept the plain scheme people paste and pick the async driver ourselves.
    aliases = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+asyncpg": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
    }
    if scheme not in aliases:
        raise SettingsError(
            f"DATABASE_URL: unsupported scheme {scheme!r} (use postgresql://... or sqlite:///...)"
        )
    url = aliases[scheme] + raw[len(scheme):]
    if url.startswith("postgresql") and not urlsplit(url).hostname and "host=" not in url:
        raise SettingsError("DATABASE_URL: PostgreSQL URL has no host")
    return url


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("REDIS_URL", "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"REDIS_URL: unsupported scheme {parts.scheme!r} (use redis://host:port/db)")
    if parts.scheme != "unix" and not parts.hostname:
        raise SettingsError("REDIS_URL: no host")
    return raw


def _sms_gateway(env: Mapping[str, str], backend: str) -> SmsGateway | None:
    if backend not in SMS_REQUIRED:
        return None
    for name in SMS_REQUIRED[backend]:
        if not env.get(name, "").strip():
            raise SettingsError(f"{name}: required by DINGKAO_SMS_BACKEND={backend}")
    endpoint = env.get("DINGKAO_SMS_ENDPOINT", "").strip() or SMS_ENDPOINTS[backend]
    if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).hostname:
        raise SettingsError(f"DINGKAO_SMS_ENDPOINT: expected an http(s) URL, got {endpoint!r}")
    return SmsGateway(
        key_id=env["DINGKAO_SMS_KEY_ID"].strip(), key_secret=env["DINGKAO_SMS_KEY_SECRET"].strip(),
        sign_name=env["DINGKAO_SMS_SIGN_NAME"].strip(), template_id=env["DINGKAO_SMS_TEMPLATE_ID"].strip(),
        app_id=env.get("DINGKAO_SMS_APP_ID", "").strip(),
        region=env.get("DINGKAO_SMS_REGION", "").strip() or ("cn-hangzhou" if backend == "aliyun" else "ap-guangzhou"),
        endpoint=endpoint)


def load_settings(env: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
    env = os.environ if env is None else env
    var_dir = Path(env.get("DINGKAO_VAR_DIR", "var"))
    secret = env.get("DINGKAO_SECRET_KEY", "")
    if not secret:
        if not demo:
            raise SettingsError(
                "DINGKAO_SECRET_KEY: not set (give at least 32 random characters; `dingkao demo` makes one)"
            )
        secret = secrets.token_urlsafe(32)
    elif len(secret) < 32:
        raise SettingsError("DINGKAO_SECRET_KEY: too short (at least 32 characters)")
    sms = env.get("DINGKAO_SMS_BACKEND", "log").strip() or "log"
    if sms not in SMS_BACKENDS:
        raise SettingsError(f"DINGKAO_SMS_BACKEND: unknown backend {sms!r} (known: {', '.join(SMS_BACKENDS)})")
    gateway = _sms_gateway(env, sms)
    host = env.get("DINGKAO_HOST", "127.0.0.1").strip() or "127.0.0.1"
    initial_password = env.get("DINGKAO_INITIAL_PASSWORD", "666666")
    if not initial_password:
        raise SettingsError("DINGKAO_INITIAL_PASSWORD: must not be empty")
    try:
        hasher_for(env.get("DINGKAO_PASSWORD_HASHING", "default"))
    except ValueError as e:
        raise SettingsError(str(e)) from None
    return Settings(
        database_url=_database_url(env, var_dir),
        redis_url=_redis_url(env),
        secret_key=secret,
        storage_dir=Path(env.get("DINGKAO_STORAGE_DIR", str(var_dir / "storage"))),
        host=host,
        port=_int(env, "DINGKAO_PORT", 8080, lo=0, hi=65535),  # 0: any free port (tests), printed at start
        sms_backend=sms,
        sms_gateway=gateway,
        demo_mode=demo,
        # Browsers keep Secure cookies on http://localhost, not on other plain-http hosts.
        cookie_secure=_bool(env, "DINGKAO_COOKIE_SECURE", True),
        initial_password=initial_password,
        log_json=_bool(env, "DINGKAO_LOG_JSON", True),
        trust_proxy=_bool(env, "DINGKAO_TRUST_PROXY", False),
        login_client_failures=_int(env, "DINGKAO_LOGIN_CLIENT_FAILURES", 30, lo=5, hi=100_000),
        exam_grace_seconds=_int(env, "DINGKAO_EXAM_GRACE_SECONDS", 10, lo=0, hi=300),
        exam_face_check=_bool(env, "DINGKAO_EXAM_FACE_CHECK", True),
        proctor_retention_days=_int(env, "DINGKAO_PROCTOR_RETENTION_DAYS", 30, lo=1, hi=3650),
        proctor_analyzer=_analyzer(env),
        proctor_pool_processes=_int(env, "DINGKAO_PROCTOR_POOL_PROCESSES", 1, lo=1, hi=64),
        proctor_pool_warm=_bool(env, "DINGKAO_PROCTOR_POOL_WARM", False),
        predraw_ahead_minutes=_int(env, "DINGKAO_PREDRAW_AHEAD_MINUTES", 120, lo=0, hi=7 * 24 * 60),
        redis_pool_size=_int(env, "DINGKAO_REDIS_POOL_SIZE", 512, lo=1, hi=10000),
        redis_pool_timeout=float(_int(env, "DINGKAO_REDIS_POOL_TIMEOUT", 30, lo=1, hi=600)),
        live_prefix=_live_prefix(env),
        metrics_token=env.get("DINGKAO_METRICS_TOKEN", "").strip(),
    )


def _live_prefix(env: Mapping[str, str]) -> str:
    raw = env.get("DINGKAO_LIVE_PREFIX", "dingkao:")
    if not raw or len(raw) > 64 or any(c.isspace() or c in "*?[]" for c in raw):
        raise SettingsError(f"DINGKAO_LIVE_PREFIX: 1 to 64 characters without spaces or glob characters, got {raw!r}")
    return raw


def _analyzer(env: Mapping[str, str]) -> str:
    raw = env.get("DINGKAO_PROCTOR_ANALYZER", "local").strip() or "local"
    if raw not in ("local", "redis"):
        raise SettingsError(f"DINGKAO_PROCTOR_ANALYZER: expected local or redis, got {raw!r}")
    if raw == "redis" and not env.get("REDIS_URL", "").strip():
        raise SettingsError("DINGKAO_PROCTOR_ANALYZER: redis needs REDIS_URL")
    return raw
