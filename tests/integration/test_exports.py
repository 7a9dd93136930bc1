"""Exports at a province's size: streamed from a server-side cursor, large ones as background jobs,
no single event-loop step long enough to stall candidates, no traceback in the log. Both backends."""

from __future__ import annotations

import datetime as dt
import io
import logging

import openpyxl
from sqlalchemy import insert, select

from exam_server.results.export_jobs import INLINE_MAX_ROWS
from exam_server.results.keys import export_jobs_key
from exam_server.results.models import Certificate, PublishedResult
from exam_server.web.keys import sessionmaker_key
from registry.models import Account, AssessmentBody, Cycle, Institution, Physician, Registration

from ..helpers import Api
from ..loop_steps import measured_steps

ROWS = 20_000
CHUNK = 2_000


async def _seed(api: Api, count: int) -> None:
    """``count`` physicians of a new institution under BODY01, each PASSED with a published result
    and a certificate, inserted in chunks (as a province's import would leave them)."""
    async with api.app[sessionmaker_key]() as s, s.begin():
        body = await s.scalar(select(AssessmentBody).where(AssessmentBody.code == "BODY01"))
        region = await s.scalar(select(Institution.region_id).where(Institution.body_id == body.id).limit(1))
        cycle = await s.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
        admin = await s.scalar(select(Account.id).where(Account.username == "admin"))
        inst = Institution(code="BULK01", name="滨海市大型医院", region_id=region, body_id=body.id)
        s.add(inst)
        await s.flush()
        for first in range(0, count, CHUNK):
            n = range(first, min(count, first + CHUNK))
            ids = (await s.execute(insert(Physician).returning(Physician.id), [
                {"name": f"医师{i}", "id_type": "居民身份证", "id_number": f"B{i:017d}", "qualification_cert_no": f"Q{i}",
                 "practice_cert_no": f"P{i}", "institution_id": inst.id, "practice_category": "临床"} for i in n])).scalars().all()
            regs = (await s.execute(insert(Registration).returning(Registration.id, Registration.physician_id), [
                {"physician_id": pid, "cycle_id": cycle.id, "state": "PASSED", "data": {}, "procedure": "general",
                 "work_rating": "合格", "ethics_rating": "合格", "submitted_at": dt.datetime(2026, 3, 1),
                 "body_reviewed_at": dt.datetime(2026, 3, 5)} for pid in ids])).all()
            await s.execute(insert(PublishedResult), [
                {"registration_id": rid, "body_id": body.id, "result": "合格", "published_by": admin} for rid, _ in regs])
            await s.execute(insert(Certificate), [
                {"number": f"ZS{rid:010d}", "registration_id": rid, "physician_id": pid, "body_id": body.id,
                 "institution_id": inst.id, "facts": {}, "signature": "x" * 64} for rid, pid in regs])


async def _account(api: Api, username: str) -> int:
    async with api.app[sessionmaker_key]() as s:
        return int(await s.scalar(select(Account.id).where(Account.username == username)))


async def test_a_large_export_is_a_streamed_job_and_no_loop_step_stalls(client, make_client):  # type: ignore[no-untyped-def]
    await _seed(client, ROWS)
    body01 = await make_client()
    await body01.login_staff("body01")
    with measured_steps() as steps:
        status, job = await body01.get("/api/v1/exports/results.xlsx")
        assert status == 202 and job["total"] > INLINE_MAX_ROWS and job["download"] is None, job
        # Asking again while it runs follows the same job.
        status, again = await body01.post("/api/v1/exports/results/jobs", {})
        assert status == 202
        if again["job"] != job["job"]:  # only once the first one had finished
            assert (await body01.get(job["progress"]))[1]["finished"], again
        done = await client.app[export_jobs_key].wait_finished(job["job"], await _account(client, "body01"))
        assert done is not None and done.stage == "done", done
        status, shown = await body01.get(job["progress"])
        assert status == 200 and shown["finished"] and shown["done"] == shown["total"] == ROWS + 6, shown
        status, data = await body01.get(shown["download"])
    assert status == 200
    # The longest step the loop ran (CPU time, so a busy machine cannot inflate it) during the export.
    assert steps.count > 1000 and steps.longest < 0.2, (steps.longest, steps.what, steps.collecting)
    rows = list(openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.values)
    assert len(rows) == ROWS + 6 + 1
    bulk = [r for r in rows if r[2] == "滨海市大型医院"]
    assert len(bulk) == ROWS and bulk[0][0] == "医师0" and bulk[0][1].startswith("B") and "*" in bulk[0][1]
    assert bulk[-1][6] == "考核合格" and bulk[-1][9] == "合格" and bulk[-1][10] == "是" and bulk[-1][11].startswith("ZS")

    # The job is its owner's: another staff account, the file of an unknown job.
    body02 = await make_client()
    await body02.login_staff("body02")
    assert (await body02.get(job["progress"]))[0] == 404
    assert (await body02.get(shown["download"]))[0] == 404
    assert (await body01.get("/api/v1/export-jobs/nonexistent/file"))[0] == 404
    # Statistics count in the database: the same total without loading the rows.
    status, figures = await body01.get("/api/v1/statistics")
    assert status == 200 and figures["total"] == ROWS + 6 and figures["by_state"]["考核合格"] == ROWS
    assert {r["group"]: r["passed"] for r in figures["pass_rates"]["institution"]}["滨海市大型医院"] == ROWS


async def test_small_exports_answer_at_once_and_log_no_traceback(client, make_client, caplog):  # type: ignore[no-untyped-def]
    inst01 = await make_client()
    await inst01.login_staff("inst01")
    caplog.set_level(logging.INFO)
    for kind in ("results", "reviews", "attempts"):
        status, data = await inst01.get(f"/api/v1/exports/{kind}.xlsx")
        assert status == 200 and isinstance(data, bytes), (kind, status)
        openpyxl.load_workbook(io.BytesIO(data))
        # The same export as an explicit job.
        status, job = await inst01.post(f"/api/v1/exports/{kind}/jobs", {})
        assert status == 202, job
        done = await client.app[export_jobs_key].wait_finished(job["job"], await _account(client, "inst01"))
        assert done is not None and done.stage == "done"
        status, again = await inst01.get(f"/api/v1/export-jobs/{job['job']}/file")
        assert status == 200
        assert len(list(openpyxl.load_workbook(io.BytesIO(again)).active.values)) == \
            len(list(openpyxl.load_workbook(io.BytesIO(data)).active.values))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records
                                                                            if r.levelno >= logging.ERROR]
    assert "Unhandled exception" not in caplog.text
