"""deploy/nginx/dingkao.conf run for real: Debian's nginx (unprivileged, its own prefix, pid file and
ports, a certificate made here) in front of two `dingkao serve` processes sharing PostgreSQL and Redis,
and Chromium taking an exam through it over HTTPS and HTTP/2.

The site file is used as shipped; only its ports, certificate paths and static path are substituted
(each substitution must match exactly once, so the test follows the file). Through the proxy: the
candidate's answers save; extra time granted by the body reaches the exam page over the event stream
(SSE, unbuffered); the invigilator's dashboard opens its WebSocket and shows the body's warning as it
happens; a 40 MB upload gets the app's own Chinese refusal; a request beyond nginx's limit gets nginx's
refusal in the app's words and shape; static files come from nginx; every signed-in user stays on one
process; and the client address the app counts is the one nginx saw, whatever X-Forwarded-For a client sends.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import expect

from ..conftest import PG_SERVER, REDIS_URL, REPO, _pg_admin
from ..server_env import clean_env, listening_port
from .conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, DINGKAO, PHONE, _free_port, _healthy, watch_csp, assert_no_csp_violations
from .exam_steps import SAVED, remaining_seconds
from .steps import confirm_dialog, login_staff

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = REPO / "deploy" / "nginx" / "dingkao.conf"
PASSWORD = "Doctor2026x"
SECRET = "p" * 40
MB = 1024 * 1024


async def _prepare(url: str, storage: Path) -> dict[str, Any]:
    """Demo data (proctor01 watches every schedule); exam physician 0 ready to log in."""
    from sqlalchemy import select, update

    from exam_server.demo.exams import exam_login, seed_exam_demo
    from exam_server.demo.seed import seed_demo
    from exam_server.infra.migrate import upgrade
    from exam_server.settings import Settings
    from registry.db import make_engine, make_sessionmaker, utcnow
    from registry.models import Account, Physician
    from registry.passwords import hash_password

    await upgrade(url)
    settings = Settings(database_url=url, redis_url=None, secret_key=SECRET, storage_dir=storage)
    await seed_demo(settings)
    await seed_exam_demo(settings)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            physician = await session.scalar(select(Physician).where(Physician.id_number == exam_login(0)))
            await session.execute(update(Account).where(Account.physician_id == physician.id).values(
                password_hash=hash_password(PASSWORD), must_change_password=False, phone="13900000077",
                phone_verified_at=utcnow()))
            return {"login": exam_login(0), "name": physician.name}
    finally:
        await engine.dispose()


def _substitute(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx/dingkao.conf no longer has exactly one {old!r}"
    return text.replace(old, new)


def _nginx_conf(prefix: Path, https_port: int, http_port: int, upstreams: list[int]) -> Path:
    site = SITE.read_text(encoding="utf-8")
    for old, new in (
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("server 127.0.0.1:8081 ", f"server 127.0.0.1:{upstreams[0]} "),
        ("server 127.0.0.1:8082 ", f"server 127.0.0.1:{upstreams[1]} "),
        ("/etc/ssl/dingkao/fullchain.pem", str(prefix / "cert.pem")),
        ("/etc/ssl/dingkao/privkey.pem", str(prefix / "key.pem")),
        ("/srv/dingkao/app/exam_server/web/static/", f"{REPO}/exam_server/web/static/"),
    ):
        site = _substitute(site, old, new)
    (prefix / "site.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would otherwise be nobody
    conf = prefix / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # The test's own log: which process answered each signed-in request.
    log_format sticky '$upstream_addr $cookie_dk_session $status $request_uri';
    access_log {prefix}/access.log sticky;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""", encoding="utf-8")
    return conf


