"""The backup and restore procedure of docs/operations.md, run for real: deploy/backup.sh dumps the
database and copies the storage directory; deploy/restore-check.sh restores both into a scratch
database and directory and checks that a physician's record, answers, certificate and files survived.

PostgreSQL only: pg_dump is the procedure; the embedded SQLite database is the demo's.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from exam_server.demo.exams import exam_login
from exam_server.web.keys import sessionmaker_key, settings_key, storage_key
from registry.models import Account, Physician, Registration, StoredFile

from ..conftest import PG_SERVER, REPO
from ..exam_flows import DEVICE, GENERAL, correct_answers, exam_doctor, seed_exams, start
from ..server_env import clean_env

DEPLOY = REPO / "deploy"


async def _passed_with_certificate_and_a_file(client, make_client) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """The general-procedure exam physician passes both papers, the body publishes (a certificate is
    issued), and a file of theirs is in storage. Returns the ID number and the number of answers."""
    await seed_exams(client.app[settings_key])
    doctor = await exam_doctor(make_client, client, GENERAL)
    answers = 0
    for kind in ("humanities", "professional"):
        attempt = await start(doctor, kind)
        given = await correct_answers(client.app, attempt)
        assert (await doctor.post(f"/api/v1/attempts/{attempt}/answers", {"device": DEVICE, "answers": given}))[0] == 200
        status, body = await doctor.post(f"/api/v1/attempts/{attempt}/submit", {"device": DEVICE, "confirm": True})
        assert status == 200 and body["attempt"]["passed"] is True, body
        answers += len(given)
    body01 = await make_client()
    await body01.login_staff("body01")
    assert (await body01.post("/api/v1/results/publish", {}))[0] == 200
    data = b"%PDF-1.4 proof of continuing education\n"
    key = await client.app[storage_key].put(data, prefix="proofs")
    async with client.app[sessionmaker_key]() as s, s.begin():
        physician = await s.scalar(select(Physician).where(Physician.id_number == exam_login(GENERAL)))
        account = await s.scalar(select(Account).where(Account.physician_id == physician.id))
        reg = await s.scalar(select(Registration).where(Registration.physician_id == physician.id))
        s.add(StoredFile(kind="proof", owner_account_id=account.id, registration_id=reg.id, storage_key=key,
                         mime="application/pdf", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                         original_name="proof.pdf"))
    return exam_login(GENERAL), answers


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300,
                          env=clean_env(DINGKAO_PYTHON=str(REPO / ".venv" / "bin" / "python"), **env))


async def _scratch_databases() -> set[str]:
    conn = await asyncpg.connect(PG_SERVER.replace("+asyncpg", "") + "/postgres")
    try:
        return {r["datname"] for r in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dingkao_restore_check_%'")}
    finally:
        await conn.close()


async def test_a_backup_restores_with_the_physicians_record_answers_certificate_and_files(
        client, make_client, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if backend != "postgres":
        pytest.skip("the backup procedure is pg_dump's; the embedded SQLite database is the demo's")
    settings = client.app[settings_key]
    id_number, answers = await _passed_with_certificate_and_a_file(client, make_client)
    before = await _scratch_databases()

    made = _run(["bash", str(DEPLOY / "backup.sh"), str(tmp_path / "backups")],
                DATABASE_URL=settings.database_url, DINGKAO_STORAGE_DIR=str(settings.storage_dir))
    assert made.returncode == 0, made.stderr
    dump, files = made.stdout.split()
    assert Path(dump).stat().st_size > 0 and tarfile.is_tarfile(files)

    server = PG_SERVER.replace("+asyncpg", "")
    checked = _run(["bash", str(DEPLOY / "restore-check.sh"), dump, files, id_number],
                   DINGKAO_SECRET_KEY=settings.secret_key, DINGKAO_RESTORE_SERVER=server)
    assert checked.returncode == 0, checked.stderr
    summary = json.loads(checked.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["registrations"] == ["PASSED"]
    assert [a["passed"] for a in summary["attempts"]] == [True, True] and summary["answers"] == answers
    assert [c["signature_ok"] for c in summary["certificates"]] == [True] and summary["files"] == 1

    # The check can fail: another secret key makes every certificate read as altered...
    other_key = _run(["bash", str(DEPLOY / "restore-check.sh"), dump, files, id_number],
                     DINGKAO_SECRET_KEY="x" * 40, DINGKAO_RESTORE_SERVER=server)
    assert other_key.returncode == 1 and "does not verify" in other_key.stderr
    # ...and a storage copy without the physician's file is caught.
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    no_files = _run(["bash", str(DEPLOY / "restore-check.sh"), dump, str(empty), id_number],
                    DINGKAO_SECRET_KEY=settings.secret_key, DINGKAO_RESTORE_SERVER=server)
    assert no_files.returncode == 1 and "missing from the storage copy" in no_files.stderr
    # Each drill dropped its scratch database.
    assert await _scratch_databases() == before
