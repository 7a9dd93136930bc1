"""What a newcomer to the demo and an operator trip over: logins, departments, demo SMS, first commands."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from exam_server.demo.seed import PHYSICIANS, STAFF, demo_id_number, demo_logins
from exam_server.web.keys import sessionmaker_key, sms_key
from registry.models import Department, Institution

from ..conftest import REPO
from ..flows import department_ids, open_for, step_data
from ..server_env import clean_env

DEV_PATH = re.compile(r"/work/|/home/[a-z]|/Users/[A-Za-z]|C:\\\\Users")


async def test_the_demo_lists_every_seeded_login_with_institution_and_stage(seeded, client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("inst01")
    await open_for(client, "李欣欣")
    lines = "\n".join(await demo_logins(seeded))
    for name, born, seq, *_ in PHYSICIANS:
        assert demo_id_number("120101", born, seq) in lines, name
    for username, *_ in STAFF:
        assert f"  {username} " in lines
    assert "临江县中医医院" in lines and "滨海市口腔医院" in lines
    li = next(line for line in lines.splitlines() if "李欣欣" in line)
    zhang = next(line for line in lines.splitlines() if "张晓明" in line)
    assert "已开通" in li and "未开通报名" in zhang and "尚未首次登录" in zhang


async def test_every_demo_institution_has_departments_so_step_two_can_be_completed(seeded, client, make_client) -> None:  # type: ignore[no-untyped-def]
    async with client.app[sessionmaker_key]() as s:
        empty = (await s.scalars(select(Institution.code).where(
            ~Institution.id.in_(select(Department.institution_id))))).all()
    assert empty == []
    await client.login_staff("inst03")
    await open_for(client, "孙海燕")
    depts = await department_ids(client)
    doctor = await make_client()
    await doctor.ready_physician(6, client.app[sms_key].outbox)
    data = step_data(depts, photo_id=None)["practice"]
    data.update(practice_category="中医", practice_scope="中医")
    status, body = await doctor.post("/api/v1/registration/steps/practice", {"data": data, "complete": True})
    assert status == 200, body


async def test_the_demo_sms_page_shows_beijing_time(client) -> None:  # type: ignore[no-untyped-def]
    await client.login_physician(0)
    await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    assert (await client.post("/api/v1/auth/phone/code", {"phone": "13912340000"}))[0] == 200
    sent = client.app[sms_key].outbox[0].at
    status, page, _ = await client.page("/demo/sms")
    beijing = sent.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M:%S")
    assert status == 200 and f"<time>{beijing}</time>" in page and "北京时间" in page
    assert abs((dt.datetime.now(dt.UTC).replace(tzinfo=None) - sent).total_seconds()) < 60, "stored as UTC"


def _dingkao(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exam_server", *args], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=120)


def test_a_first_command_in_a_fresh_directory_creates_and_migrates_the_embedded_database(tmp_path: Path) -> None:
    (tmp_path / "bank.txt").write_text("1+1=?\nA. 2\nB. 3\nANSWER: A\n", encoding="utf-8")
    run = _dingkao(["import-questions", "bank.txt", "--bank", "试题"], tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "var" / "dingkao.sqlite3").is_file()
    assert "created and migrated" in run.stderr
    again = _dingkao(["export-questions", "--bank", "试题", "--format", "aiken", "-o", "out.txt"], tmp_path)
    assert again.returncode == 0 and "created" not in again.stderr, again.stderr


def test_an_unreachable_or_unmigrated_postgresql_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    for url in ("postgresql://dk:secret@127.0.0.1:1/none", "postgresql://dk@no-such-host.invalid:5432/x"):
        for args in (["migrate"], ["export-questions", "--bank", "x", "--format", "gift"]):
            run = _dingkao(args, tmp_path, DATABASE_URL=url)
            assert run.returncode == 2, (url, args, run.stderr)
            lines = run.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
            assert "cannot reach the database" in lines[0] and "secret" not in lines[0]


def test_no_development_machine_path_is_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO / name
        if name == "uv.lock" or path.suffix in (".png", ".jpg", ".jpeg", ".xlsx", ".zip", ".pdf") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        offenders += [f"{name}: {m.group(0)}" for m in DEV_PATH.finditer(text)]
    # This test names the patterns it looks for.
    assert [o for o in offenders if not o.startswith("tests/integration/test_newcomers.py")] == []


def test_create_admin_starts_a_deployment_with_a_one_time_password(tmp_path: Path) -> None:
    run = _dingkao(["create-admin", "root", "--name", "信息科"], tmp_path)
    assert run.returncode == 0, run.stderr
    password = re.search(r"一次性密码：(\w{12})", run.stdout).group(1)  # type: ignore[union-attr]
    again = _dingkao(["create-admin", "ROOT"], tmp_path)
    assert again.returncode == 1 and "已被使用" in again.stderr and "Traceback" not in again.stderr
    bad = _dingkao(["create-admin", "x"], tmp_path)
    assert bad.returncode == 1 and "用户名" in bad.stderr

    import asyncio

    from registry.db import make_engine, make_sessionmaker
    from registry.models import Account
    from registry.passwords import verify_password

    async def stored() -> Account:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dingkao.sqlite3'}")
        try:
            async with make_sessionmaker(engine)() as s:
                return await s.scalar(select(Account).where(Account.username == "root"))
        finally:
            await engine.dispose()

    account = asyncio.run(stored())
    assert account.role == "admin" and account.must_change_password and account.display_name == "信息科"
    assert verify_password(account.password_hash, password) and password not in account.password_hash
