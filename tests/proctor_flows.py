"""Reusable flows for proctoring tests: an enrolled exam physician, staff, waiting for events."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from sqlalchemy import select

from exam_server.web.keys import sessionmaker_key, storage_key
from registry.models import Account, Physician, Registration, StoredFile

from .exam_flows import exam_doctor
from .face_video import canvas, jpeg
from .helpers import Api

PERSON = "identities/df01/1.jpg"
PERSON_OTHER_PHOTO = "identities/df01/2.jpg"
OTHER = "identities/df03/1.jpg"


async def enrol_photo(app: Any, index: int, rel: str = PERSON) -> int:
    """The physician's registration photo with its enrolment, as the photo upload stores it."""
    import proctoring

    from exam_server.demo.exams import exam_login

    photo = jpeg(canvas(rel))
    enrolment = await asyncio.to_thread(proctoring.enrol, photo, person_id="x")
    key = await app[storage_key].put(photo, prefix="photos")
    async with app[sessionmaker_key]() as session, session.begin():
        physician = await session.scalar(select(Physician).where(Physician.id_number == exam_login(index)))
        reg = await session.scalar(select(Registration).where(Registration.physician_id == physician.id))
        account = await session.scalar(select(Account).where(Account.physician_id == physician.id))
        session.add(StoredFile(kind="photo", owner_account_id=account.id, registration_id=reg.id,
                               storage_key=key, mime="image/jpeg", size=len(photo), sha256="0" * 64,
                               original_name="photo.jpg", meta={"enrolment": enrolment.to_dict()}))
        return physician.id


async def consenting_doctor(make_client: Any, client: Api, index: int) -> Api:
    doctor = await exam_doctor(make_client, client, index)
    status, body = await doctor.get("/api/v1/proctoring/consent")
    assert status == 200, body
    status, body = await doctor.post("/api/v1/proctoring/consent", {"version": body["version"]})
    assert status == 200, body
    return doctor


async def staff(make_client: Any, username: str) -> Api:
    api = await make_client()
    await api.login_staff(username)
    return api


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 60.0, every: float = 0.2) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)
