"""The registration photo: content checks, then exactly one usable face via the proctoring library."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import proctoring

from .uploads import CheckedFile, UploadRejected, check_photo


@dataclass(frozen=True, slots=True)
class EnrolledPhoto:
    file: CheckedFile
    enrolment: dict[str, Any]


def _check_and_enrol(data: bytes, filename: str, person_id: str) -> EnrolledPhoto:
    checked = check_photo(data, filename=filename)
    try:
        enrolment = proctoring.enrol(checked.data, person_id=person_id)
    except proctoring.EnrolmentRefused as exc:
        raise UploadRejected("photo", f"照片不符合要求：{exc.refusal.message_zh}") from None
    return EnrolledPhoto(checked, enrolment.to_dict())


async def check_and_enrol(data: bytes, *, filename: str, person_id: str) -> EnrolledPhoto:
    # Face detection takes a fraction of a second of CPU: keep it off the event loop.
    return await asyncio.get_running_loop().run_in_executor(None, _check_and_enrol, data, filename, person_id)
