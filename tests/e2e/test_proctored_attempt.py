"""A proctored attempt in Chromium with its fake camera, against two `dingkao serve` processes
sharing PostgreSQL and Redis.

The camera plays a Y4M file made here from the shared face photos; Chromium reads the file again
each time a page opens the camera, so the test writes what the person in front of the camera does
next (the head turns the server asked for, then sitting still, then another person) before each
opening. Run 1: the registered physician goes from 我的考试 to the identity check, consents, fails
it once with a still photo, passes it and takes the attempt on the real exam page (which sends the
frames and events); the invigilator, whose dashboard is served by the other process, sees the
candidate and warns; the warning appears on the exam page; the candidate submits. Run 2: a second physician's video switches to another person: the dashboard shows
the "another person" violation live, the schedule's rule warns the candidate, and the body reviews
and confirms it. A still photo fails the challenge in the browser too.
"""

from __future__ import annotations

import asyncio
import functools
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from ..conftest import PG_SERVER, REDIS_URL, _pg_admin
from ..face_video import canvas, face_box, turned, write_y4m
from .steps import confirm_dialog, login_staff
from .conftest import (CHROMIUM, CHROMIUM_ARGS, DESKTOP, DINGKAO, PHONE, _healthy, assert_no_csp_violations,
                       watch_csp)
from ..server_env import clean_env, listening_port

PERSON, OTHER = "identities/df01/1.jpg", "identities/df03/1.jpg"
PASSWORD = "Doctor2026x"
FPS = 5  # the page takes 3 frames 0.5 s apart in each 2.5 s phase
PHASE_S = 2.5  # proctor_pages.js PHASE_MS
LEAD_S = 0.3   # the camera starts a moment before the page's phase clock


def still(rel: str, seconds: float, *, shift: int = 0) -> list[np.ndarray]:
    frame = canvas(rel, shift=shift)
    return [frame] * int(seconds * FPS)


@functools.lru_cache(maxsize=16)
def posed(rel: str, pose: str) -> np.ndarray:
    """The photo's webcam frame showing ``pose`` (cached: the video for a check's order is written
    while the page waits for the check to start, and the phase's clock is already running)."""
    base = canvas(rel)
    return turned(base, face_box(base), pose)


def challenge_video(rel: str, poses: list[str]) -> list[np.ndarray]:
    frames = [posed(rel, "front")] * int(LEAD_S * FPS)
    for pose in poses:
        frames += [posed(rel, pose)] * int(PHASE_S * FPS)
    return frames + [posed(rel, "front")] * (5 * FPS)


