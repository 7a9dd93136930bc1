"""Start-up problems an operator meets on the first day are one line each, saying what to do.

A taken port, a file named `var` where the data directory goes, a storage directory under a file or
one the service's user cannot write: `dingkao demo`, `serve` and `migrate` stop with exit code 2 and
one line, before anything claims to be ready.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from exam_server.infra.startup import StartupProblem, listen

from ..server_env import clean_env

SECRET = "s" * 40


def _dingkao(args: list[str], cwd: Path, *, preexec=None, **env: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "exam_server", *args], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=300, preexec_fn=preexec)


def _one_line(run: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "就绪" not in run.stdout and "ready" not in run.stdout and "Running on" not in run.stdout, run.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def taken_port():  # type: ignore[no-untyped-def]
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_a_taken_port_is_one_line_before_anything_is_ready(tmp_path: Path, taken_port: int, command: str) -> None:
    run = _dingkao([command], tmp_path, DINGKAO_PORT=str(taken_port), DINGKAO_SECRET_KEY=SECRET)
    line = _one_line(run, f"端口 {taken_port} 已被占用", "DINGKAO_PORT")
    assert line.startswith("无法启动")
    assert not (tmp_path / "var" / "dingkao.sqlite3").exists(), "no database before the port is known to be free"


@pytest.mark.parametrize("command", ["demo", "serve", "migrate"])
def test_a_file_named_var_is_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "var").write_text("not a directory", encoding="utf-8")
    run = _dingkao([command], tmp_path, DINGKAO_SECRET_KEY=SECRET)
    _one_line(run, "var 是一个文件，不是目录", "DINGKAO_VAR_DIR")
    assert (tmp_path / "var").read_text(encoding="utf-8") == "not a directory"


def test_a_storage_directory_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "files").write_text("x", encoding="utf-8")
    run = _dingkao(["demo"], tmp_path, DINGKAO_STORAGE_DIR="files/dingkao")
    _one_line(run, "文件存储目录 files 是一个文件", "files/dingkao", "DINGKAO_STORAGE_DIR")


def _without_root_file_powers() -> None:
    """In the child, before exec: root loses the capabilities that ignore file permissions, so a
    read-only directory is read-only to it as to the service's own user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")


def test_a_storage_directory_the_service_cannot_write_is_one_line(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    storage.chmod(0o555)
    preexec = _without_root_file_powers if os.geteuid() == 0 else None
    try:
        run = _dingkao(["serve"], tmp_path, preexec=preexec, DINGKAO_SECRET_KEY=SECRET,
                       DINGKAO_STORAGE_DIR=str(storage))
    finally:
        storage.chmod(0o755)
    _one_line(run, f"文件存储目录 {storage} 无法写入", "DINGKAO_STORAGE_DIR", "chown")
    assert list(storage.iterdir()) == []


def test_listen_binds_every_address_and_names_what_is_wrong(taken_port: int) -> None:
    sockets = listen("127.0.0.1", 0)
    try:
        assert [s.getsockname()[0] for s in sockets] == ["127.0.0.1"]
    finally:
        for s in sockets:
            s.close()
    with pytest.raises(StartupProblem, match="已被占用"):
        listen("127.0.0.1", taken_port)
    with pytest.raises(StartupProblem, match="DINGKAO_HOST"):
        listen("no-such-host.invalid", 0)
    with pytest.raises(StartupProblem, match="不是本机的地址"):
        listen("192.0.2.1", 0)  # TEST-NET-1: never an address of this machine