def _wait(what: str, check, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout  # a safety net: each turn waits for the process to answer
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up (exit {proc.poll()}):\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _https(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=_tls(), timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: scripts/test.sh installs Debian's nginx")
    tmp = tmp_path_factory.mktemp("proxy")
    name = f"dkproxy_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    prefix = f"dkproxy:{uuid.uuid4().hex[:8]}:"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        info = asyncio.run(_prepare(url, tmp / "storage"))
        for i in range(2):
            env = clean_env(DATABASE_URL=url.replace("+asyncpg", ""), REDIS_URL=REDIS_URL, DINGKAO_SECRET_KEY=SECRET,
                            DINGKAO_PORT="0", DINGKAO_HOST="127.0.0.1", DINGKAO_LIVE_PREFIX=prefix,
                            DINGKAO_STORAGE_DIR=str(tmp / "storage"), DINGKAO_LOG_JSON="false",
                            DINGKAO_TRUST_PROXY="true", DINGKAO_COOKIE_SECURE="true", DINGKAO_EXAM_FACE_CHECK="false")
            with (tmp / f"serve{i}.log").open("wb") as log:
                procs.append(subprocess.Popen([str(DINGKAO), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT))
        ports = [listening_port(tmp / f"serve{i}.log", proc) for i, proc in enumerate(procs)]
        for i, (port, proc) in enumerate(zip(ports, procs)):
            _wait(f"dingkao serve {i}", lambda p=port: _healthy(f"http://127.0.0.1:{p}"), proc, tmp / f"serve{i}.log")

        ngx = tmp / "nginx"
        ngx.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-keyout", str(ngx / "key.pem"), "-out", str(ngx / "cert.pem")], check=True, capture_output=True)
        https_port, http_port = _free_port(), _free_port()
        conf = _nginx_conf(ngx, https_port, http_port, ports)
        checked = subprocess.run([NGINX, "-t", "-p", str(ngx), "-c", str(conf), "-e", str(ngx / "error.log")],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        procs.append(subprocess.Popen([NGINX, "-p", str(ngx), "-c", str(conf), "-e", str(ngx / "error.log"),
                                       "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))

        def up() -> bool:
            try:
                return _https(https_port, "GET", "/healthz")[0] == 200
            except OSError:
                return False

        _wait("nginx", up, procs[-1], ngx / "error.log")
        yield {**info, "base": f"https://127.0.0.1:{https_port}", "https_port": https_port, "http_port": http_port,
               "upstreams": ports, "nginx": ngx, "tmp": tmp, "prefix": prefix}
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def proxy_browser(proxied):  # type: ignore[no-untyped-def]
    # After the servers: their set-up runs asyncio, which cannot start inside Playwright's loop.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _context(browser, base: str, options: dict):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", ignore_https_errors=True,
                              **options)
    ctx.set_default_timeout(30_000)
    watch_csp(ctx)
    return ctx


def test_an_exam_through_nginx(proxied, proxy_browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = proxied["base"]
    contexts = []

    def make(options: dict):  # type: ignore[no-untyped-def]
        contexts.append(_context(proxy_browser, base, options))
        return contexts[-1]

    # The candidate signs in over HTTPS (HTTP/2), starts the humanities paper and answers.
    cand = make(PHONE).new_page()
    cand.goto("/login")
    assert cand.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
    cand.fill("input[name=login]", proxied["login"])
    cand.fill("input[name=password]", PASSWORD)
    cand.click("#login-form button[type=submit]")
    cand.wait_for_url(re.compile(r"/$"))
    cand.goto("/exams")
    cand.click("[data-start=humanities]")
    confirm_dialog(cand, expect="考试须知")
    cand.wait_for_url(re.compile(r"/exams/attempt/\d+$"))
    attempt = int(cand.url.rsplit("/", 1)[1])
    cand.locator("[data-options] input").first.check()
    expect(cand.locator("[data-save]")).to_have_text(SAVED)

    # The invigilator's dashboard opens its WebSocket through the proxy and lists the candidate.
    board = make(DESKTOP).new_page()
    login_staff(board, "proctor01")
    board.goto("/invigilation")
    expect(board.locator("[data-link]")).to_have_attribute("data-state", "open")
    expect(board.locator(f".cand[data-attempt='{attempt}']")).to_contain_text(proxied["name"])

    # The body grants extra time on 考试安排: the exam page hears it over the event stream.
    staff = make(DESKTOP).new_page()
    login_staff(staff, "body01")
    staff.goto("/schedules")
    staff.locator("#schedules tbody tr", has_text="医学人文测评").locator("text=查看考生").click()
    row = staff.locator("#attempts tbody tr", has_text=proxied["name"])
    row.locator("[data-extra]").click()
    staff.fill("#action-form [name=minutes]", "10")
    staff.fill("#action-form [name=reason]", "考生网络中断")
    before = remaining_seconds(cand)
    staff.click("[data-action-ok]")
    expect(cand.locator("[data-banner]")).to_contain_text("考试时间已延长", timeout=15_000)
    assert remaining_seconds(cand) >= before + 9 * 60

    # The body warns the candidate: the dashboard (a WebSocket, perhaps on the other process) shows it live.
    sent = staff.evaluate("async (id) => (await window.dk.api('POST', '/api/v1/attempts/' + id + '/warn',"
                          " {message: '请保持正对摄像头'})).status", attempt)
    assert sent == 200
    expect(board.locator("[data-alerts] li", has_text="请保持正对摄像头")).to_be_visible(timeout=15_000)

    # A 40 MB seal upload passes nginx and gets the app's own refusal, in Chinese, on the page.
    big = tmp_path / "seal.png"
    with big.open("wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(40 * MB)
    staff.goto("/results/manage")
    staff.set_input_files("#seal-form input[name=seal]", str(big))
    staff.click("#seal-form button[type=submit]")
    confirm_dialog(staff, expect="替换考核机构印章")  # body01 has a seal already: replacing it asks first
    expect(staff.locator("#seal-form [data-form-error]")).to_have_text(re.compile("印章图片不能超过 2 MB"), timeout=60_000)

    for ctx in contexts:
        ctx.close()
    for ctx in contexts:
        assert_no_csp_violations(ctx)

    # Every signed-in user stayed on one process (sticky by the session cookie).
    seen: dict[str, set[str]] = defaultdict(set)
    for line in (proxied["nginx"] / "access.log").read_text().splitlines():
        upstream, cookie, *_ = line.split(" ")
        if cookie != "" and upstream != "-":
            seen[cookie].add(upstream)
    assert seen and all(len(u) == 1 for u in seen.values()), dict(seen)


def test_what_nginx_answers_itself(proxied) -> None:  # type: ignore[no-untyped-def]
    port = proxied["https_port"]
    # Beyond nginx's limit (51 MB, above the app's largest upload): refused before the body is read,
    # in the app's JSON shape and words, not nginx's HTML page.
    status, headers, body = _https(port, "POST", "/api/v1/body/seal", {"Content-Length": str(60 * MB),
                                                                        "Content-Type": "multipart/form-data; boundary=x"})
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"] == {"code": "too_large", "message": "上传的文件过大：不能超过 50 MB", "fields": {}}
    # Static files come from nginx (revalidated on every load), with the security headers.
    status, headers, body = _https(port, "GET", "/static/app.js")
    assert status == 200 and headers["cache-control"] == "no-cache" and headers["x-content-type-options"] == "nosniff"
    assert body == (REPO / "exam_server" / "web" / "static" / "app.js").read_bytes()
    # Plain HTTP is sent to HTTPS; /metrics is not on the public side.
    conn = http.client.HTTPConnection("127.0.0.1", proxied["http_port"], timeout=30)
    conn.request("GET", "/login")
    r = conn.getresponse()
    assert r.status == 301 and r.getheader("Location", "").startswith("https://")
    conn.close()
    assert _https(port, "GET", "/metrics")[0] == 404


def test_the_app_counts_the_address_nginx_saw(proxied) -> None:  # type: ignore[no-untyped-def]
    """A client's own X-Forwarded-For cannot move it to another rate-limit bucket: nginx appends the
    address it saw, and the app (DINGKAO_TRUST_PROXY=true) takes the last entry."""
    status, _, _ = _https(proxied["https_port"], "GET", "/api/v1/verify?q=DK2026ABCDEFGH23",
                          {"X-Forwarded-For": "203.0.113.9"})
    assert status == 200

    import redis  # synchronous: Playwright's loop runs in this thread

    r = redis.Redis.from_url(REDIS_URL)
    try:
        found = [k.decode() for k in r.scan_iter(match=f"{proxied['prefix']}verify:hour:*")]
    finally:
        r.close()
    assert found == [f"{proxied['prefix']}verify:hour:127.0.0.1"], found