async def _prepare(url: str, storage: Path) -> dict[str, Any]:
    """Demo data (which assigns proctor01 to every schedule); two exam physicians ready to log in with
    the df01 photo enrolled; the humanities schedule's rules warn on another person, a frame every 5 s."""
    import proctoring
    from sqlalchemy import select, update

    from exam_server.demo.seed import seed_demo
    from exam_server.demo.exams import exam_login, seed_exam_demo
    from exam_server.exam.models import ExamSchedule
    from exam_server.settings import Settings
    from registry.db import make_engine, make_sessionmaker, utcnow
    from exam_server.infra.migrate import upgrade
    from registry.models import Account, Physician, Registration, StoredFile
    from registry.passwords import hash_password

    from ..face_video import jpeg

    await upgrade(url)
    settings = Settings(database_url=url, redis_url=None, secret_key="e" * 40, storage_dir=storage)
    await seed_demo(settings)
    await seed_exam_demo(settings)
    photo = jpeg(canvas(PERSON))
    enrolment = proctoring.enrol(photo, person_id="e2e").to_dict()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            names = {}
            for index in (0, 1, 5):
                physician = await session.scalar(select(Physician).where(Physician.id_number == exam_login(index)))
                reg = await session.scalar(select(Registration).where(Registration.physician_id == physician.id))
                await session.execute(update(Account).where(Account.physician_id == physician.id).values(
                    password_hash=hash_password(PASSWORD), must_change_password=False, phone=f"1390000000{index}",
                    phone_verified_at=utcnow()))
                account = await session.scalar(select(Account).where(Account.physician_id == physician.id))
                # The photo itself too: the review shows it beside the evidence frames.
                (storage / "photos").mkdir(parents=True, exist_ok=True)
                (storage / f"photos/e2e-{index}").write_bytes(photo)
                session.add(StoredFile(kind="photo", owner_account_id=account.id, registration_id=reg.id,
                                       storage_key=f"photos/e2e-{index}", mime="image/jpeg", size=1, sha256="0" * 64,
                                       original_name="photo.jpg", meta={"enrolment": enrolment}))
                names[index] = physician.name
            schedule = await session.scalar(select(ExamSchedule).where(ExamSchedule.kind == "humanities"))
            schedule.violation_policy = {"frame_seconds": 5, "actions": {"another_person": "warn"}}
            return {"schedule_id": schedule.id, "logins": {i: exam_login(i) for i in (0, 1, 5)}, "names": names}
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("proctored")
    name = f"dke2e_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        info = asyncio.run(_prepare(url, tmp / "storage"))
        prefix = f"dke2e:{uuid.uuid4().hex[:8]}:"
        bases = []
        for i in range(2):
            env = clean_env()
            env.update(DATABASE_URL=url.replace("+asyncpg", ""), REDIS_URL=REDIS_URL, DINGKAO_SECRET_KEY="e" * 40,
                       DINGKAO_PORT="0", DINGKAO_LIVE_PREFIX=prefix, DINGKAO_COOKIE_SECURE="false",
                       DINGKAO_STORAGE_DIR=str(tmp / "storage"), DINGKAO_LOG_JSON="false")
            log = (tmp / f"serve{i}.log").open("wb")
            procs.append(subprocess.Popen([str(DINGKAO), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT))
        # Each server binds a port of the system's choosing and prints it (no port picked here and released).
        bases = [f"http://127.0.0.1:{listening_port(tmp / f'serve{i}.log', proc, timeout=300)}" for i, proc in enumerate(procs)]
        deadline = time.monotonic() + 300  # a safety net: the shared machine can be slow to start two servers
        for base, proc in zip(bases, procs):
            while not _healthy(base):
                assert proc.poll() is None and time.monotonic() < deadline, (tmp / "serve0.log").read_text(errors="replace")
                time.sleep(0.3)
        yield {**info, "bases": bases, "tmp": tmp, "url": url}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("camera") / "camera.y4m"


@pytest.fixture(scope="module")
def camera_browser(camera: Path, cluster: dict[str, Any]):  # type: ignore[no-untyped-def]
    # After the cluster: its set-up runs asyncio, which cannot start inside Playwright's loop.
    from playwright.sync_api import sync_playwright

    write_y4m(camera, still(PERSON, 1))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=CHROMIUM_ARGS + [f"--use-file-for-fake-video-capture={camera}"])
        try:
            yield b
        finally:
            b.close()


def context(browser, base: str, options: dict):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    ctx.set_default_timeout(30_000)
    ctx.grant_permissions(["camera"], origin=base)
    watch_csp(ctx)  # the camera pages pass the content security policy too
    return ctx


