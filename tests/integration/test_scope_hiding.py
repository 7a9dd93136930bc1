"""An id that exists but lies outside the caller's scope answers exactly as an id that does not exist,
so an outsider learns nothing about which ids exist. Walks every declared endpoint with ids in its path
or in its body.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
from sqlalchemy import select, update

from exam_server.exam.models import Attempt
from exam_server.results.keys import export_jobs_key
from exam_server.web.edge import DB_INT_MAX
from exam_server.web.keys import sessionmaker_key, settings_key
from exam_server.web.routes import routes
from registry.models import Physician, Registration
from registry.publication import hides_unpublished

from ..exam_flows import DEVICE, GENERAL, correct_answers, exam_doctor, seed_exams, start
from .test_scope import OVERSEES_INST003, build_world, call, fill, sample_body

MISSING = str(DB_INT_MAX)  # a valid id that no record has
# Body fields that carry ids, and which of INST003's records each names.
BODY_IDS = {"physician_ids": "physician_id", "registration_ids": "registration_id", "institution_id": "institution_id"}


def swap(body: dict[str, Any], field: str, value: int) -> dict[str, Any]:
    return {**body, field: [value] if field.endswith("_ids") else value}


async def test_out_of_scope_ids_answer_exactly_as_missing_ones(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    compared, differ = 0, []
    for ep in routes.endpoints:
        params = [p for p in re.findall(r"\{([^}:]+)", ep.path) if p in world.path_values]
        body_fields = [f for f in BODY_IDS if ep.body is not None and f in ep.body.model_fields]
        if not params and not body_fields:
            continue
        base = sample_body(ep.body)
        for name, api in world.actors.items():
            if name == "anonymous" or name in OVERSEES_INST003 or world.roles[name] not in ep.roles:
                continue
            # The physician's own file is theirs; for the walk they are an outsider to INST003's records only.
            for param in params:
                real = await call(api, ep, fill(ep.path, world.path_values), base)
                fake = await call(api, ep, fill(ep.path, {**world.path_values, param: MISSING}), base)
                compared += 1
                if real != fake:
                    differ.append(f"{name} {ep.method} {ep.path} [{param}]: {real} != {fake}")
            for field in body_fields:
                path = fill(ep.path, world.path_values)
                real = await call(api, ep, path, swap(base, field, int(world.path_values[BODY_IDS[field]])))
                fake = await call(api, ep, path, swap(base, field, int(MISSING)))
                compared += 1
                if real != fake:
                    differ.append(f"{name} {ep.method} {ep.path} [{field}]: {real} != {fake}")
    assert compared >= 20
    assert differ == []


async def test_another_institutions_record_reads_as_missing(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    reg = world.path_values["registration_id"]
    status, body = await world.actors["inst01"].get(f"/api/v1/registrations/{reg}")
    assert (status, body["error"]["message"]) == (404, "报名记录不存在")
    assert await world.actors["inst01"].get(f"/api/v1/registrations/{MISSING}") == (status, body)
    status, body = await world.actors["inst01"].post("/api/v1/registrations/batch-approve",
                                                     {"registration_ids": [int(reg)]})
    assert (status, body["error"]["message"]) == (404, "部分记录不存在")


async def test_another_bodys_attempts_and_proctoring_evidence_read_as_missing(client, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: body02 asking for body01's candidate's evidence got 考试记录不存在, for a missing id 画面不存在.
    Every endpoint naming an attempt or a proctoring event, as every outsider, answers alike for both."""
    from exam_server.proctor.models import ProctorEvent
    from registry.db import utcnow
    from exam_server.web.keys import sessionmaker_key, settings_key, storage_key

    from ..exam_flows import DEVICE, GENERAL, SIMPLE, exam_doctor, seed_exams, start

    await seed_exams(client.app[settings_key])
    doctor = await exam_doctor(make_client, client, GENERAL)  # INST001, under body01
    attempt_id = await start(doctor, "humanities")
    storage = client.app[storage_key]
    frame = await storage.put(b"\xff\xd8\xff evidence frame", prefix=f"evidence/{attempt_id}")
    thumb = await storage.put(b"\xff\xd8\xff evidence thumb", prefix=f"evidence/{attempt_id}")
    async with client.app[sessionmaker_key]() as session, session.begin():
        event = ProctorEvent(attempt_id=attempt_id, at=utcnow(), kind="frame", severity=1,
                             detail={}, frame_key=frame, thumb_key=thumb)
        session.add(event)
        await session.flush()
        event_id = event.id
    values = {"attempt_id": str(attempt_id), "event_id": str(event_id)}

    body01 = await make_client()
    await body01.login_staff("body01")
    async with body01.session.get(f"{body01.base}/api/v1/proctor-events/{event_id}/frame") as r:
        assert r.status == 200 and await r.read() == b"\xff\xd8\xff evidence frame"

    outsiders: dict[str, Any] = {}
    for username in ("body02", "inst02", "inst03"):  # (proctor01 is body01's own invigilator: inside)
        outsiders[username] = await make_client()
        await outsiders[username].login_staff(username)
    outsiders["another physician"] = await exam_doctor(make_client, client, SIMPLE)
    roles = {"body02": "body", "inst02": "institution", "inst03": "institution", "another physician": "physician"}
    compared, differ = 0, []
    for ep in routes.endpoints:
        params = [p for p in re.findall(r"\{([^}:]+)", ep.path) if p in values]
        if not params:
            continue
        base = {**sample_body(ep.body), **({"device": DEVICE} if ep.body and "device" in ep.body.model_fields else {})}
        for name, api in outsiders.items():
            if roles[name] not in {str(r) for r in ep.roles}:
                continue
            for param in params:
                real = await call(api, ep, fill(ep.path, values), base)
                fake = await call(api, ep, fill(ep.path, {**values, param: MISSING}), base)
                compared += 1
                if real != fake:
                    differ.append(f"{name} {ep.method} {ep.path} [{param}]: {real} != {fake}")
    assert compared >= 10, compared
    assert differ == [], "\n".join(differ)
    for which in ("frame", "thumb"):
        status, body = await outsiders["body02"].get(f"/api/v1/proctor-events/{event_id}/{which}")
        assert (status, body["error"]["code"]) == (404, "not_found"), body


