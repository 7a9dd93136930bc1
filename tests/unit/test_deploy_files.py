"""deploy/ stays in step with the application: the settings it names exist, the upload limit matches the
app's, and the environment file does not override what a unit sets per instance."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from exam_server.banks.api import UPLOAD_MAX_BYTES
from exam_server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MB = 1024 * 1024


def test_every_setting_in_the_environment_file_is_documented() -> None:
    env = (DEPLOY / "dingkao.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#?\s*((?:DINGKAO_|DATABASE_URL|REDIS_URL)\w*)=", env, re.M))
    documented = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert names and all(f"`{n}`" in documented for n in names), sorted(n for n in names if f"`{n}`" not in documented)
    # systemd: EnvironmentFile= wins over Environment=, so the file must not set the unit's port.
    assert not re.search(r"^DINGKAO_PORT=", env, re.M)


def test_the_serve_unit_runs_one_process_per_port() -> None:
    unit = (DEPLOY / "systemd" / "dingkao-serve@.service").read_text(encoding="utf-8")
    assert "Environment=DINGKAO_PORT=%i" in unit and re.search(r"^ExecStart=\S+/dingkao serve$", unit, re.M)
    assert "RestartPreventExitStatus=2" in unit  # start-up problems exit 2 (exam_server/cli.py)


def test_nginx_lets_the_apps_largest_upload_through_and_no_more_than_a_megabyte_beyond() -> None:
    site = (DEPLOY / "nginx" / "dingkao.conf").read_text(encoding="utf-8")
    limit = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))  # type: ignore[union-attr]
    body = next(f.default for f in dataclasses.fields(Settings) if f.name == "max_body_bytes")
    largest = max(UPLOAD_MAX_BYTES, body) // MB
    assert limit == largest + 1
    assert f"不能超过 {largest} MB" in site
