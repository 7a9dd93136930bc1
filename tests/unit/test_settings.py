"""Settings from the environment: defaults, and one clear line naming each malformed setting."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from exam_server.settings import Settings, SettingsError, load_settings
from ..server_env import clean_env

SECRET = "s" * 32
REPO = Path(__file__).resolve().parents[2]
DINGKAO = REPO / ".venv" / "bin" / "dingkao"


def env(**values: str) -> dict[str, str]:
    base = {"DINGKAO_SECRET_KEY": SECRET, "DINGKAO_VAR_DIR": "/tmp/dk-var"}
    base.update(values)
    return base


def test_defaults() -> None:
    s = load_settings(env())
    assert isinstance(s, Settings)
    assert s.database_url == f"sqlite+aiosqlite:///{Path('/tmp/dk-var/dingkao.sqlite3').resolve()}"
    assert s.is_sqlite
    assert s.redis_url is None
    assert s.secret_key == SECRET
    assert s.storage_dir == Path("/tmp/dk-var/storage")
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.sms_backend == "log"
    assert s.demo_mode is False
    assert s.cookie_secure is True
    assert s.initial_password == "666666"
    assert s.log_json is True
    assert s.session_idle_seconds == 2 * 3600


def test_demo_makes_its_own_secret_key() -> None:
    a = load_settings({"DINGKAO_VAR_DIR": "/tmp/x"}, demo=True)
    b = load_settings({"DINGKAO_VAR_DIR": "/tmp/x"}, demo=True)
    assert a.demo_mode and len(a.secret_key) >= 32 and a.secret_key != b.secret_key


@pytest.mark.parametrize("raw, url", [
    ("postgres://u@db:5432/dk", "postgresql+asyncpg://u@db:5432/dk"),
    ("postgresql://u@db/dk", "postgresql+asyncpg://u@db/dk"),
    ("postgresql+asyncpg://u@db/dk", "postgresql+asyncpg://u@db/dk"),
    ("sqlite:////var/dk.sqlite3", "sqlite+aiosqlite:////var/dk.sqlite3"),
    ("  sqlite+aiosqlite:///dk.sqlite3 ", "sqlite+aiosqlite:///dk.sqlite3"),
])
def test_database_url_aliases_pick_the_async_driver(raw: str, url: str) -> None:
    assert load_settings(env(DATABASE_URL=raw)).database_url == url


def test_explicit_values() -> None:
    s = load_settings(env(REDIS_URL="redis://cache:6379/2", DINGKAO_PORT="9000", DINGKAO_HOST="0.0.0.0",
                          DINGKAO_COOKIE_SECURE="no", DINGKAO_LOG_JSON="off", DINGKAO_INITIAL_PASSWORD="Init2026",
                          DINGKAO_STORAGE_DIR="/data/files"))
    assert s.redis_url == "redis://cache:6379/2"
    assert (s.port, s.host) == (9000, "0.0.0.0")
    # 0: a port of the system's choosing, which `serve` and `demo` print (the tests start servers so).
    assert load_settings(env(DINGKAO_PORT="0", DINGKAO_SECRET_KEY="s" * 40)).port == 0
    assert s.cookie_secure is False and s.log_json is False
    assert s.initial_password == "Init2026"
    assert s.storage_dir == Path("/data/files")


MALFORMED = [
    ("DATABASE_URL", {"DATABASE_URL": "mysql://root@db/dk"}),
    ("DATABASE_URL", {"DATABASE_URL": "http://example.com/"}),
    ("DATABASE_URL", {"DATABASE_URL": "postgresql:///dk"}),
    ("REDIS_URL", {"REDIS_URL": "http://cache:6379"}),
    ("REDIS_URL", {"REDIS_URL": "memcached://cache"}),
    ("REDIS_URL", {"REDIS_URL": "redis://"}),
    ("DINGKAO_PORT", {"DINGKAO_PORT": "eighty"}),
    ("DINGKAO_PORT", {"DINGKAO_PORT": "8080.5"}),
    ("DINGKAO_PORT", {"DINGKAO_PORT": "65536"}),
    ("DINGKAO_PORT", {"DINGKAO_PORT": "-1"}),
    ("DINGKAO_SECRET_KEY", {"DINGKAO_SECRET_KEY": "short"}),
    ("DINGKAO_SECRET_KEY", {"DINGKAO_SECRET_KEY": "s" * 31}),
    ("DINGKAO_SECRET_KEY", {"DINGKAO_SECRET_KEY": ""}),
    ("DINGKAO_SMS_BACKEND", {"DINGKAO_SMS_BACKEND": "twilio"}),
    ("DINGKAO_SMS_KEY_ID", {"DINGKAO_SMS_BACKEND": "aliyun"}),
    ("DINGKAO_SMS_APP_ID", {"DINGKAO_SMS_BACKEND": "tencent", "DINGKAO_SMS_KEY_ID": "id", "DINGKAO_SMS_KEY_SECRET": "k",
                            "DINGKAO_SMS_SIGN_NAME": "定考通", "DINGKAO_SMS_TEMPLATE_ID": "1"}),
    ("DINGKAO_SMS_ENDPOINT", {"DINGKAO_SMS_BACKEND": "aliyun", "DINGKAO_SMS_KEY_ID": "id", "DINGKAO_SMS_KEY_SECRET": "k",
                              "DINGKAO_SMS_SIGN_NAME": "定考通", "DINGKAO_SMS_TEMPLATE_ID": "SMS_1",
                              "DINGKAO_SMS_ENDPOINT": "ftp://x"}),
    ("DINGKAO_COOKIE_SECURE", {"DINGKAO_COOKIE_SECURE": "maybe"}),
    ("DINGKAO_LOG_JSON", {"DINGKAO_LOG_JSON": "2"}),
    ("DINGKAO_INITIAL_PASSWORD", {"DINGKAO_INITIAL_PASSWORD": ""}),
    ("DINGKAO_PASSWORD_HASHING", {"DINGKAO_PASSWORD_HASHING": "fast"}),
]


@pytest.mark.parametrize("name, values", MALFORMED, ids=[f"{n}={v.get(n)!r}" for n, v in MALFORMED])
def test_a_malformed_setting_raises_one_line_naming_it(name: str, values: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env(**values))
    message = str(info.value)
    assert message.startswith(f"{name}:"), message
    assert "\n" not in message


def test_a_missing_secret_key_is_named_outside_demo_mode() -> None:
    with pytest.raises(SettingsError, match=r"^DINGKAO_SECRET_KEY: not set"):
        load_settings({"DINGKAO_VAR_DIR": "/tmp/x"})


@pytest.mark.parametrize("name, value", [
    ("DINGKAO_PORT", "eighty"),
    ("DATABASE_URL", "mysql://root@db/dk"),
    ("REDIS_URL", "http://cache:6379"),
    ("DINGKAO_COOKIE_SECURE", "maybe"),
    ("DINGKAO_SECRET_KEY", "short"),
    ("DINGKAO_PASSWORD_HASHING", "none"),
])
def test_serve_with_a_malformed_setting_exits_with_one_line_naming_it(tmp_path: Path, name: str, value: str) -> None:
    variables = {"DINGKAO_SECRET_KEY": SECRET, "DINGKAO_VAR_DIR": str(tmp_path), "DINGKAO_PORT": "1"}
    variables[name] = value
    proc = subprocess.run([str(DINGKAO), "serve"], env=clean_env(**variables), capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]
    assert proc.stdout == ""
    assert not list(tmp_path.iterdir()), "nothing is created before the settings are valid"


def test_live_prefix_defaults_and_is_checked() -> None:
    base = {"DINGKAO_SECRET_KEY": SECRET, "DINGKAO_VAR_DIR": "/tmp/x"}
    assert load_settings(base).live_prefix == "dingkao:"
    assert load_settings({**base, "DINGKAO_LIVE_PREFIX": "bench:1:"}).live_prefix == "bench:1:"
    for bad in ("", "a b", "x*", "p" * 65):
        with pytest.raises(SettingsError, match=r"^DINGKAO_LIVE_PREFIX: "):
            load_settings({**base, "DINGKAO_LIVE_PREFIX": bad})
