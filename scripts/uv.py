"""Run uv, installing it first when this Python has none: `python3 scripts/uv.py ARGS...`.

The README's first command and scripts/test.sh go through here. A stock Debian 12 or Ubuntu 24.04
`python3` is externally managed (PEP 668): `pip install uv` into it is refused. pip's `--target`
installs into a directory of our own instead (PEP 668 concerns the interpreter's own environment,
and pip skips its check for `--target`), so uv goes to `.uv/` next to the project and nothing of
the system Python changes. Standard library only: it runs before any dependency exists.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".uv"
REQUIREMENT = "uv>=0.5,<1"


def _installed_for_this_python() -> str | None:
    # sys.path[0] is this script's directory, where `uv` would name this very file.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    if importlib.util.find_spec("uv") is None:
        return None
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return None


def _bootstrapped() -> str | None:
    binary = TARGET / "bin" / "uv"
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else None


def _install() -> str:
    if importlib.util.find_spec("pip") is None:
        sys.exit(f"{sys.executable} 没有 pip，无法安装 uv：请先安装 pip（Debian/Ubuntu: sudo apt install python3-pip）"
                 " / no pip to install uv with: install python3-pip first")
    print(f"正在把 uv 安装到 {TARGET} / installing uv into {TARGET}", file=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-warn-script-location", "--upgrade", "--target", str(TARGET), REQUIREMENT],
        check=False,
    )
    binary = _bootstrapped()
    if done.returncode != 0 or binary is None:
        sys.exit(f"安装 uv 失败（pip 退出码 {done.returncode}），请检查网络后重试 / could not install uv, see pip's message above")
    return binary


def main() -> None:
    uv = _installed_for_this_python() or _bootstrapped() or _install()
    os.execv(uv, [uv, *sys.argv[1:]])


if __name__ == "__main__":
    main()
