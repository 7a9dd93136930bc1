"""`dingkao serve` with the local analysis pool leaves no process behind when it stops: SIGTERM and
SIGINT shut the pool down in the app's cleanup, and a server killed outright (SIGKILL, no cleanup)
still takes its pool processes with it, since each one ends when its parent is gone.

The embedded SQLite database (created on first use) and no Redis: nothing here needs more. The pool
is started at start-up (DINGKAO_PROCTOR_POOL_WARM), as a server that has analysed frames has it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ...e2e.conftest import DINGKAO, _healthy
from ...server_env import clean_env, listening_port


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent id) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return fields[0], int(fields[1])


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = st[1]
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"  # a zombie has exited; only its entry waits to be reaped


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_stopping_serve_ends_the_local_pool_processes(tmp_path: Path, how: signal.Signals) -> None:
    env = clean_env()
    env.update(DINGKAO_VAR_DIR=str(tmp_path), DINGKAO_PORT="0", DINGKAO_HOST="127.0.0.1",
               DINGKAO_SECRET_KEY="s" * 40, DINGKAO_LOG_JSON="false", DINGKAO_PROCTOR_ANALYZER="local",
               DINGKAO_PROCTOR_POOL_PROCESSES="2", DINGKAO_PROCTOR_POOL_WARM="true")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(DINGKAO), "serve"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    children: set[int] = set()
    try:
        base = f"http://127.0.0.1:{listening_port(log_path, proc)}"
        deadline = time.monotonic() + 90
        workers: set[int] = set()
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, f"no pool of 2 processes: {log_path.read_text(errors='replace')}"
            if _healthy(base):
                workers = {p for p in _descendants(proc.pid) if "spawn_main" in _cmdline(p)}
                if len(workers) == 2 and "analysis pool started" in log_path.read_text(errors="replace"):
                    break
            time.sleep(0.3)
        children = _descendants(proc.pid)  # the pool processes and multiprocessing's resource tracker
        assert workers <= children

        proc.send_signal(how)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while (left := {p for p in children if _alive(p)}) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, {p: _cmdline(p) for p in left}
        if how is not signal.SIGKILL:
            assert proc.returncode == 0, log_path.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            children |= _descendants(proc.pid)
            proc.kill()
            proc.wait(timeout=10)
        for pid in children:  # a failed run leaves nothing behind either
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
