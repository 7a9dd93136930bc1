"""The environment for a `dingkao` subprocess started by a test."""

from __future__ import annotations

import os

_DEPLOYMENT = ("DINGKAO_", "DATABASE_URL", "REDIS_URL")
_KEPT = ("DINGKAO_PASSWORD_HASHING",)  # the suite's cheap hashing (tests/conftest.py) holds in its servers too


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without a developer's own settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k in _KEPT or not k.startswith(_DEPLOYMENT)}
    env.update(values)
    return env