def login_physician(page, login: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def until(page, selector: str, timeout_ms: float, what: Callable[[], str]) -> None:  # type: ignore[no-untyped-def]
    """wait_for_selector, failing with what the pages show instead of a bare timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(selector, timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"{selector} not seen within {timeout_ms / 1000:.0f} s; {what()}")


def check_page_state(page) -> str:  # type: ignore[no-untyped-def]
    return page.evaluate("() => { const c = document.getElementById('check'); if (!c) return 'not on the check page: ' + location.href;"
                         " const e = c.querySelector('[data-form-error]');"
                         " return c.dataset.state + ' / ' + c.querySelector('[data-status]').textContent"
                         " + (e && !e.hidden ? ' / ' + e.textContent : ''); }")


def run_check(page, expected: str) -> None:  # type: ignore[no-untyped-def]
    """Click "start" and wait until the check is decided; fail at once with the page's words if it ends
    otherwise than ``expected`` (passed / failed). Capturing takes 7 phases of 2.5 s, judging a few seconds
    more (longer on a loaded machine: the page waits for the server as long as it takes)."""
    page.click("[data-go]")
    try:
        page.wait_for_function("() => !['opening', 'capturing', 'judging'].includes(document.getElementById('check').dataset.state)",
                               timeout=150_000, polling=250)
    except Exception:  # noqa: BLE001 - reported with the page's own words
        pytest.fail(f"identity check not decided: {check_page_state(page)}")
    state = page.get_attribute("#check", "data-state")
    assert state == expected, f"identity check ended {check_page_state(page)}"


def open_check_from_my_exams(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/exams")
    page.click(".paper[data-kind=humanities] [data-check]")
    page.wait_for_url(re.compile(r"/exams/check\?kind=humanities$"))


def new_challenge(page) -> None:  # type: ignore[no-untyped-def]
    """Test the camera and get ready; the server gives the order one prompt at a time once it starts."""
    page.click("[data-camera]")
    until(page, "text=摄像头正常", 20_000, lambda: check_page_state(page))
    page.click("[data-begin]")
    until(page, "[data-go]", 30_000, lambda: check_page_state(page))


def _asked_order(url: str, check_id: int) -> list[str]:
    """The order the server picked for a check (what a live person learns prompt by prompt), read
    from the database in a thread of its own: Playwright's loop runs in this one."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    from proctoring.challenge import Challenge
    from registry.db import make_engine

    async def read() -> list[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                steps = (await conn.execute(text("SELECT steps FROM proctor_identity_checks WHERE id = :i"),
                                            {"i": check_id})).scalar_one()
        finally:
            await engine.dispose()
        return [str(p) for p in Challenge.from_list(steps).phases]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def follow_prompts(page, camera: Path, url: str, video: Callable[[list[str]], list[np.ndarray]]) -> None:  # type: ignore[no-untyped-def]
    """Before the page opens the camera for the check it asks the server to start; as that answer
    passes, write the camera's video for the order the server picked (the page then meets each
    prompt in its 2.5 s slot, as a live person would)."""
    def on_start(route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()
        if response.status == 201:
            write_y4m(camera, video(_asked_order(url, response.json()["check_id"])), fps=FPS)
        route.fulfill(response=response)

    page.route(re.compile(r"/api/v1/identity-checks$"), on_start)


def pass_identity_check(page, camera: Path, rel: str, shots: Path, name: str, url: str) -> None:  # type: ignore[no-untyped-def]
    challenge_video(rel, ["left", "right"])  # the frames, made before any check starts
    new_challenge(page)
    follow_prompts(page, camera, url, lambda poses: challenge_video(rel, poses))
    page.screenshot(path=str(shots / f"{name}-ready.png"))
    run_check(page, "passed")
    page.unroute(re.compile(r"/api/v1/identity-checks$"))
    assert "核验通过" in page.text_content("[data-status]")


def start_proctored_exam(page, shots: Path, name: str) -> int:  # type: ignore[no-untyped-def]
    """开始考试 on the check page: the real exam page opens and its proctoring starts the camera."""
    page.click("[data-start-exam]")
    confirm_dialog(page, expect="考试须知")
    page.wait_for_url(re.compile(r"/exams/attempt/\d+$"))
    attempt = int(page.url.rsplit("/", 1)[1])
    until(page, "#exam [data-main]", 30_000, lambda: page.text_content("#exam") or "")
    until(page, "[data-proctor-slot] video.proctor-self", 20_000, lambda: "the exam page opened no camera")
    page.wait_for_function("() => document.querySelector('video.proctor-self').videoWidth > 0")
    assert page.get_attribute("#exam", "data-proctored") == "true"
    page.screenshot(path=str(shots / f"{name}-exam-page.png"))
    return attempt


def board_words(board) -> Callable[[], str]:  # type: ignore[no-untyped-def]
    return lambda: "dashboard shows: " + (board.text_content("#dashboard") or "")[:1500]


def test_proctored_attempt_live_invigilation_and_review(camera_browser, camera, cluster, screenshots) -> None:  # type: ignore[no-untyped-def]
    one, two = cluster["bases"]
    shots = screenshots
    # 我的考试 sends to the identity check, which asks for consent first.
    cand = context(camera_browser, one, PHONE)
    page = cand.new_page()
    login_physician(page, cluster["logins"][0])
    open_check_from_my_exams(page)
    until(page, "#check[data-state=consent]", 20_000, lambda: check_page_state(page))
    page.click("[data-consent]")
    page.wait_for_url(re.compile(r"/proctoring/consent"))
    page.wait_for_selector("text=保存多久")  # the text comes from the API with its version
    page.screenshot(path=str(shots / "consent-phone.png"), full_page=True)
    page.click("[data-accept]")
    page.wait_for_url(re.compile(r"/exams/check\?kind=humanities$"))
    until(page, "#check[data-state=ready]", 20_000, lambda: check_page_state(page))

    # A still photo held to the camera fails the challenge.
    new_challenge(page)
    write_y4m(camera, still(PERSON, 30), fps=FPS)
    run_check(page, "failed")
    assert "未检测到按提示完成的转头动作" in page.text_content("[data-status]")
    page.screenshot(path=str(shots / "still-photo-fails.png"), full_page=True)

    # Run 1: the registered person follows the server's (new) order and takes the attempt.
    pass_identity_check(page, camera, PERSON, shots, "run1", cluster["url"])
    write_y4m(camera, still(PERSON, 60), fps=FPS)
    attempt_one = start_proctored_exam(page, shots, "run1-phone")

    # The invigilator's dashboard on the other server process.
    inv = context(camera_browser, two, DESKTOP)
    board = inv.new_page()
    login_staff(board, "proctor01")
    board.click("a[data-invigilation]:has-text('监考工作台')")  # the invigilator's home links to it
    board.wait_for_url(re.compile(r"/invigilation$"))
    until(board, "[data-link][data-state=open]", 20_000, board_words(board))
    card = f".cand[data-attempt='{attempt_one}']"
    until(board, f"{card} [data-identity]:has-text('本人')", 90_000, board_words(board))
    board.click(card)
    board.fill("[data-warn-form] [name=message]", "请保持正对摄像头")
    board.click("[data-warn]")
    until(page, "#dk-proctor-warning:has-text('请保持正对摄像头')", 15_000, lambda: page.text_content("body")[:500])
    page.screenshot(path=str(shots / "candidate-warned-phone.png"))
    board.click("[data-close]")
    # Run 1 ends: the candidate submits on the exam page, which turns the camera off.
    page.click("[data-submit]")
    page.click("[data-confirm-ok]")
    until(page, "[data-result]:not([hidden])", 20_000, lambda: page.text_content("#exam")[:500])
    page.wait_for_selector("video.proctor-self", state="detached")
    cand.close()

    # Run 2: another physician; after the check, another person sits down.
    cand2 = context(camera_browser, one, DESKTOP)
    page2 = cand2.new_page()
    login_physician(page2, cluster["logins"][1])
    open_check_from_my_exams(page2)
    page2.click("[data-consent]")
    page2.wait_for_selector("[data-version]:has-text('授权书版本')")
    page2.click("[data-accept]")
    page2.wait_for_url(re.compile(r"/exams/check\?kind=humanities$"))
    until(page2, "#check[data-state=ready]", 20_000, lambda: check_page_state(page2))
    pass_identity_check(page2, camera, PERSON, shots, "run2", cluster["url"])
    write_y4m(camera, still(PERSON, 2) + still(OTHER, 120, shift=150), fps=FPS)
    attempt_two = start_proctored_exam(page2, shots, "run2-desktop")
    card2 = f".cand[data-attempt='{attempt_two}']"
    until(board, card2, 30_000, board_words(board))
    until(board, "[data-alerts] li[data-kind=violation]:has-text('疑似他人替考')", 120_000, board_words(board))
    until(board, f"{card2}.alarm [data-violations]:has-text('违规 1')", 20_000, board_words(board))
    board.screenshot(path=str(shots / "dashboard-another-person.png"), full_page=True)
    until(page2, "#dk-proctor-warning:has-text('疑似他人替考')", 20_000, lambda: page2.text_content("body")[:500])
    page2.screenshot(path=str(shots / "candidate-rule-warning.png"))

    # The body reviews and confirms it.
    body = context(camera_browser, two, DESKTOP)
    review = body.new_page()
    login_staff(review, "body01")
    review.click(".tool:has-text('考试安排')")
    review.click(f"#schedules a[data-review='{cluster['schedule_id']}']")  # each schedule links to its review
    review.wait_for_url(re.compile(rf"/schedules/{cluster['schedule_id']}/review$"))
    review.click(f"[data-open='{attempt_two}']")
    item = review.locator("[data-violation]", has_text="疑似他人替考").first
    # The registration photo first, the evidence frames beside it, every image loaded.
    figures = item.locator(".compare figure")
    assert figures.first.locator("figcaption").inner_text() == "报名照片"
    assert figures.count() >= 2, figures.count()
    review.wait_for_function("""() => [...document.querySelectorAll('[data-violation] .compare img')]
        .every(img => img.complete && img.naturalWidth > 0)""")
    item.locator("textarea[name=note]").fill("画面中为他人")
    item.locator("[data-confirm]").click()
    review.locator("dialog.dk-dialog", has_text=cluster["names"][1]).locator("[data-dialog-ok]").click()
    review.wait_for_selector("[data-violation]:has-text('已确认')")
    review.screenshot(path=str(shots / "review-confirmed.png"), full_page=True)
    for ctx in (cand2, inv, body):
        ctx.close()
    for ctx in (cand, cand2, inv, body):
        assert_no_csp_violations(ctx)


def test_another_person_after_the_first_phase_is_refused_in_the_browser(camera_browser, camera, cluster,
                                                                        screenshots) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: the enrolled face for the first prompt, then another person doing the asked turns, through
    Chromium's fake camera: the page ends in the Chinese refusal and no attempt was started."""
    from sqlalchemy import text

    cand = context(camera_browser, cluster["bases"][0], DESKTOP)
    page = cand.new_page()
    login_physician(page, cluster["logins"][5])
    open_check_from_my_exams(page)
    page.click("[data-consent]")
    page.wait_for_selector("[data-version]:has-text('授权书版本')")
    page.click("[data-accept]")
    page.wait_for_url(re.compile(r"/exams/check\?kind=humanities$"))
    until(page, "#check[data-state=ready]", 20_000, lambda: check_page_state(page))
    new_challenge(page)

    def swap(poses: list[str]) -> list[np.ndarray]:
        own, other = challenge_video(PERSON, poses[:1]), challenge_video(OTHER, poses)
        lead = int(LEAD_S * FPS) + int(PHASE_S * FPS)  # the lead and the first phase: the enrolled person
        return own[:lead] + other[lead:]

    swap(["front", "left", "front", "right", "front", "left", "front"])  # the frames, made before the check starts
    follow_prompts(page, camera, cluster["url"], swap)
    run_check(page, "failed")
    words = page.text_content("[data-status]") or ""
    assert words.startswith("人脸与报名照片不一致，如确为本人：请在光线充足处"), words
    assert page.is_hidden("[data-start-exam]")
    page.screenshot(path=str(screenshots / "swap-refused-desktop.png"), full_page=True)
    cand.close()

    async def attempts() -> int:
        from registry.db import make_engine

        engine = make_engine(cluster["url"])
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text(
                    "SELECT count(*) FROM exam_attempts a JOIN physicians p ON p.id = a.physician_id "
                    "WHERE p.id_number = :login"), {"login": cluster["logins"][5]})).scalar_one()
        finally:
            await engine.dispose()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, attempts()).result() == 0