# -- results before publication, in the statistics and every export (docs/assessment-rules.md, 结果公布前) --

# Every statistics/export endpoint open to a role that sees results only once published, and how the walk
# reads it; a new one fails `test_every_statistics_endpoint_is_in_the_publication_walk` until it is added.
PUBLICATION_WALK = {
    ("GET", "/api/v1/statistics"), ("GET", "/api/v1/exports/results.xlsx"), ("GET", "/api/v1/exports/reviews.xlsx"),
    ("GET", "/api/v1/exports/attempts.xlsx"), ("POST", "/api/v1/exports/results/jobs"),
    ("POST", "/api/v1/exports/reviews/jobs"), ("POST", "/api/v1/exports/attempts/jobs"),
}
# The jobs' progress and file: read by the walk through the jobs it starts.
JOB_FOLLOW_UP = {("GET", "/api/v1/export-jobs/{token}"), ("GET", "/api/v1/export-jobs/{token}/file")}


def test_every_statistics_endpoint_is_in_the_publication_walk() -> None:
    open_to_hiders = {(ep.method, ep.path) for ep in routes.endpoints
                      if "statistics" in ep.tags and any(hides_unpublished(r) for r in ep.roles)}
    assert open_to_hiders == PUBLICATION_WALK | JOB_FOLLOW_UP


async def _xlsx_rows(api: Any, app: Any, kind: str, inline: bool) -> list[dict[str, Any]]:
    """The rows of one export as a header -> value mapping, inline or through a background job."""
    if inline:
        status, data = await api.get(f"/api/v1/exports/{kind}.xlsx")
        assert status == 200, data
    else:
        status, job = await api.post(f"/api/v1/exports/{kind}/jobs", {})
        assert status == 202, job
        _, me = await api.get("/api/v1/me")
        done = await app[export_jobs_key].wait_finished(job["job"], me["id"])
        assert done is not None and done.stage == "done", done
        status, data = await api.get(f"/api/v1/export-jobs/{job['job']}/file")
        assert status == 200, data
    header, *rows = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.values
    return [dict(zip(header, row)) for row in rows]


async def _seen(api: Any, app: Any, name: str) -> dict[str, Any]:
    """What one staff member is shown of physician ``name``'s outcome and score in every statistic and export."""
    status, stats = await api.get("/api/v1/statistics")
    assert status == 200, stats
    status, page, _ = await api.page("/statistics")
    assert status == 200
    chart = page.split('data-chart="by_state"', 1)[1].split("</figure>", 1)[0]
    seen: dict[str, Any] = {
        "by_state": set(stats["by_state"]), "chart": {w for w in ("待公布", "考核合格") if w in chart},
        "rated": sum(r["total"] for r in stats["pass_rates"]["institution"]),
        "paper_rated": sum(r["total"] for r in stats["pass_rates"]["paper"]),
        "scores": sum(n for _band, n in stats["score_distribution"]),
    }
    for inline in (True, False):
        how = "inline" if inline else "job"
        results = [r for r in await _xlsx_rows(api, app, "results", inline) if r["姓名"] == name]
        seen[f"results {how}"] = [(r["状态"], r["考核结果"]) for r in results]
        attempts = [r for r in await _xlsx_rows(api, app, "attempts", inline) if r["姓名"] == name]
        seen[f"attempts {how}"] = [(r["得分"], r["结论"]) for r in attempts]
        seen[f"reviews {how}"] = [r for r in await _xlsx_rows(api, app, "reviews", inline) if r["姓名"] == name]
    return seen


