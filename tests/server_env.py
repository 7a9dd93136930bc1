"""The environment for a `dingkao` subprocess started by a test."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

_DEPLOYMENT = ("DINGKAO_", "DATABASE_URL", "REDIS_URL")
_KEPT = ("DINGKAO_PASSWORD_HASHING",)  # the suite's cheap hashing (tests/conftest.py) holds in its servers too


_RUNNING = re.compile(rb"Running on http://[^:\s]+:(\d+)")


def listening_port(log: Path, proc: subprocess.Popen[bytes], *, timeout: float = 120) -> int:
    """The port a `dingkao serve` or `demo` started with DINGKAO_PORT=0 is serving on, from its log.

    The server binds the port itself, so no port is picked by a test, released and perhaps taken by
    another process before the server binds it. aiohttp prints the line once start-up is done."""
    deadline = time.monotonic() + timeout  # a safety net: each turn looks at the log again
    while True:
        found = _RUNNING.search(log.read_bytes())
        if found:
            return int(found.group(1))
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"dingkao exited with {proc.poll()} or never listened:\n"
                                 + log.read_text(errors="replace")[-3000:])
        time.sleep(0.1)


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without a developer's own settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k in _KEPT or not k.startswith(_DEPLOYMENT)}
    env.update(values)
    return env
