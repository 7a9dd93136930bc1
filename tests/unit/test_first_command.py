"""The README's first command bootstraps uv on an externally managed Python (PEP 668).

A stock Debian 12 or Ubuntu 24.04 `python3` carries `EXTERNALLY-MANAGED` in its standard library
directory, and `pip install uv` into it is refused. The command's bootstrap (`scripts/uv.py`) is run
here with such a Python for real: Debian's own `/usr/bin/python3` when this machine has one with the
marker, and a copy of the interpreter running the tests whose standard library directory carries
the marker (its site-packages hold pip and nothing else). pip fetches uv as it would for a newcomer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "[externally-managed-environment]\nError=This Python is managed by the system (test copy).\n"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PIP_BREAK_SYSTEM_PACKAGES"}}
    env["PYTHONNOUSERSITE"] = "1"  # a user-site uv must not stand in for the bootstrap
    return env


def _marked_copy(tmp: Path, *, keep: tuple[str, ...] = ("pip",)) -> Path:
    """The base interpreter of this test run, copied with its standard library linked in and marked;
    of its site-packages only the distributions in ``keep``."""
    base_lib = Path(sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix, "base": sys.base_prefix}))
    base_site = base_lib / "site-packages"
    pip = base_site / "pip"
    if not pip.is_dir():
        pytest.skip(f"{sys.base_prefix} keeps pip outside {base_site}: no copy to mark")
    prefix = tmp / "python"
    lib = prefix / "lib"
    (prefix / "bin").mkdir(parents=True)
    lib.mkdir()
    for entry in base_lib.parent.iterdir():  # libpython and friends, found relative to the binary
        if entry != base_lib:
            (lib / entry.name).symlink_to(entry)
    stdlib = lib / base_lib.name
    stdlib.mkdir()
    for entry in base_lib.iterdir():
        if entry.name not in {"site-packages", "EXTERNALLY-MANAGED"}:
            (stdlib / entry.name).symlink_to(entry)
    (stdlib / "site-packages").mkdir()
    for entry in base_site.iterdir():
        if entry.name in keep or any(re.fullmatch(rf"{k}-[\d.]+\.dist-info", entry.name) for k in keep):
            (stdlib / "site-packages" / entry.name).symlink_to(entry)
    for name in keep:  # the uv distribution's binary lives in the prefix's bin/
        if (Path(sys.base_prefix) / "bin" / name).is_file() and name != "pip":
            (prefix / "bin" / name).symlink_to(Path(sys.base_prefix) / "bin" / name)
    (stdlib / "EXTERNALLY-MANAGED").write_text(MARKER, encoding="utf-8")
    exe = prefix / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copy2(Path(getattr(sys, "_base_executable", sys.executable)).resolve(), exe)
    return exe


def _debian_python(tmp: Path) -> Path:
    python = Path("/usr/bin/python3")
    if not python.exists():
        pytest.skip("no /usr/bin/python3")
    stdlib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if not (Path(stdlib) / "EXTERNALLY-MANAGED").exists():
        pytest.skip("/usr/bin/python3 is not externally managed here")
    return python


@pytest.mark.parametrize("make_python", [_marked_copy, _debian_python], ids=["marked-copy", "debian-python3"])
def test_the_first_command_bootstraps_uv_on_an_externally_managed_python(tmp_path: Path, make_python) -> None:  # type: ignore[no-untyped-def]
    python = make_python(tmp_path)
    project = tmp_path / "clone"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "uv.py", project / "scripts" / "uv.py")
    env = _env()

    # The Python really is externally managed, and has no uv of its own: the old first command fails.
    refused = subprocess.run([python, "-m", "pip", "install", "--quiet", "uv>=0.5,<1"],
                             capture_output=True, text=True, cwd=project, env=env, timeout=600)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr, refused.stderr
    assert subprocess.run([python, "-c", "import uv"], capture_output=True, env=env).returncode != 0

    first = subprocess.run([python, "scripts/uv.py", "--version"], capture_output=True, text=True,
                           cwd=project, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert re.match(r"uv 0\.\d+\.\d+", first.stdout), first.stdout
    assert "installing uv into" in first.stderr
    assert (project / ".uv" / "bin" / "uv").is_file()

    # The next run finds it: no second install.
    again = subprocess.run([python, "scripts/uv.py", "--version"], capture_output=True, text=True,
                           cwd=project, env=env, timeout=120)
    assert again.returncode == 0 and again.stdout == first.stdout
    assert "installing" not in again.stderr


def test_a_python_with_uv_installed_uses_it(tmp_path: Path) -> None:
    base_site = Path(sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix})) / "site-packages"
    if not (base_site / "uv").is_dir():
        pytest.skip(f"{sys.base_prefix} has no uv of its own")
    python = _marked_copy(tmp_path, keep=("pip", "uv"))
    project = tmp_path / "clone"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "uv.py", project / "scripts" / "uv.py")
    ran = subprocess.run([python, "scripts/uv.py", "--version"], capture_output=True, text=True,
                         cwd=project, env=_env(), timeout=120)
    assert ran.returncode == 0 and ran.stdout.startswith("uv "), ran.stderr
    assert "installing" not in ran.stderr and not (project / ".uv").exists()


def test_the_readme_and_the_test_script_use_the_bootstrap() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.findall(r"```sh\n(.*?)```", readme, re.S)[0].strip()
    assert first.startswith("python3 scripts/uv.py run ") and first.endswith("dingkao demo")
    assert "\n" not in first
    assert "python3 scripts/uv.py sync" in (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