async def test_statistics_and_exports_hide_an_unpublished_outcome_from_the_roles_the_rule_names(client, make_client) -> None:  # type: ignore[no-untyped-def]
    """The institution and health-admin staff see 待公布 (and no score) in the statistics, their page and
    every export, inline or as a background job, until the body publishes; the body and the admin see the
    outcome throughout. A published schedule shows the score (as the physician sees it) but not the outcome."""
    await seed_exams(client.app[settings_key])
    doctor = await exam_doctor(make_client, client, GENERAL)  # 周文, INST001 under body01
    attempt = await start(doctor, "humanities")
    answers = await correct_answers(client.app, attempt, wrong=1)
    assert (await doctor.post(f"/api/v1/attempts/{attempt}/answers", {"device": DEVICE, "answers": answers}))[0] == 200
    status, body = await doctor.post(f"/api/v1/attempts/{attempt}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200, body
    score = body["attempt"]["score"]
    async with client.app[sessionmaker_key]() as s, s.begin():  # the engine decides the outcome
        row = (await s.execute(select(Attempt.registration_id, Attempt.schedule_id, Physician.name)
                               .join(Physician, Attempt.physician_id == Physician.id)
                               .where(Attempt.id == attempt))).one()
        await s.execute(update(Registration).where(Registration.id == row.registration_id).values(state="PASSED"))
    name = row.name

    staff: dict[str, Any] = {}
    for username in ("inst01", "health01", "body01", "admin"):
        staff[username] = await make_client()
        await staff[username].login_staff(username)
    hiders, deciders = ("inst01", "health01"), ("body01", "admin")

    for who in hiders:
        seen = await _seen(staff[who], client.app, name)
        assert "待公布" in seen["by_state"] and "考核合格" not in seen["by_state"], (who, seen)
        assert seen["chart"] == {"待公布"} and seen["rated"] == 0, (who, seen)
        assert seen["paper_rated"] == 0 and seen["scores"] == 0, (who, seen)  # no score counted either
        for how in ("inline", "job"):
            assert seen[f"results {how}"] == [("待公布", "待公布")], (who, how, seen)
            assert seen[f"attempts {how}"] == [("待公布", "待公布")], (who, how, seen)
            assert seen[f"reviews {how}"] == [], (who, how, seen)
    for who in deciders:
        seen = await _seen(staff[who], client.app, name)
        assert "考核合格" in seen["by_state"] and "待公布" not in seen["by_state"], (who, seen)
        assert "考核合格" in seen["chart"] and seen["rated"] >= 1 and seen["scores"] >= 1, (who, seen)
        for how in ("inline", "job"):
            assert seen[f"results {how}"] == [("考核合格", "合格")], (who, how, seen)
            assert seen[f"attempts {how}"] == [(score, "合格")], (who, how, seen)

    # The body publishes the paper's scores: the score shows (as the physician sees it), the outcome does not.
    status, body = await staff["body01"].post(f"/api/v1/exam-schedules/{row.schedule_id}/publish", {})
    assert status == 200 and body["physicians"] == 1, body
    for who in hiders:
        seen = await _seen(staff[who], client.app, name)
        assert seen["paper_rated"] >= 1 and seen["scores"] >= 1 and seen["rated"] == 0, (who, seen)
        for how in ("inline", "job"):
            assert seen[f"attempts {how}"] == [(score, "合格")], (who, how, seen)
            assert seen[f"results {how}"] == [("待公布", "待公布")], (who, how, seen)

    # The whole result is published: everyone in scope sees the outcome.
    status, body = await staff["body01"].post("/api/v1/results/publish", {})
    assert status == 200 and body["published"] >= 1, body
    for who in hiders + deciders:
        seen = await _seen(staff[who], client.app, name)
        assert "考核合格" in seen["by_state"] and "待公布" not in seen["by_state"], (who, seen)
        assert "考核合格" in seen["chart"] and seen["rated"] >= 1, (who, seen)
        for how in ("inline", "job"):
            assert seen[f"results {how}"] == [("考核合格", "合格")], (who, how, seen)
            assert seen[f"attempts {how}"] == [(score, "合格")], (who, how, seen)
