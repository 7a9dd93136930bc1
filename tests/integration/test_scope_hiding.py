"""An id that exists but lies outside the caller's scope answers exactly as an id that does not exist,
so an outsider learns nothing about which ids exist. Walks every declared endpoint with ids in its path
or in its body.
"""

from __future__ import annotations

import re
from typing import Any

from exam_server.web.edge import DB_INT_MAX
from exam_server.web.routes import routes

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
