"""Browser tests: the real `dingkao demo` server in a subprocess, Debian's chromium through Playwright.

Screenshots go to $DINGKAO_SCREENSHOTS (default: a pytest temporary directory).
Playwright's sync API is used from sync fixtures and tests only (it cannot run inside a running loop).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from ..server_env import clean_env, listening_port

REPO = Path(__file__).resolve().parents[2]
DINGKAO = REPO / ".venv" / "bin" / "dingkao"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
# expect() does not follow the context's default timeout: it waits 5 s unless told. On the busy shared
# machine a form's answer after a server round trip has taken longer (the schedules page's 已安排 at
# load ~25), so assertions get the same generous safety net as actions; only a failing step waits it.
expect.set_options(timeout=30_000)

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextlib.contextmanager
def run_demo(var_dir: Path) -> Iterator[str]:
    """`dingkao demo` on a free port with its own SQLite file (``var_dir/dingkao.sqlite3``) and
    in-process live state; yields its URL."""
    env = clean_env(DINGKAO_VAR_DIR=str(var_dir), DINGKAO_PORT="0", DINGKAO_HOST="127.0.0.1")
    log_path = var_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(DINGKAO), "demo"], env=env, cwd=var_dir, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            url = f"http://127.0.0.1:{listening_port(log_path, proc, timeout=180)}"
        except AssertionError as exc:
            pytest.fail(f"dingkao demo did not start: {exc}")
        deadline = time.monotonic() + 90
        while not _healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"dingkao demo exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"dingkao demo did not become healthy:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def own_demo(name: str):  # type: ignore[no-untyped-def]
    """A module's own demo server, for tests that change what other tests rely on: in the module,
    ``demo_var, demo_server = own_demo("name")`` (the shared fixtures below, at module scope)."""

    @pytest.fixture(scope="module")
    def demo_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return tmp_path_factory.mktemp(name)

    @pytest.fixture(scope="module")
    def demo_server(demo_var: Path) -> Iterator[str]:
        with run_demo(demo_var) as url:
            yield url

    return demo_var, demo_server


@pytest.fixture(scope="session")
def demo_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared demo server's directory; its database is ``demo_var / "dingkao.sqlite3"``."""
    return tmp_path_factory.mktemp("demo-var")


@pytest.fixture(scope="session")
def demo_server(demo_var: Path) -> Iterator[str]:
    with run_demo(demo_var) as url:
        yield url


@pytest.fixture(scope="session")
def demo_database(demo_var: Path, demo_server: str) -> Path:
    """The demo server's SQLite file, for a test to put records in a state no page reaches yet."""
    return demo_var / "dingkao.sqlite3"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = os.environ.get("DINGKAO_SCREENSHOTS")
    path = Path(raw) if raw else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# Module scope: sync Playwright keeps an event loop running in this thread while it is open,
# which would break the asyncio tests that run after the browser tests.
@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# Every context records what the content security policy refused (the page's securitypolicyviolation
# events and the console's "Content Security Policy" errors); the fixtures fail a test that saw any.
WATCH_CSP = """document.addEventListener('securitypolicyviolation', e => window.__dkCspViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} on ${location.pathname}`));"""


def watch_csp(context) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    context.expose_function("__dkCspViolation", lambda text: seen.append(text))
    context.add_init_script(WATCH_CSP)
    context.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    context.csp_violations = seen
    return seen


def assert_no_csp_violations(context) -> None:  # type: ignore[no-untyped-def]
    seen = getattr(context, "csp_violations", [])
    assert not seen, f"content security policy violations: {seen[:20]}"


def _context(browser, demo_server: str, options: dict):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=demo_server, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    watch_csp(context)
    # Generous: at the start of a run four workers launch chromium and demo servers at once, and a
    # full-page screenshot has been seen to stall 15 s then. Only a failing step waits this long.
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
def phone_context(browser, demo_server):  # type: ignore[no-untyped-def]
    context = _context(browser, demo_server, PHONE)
    yield context
    context.close()
    assert_no_csp_violations(context)


@pytest.fixture
def desktop_context(browser, demo_server):  # type: ignore[no-untyped-def]
    context = _context(browser, demo_server, DESKTOP)
    yield context
    context.close()
    assert_no_csp_violations(context)


@pytest.fixture
def make_context(browser, demo_server):  # type: ignore[no-untyped-def]
    """Contexts by name ("phone" / "desktop"), each its own browser profile; closed after the test."""
    made = []

    def make(kind: str, **options):  # type: ignore[no-untyped-def]
        context = _context(browser, demo_server, {**(PHONE if kind == "phone" else DESKTOP), **options})
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    for context in made:
        assert_no_csp_violations(context)
