"""Records of uploaded files and who may read them. The bytes live in exam_server's storage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .errors import InvalidInput, NotFound
from .models import Physician, Registration, StoredFile
from .roles import Role
from .scope import Actor, can_see_physician
from .states import State, staff_see_contents

KINDS = {"photo": "照片", "proof": "证明材料", "exemption_proof": "免考证明材料"}
MAX_PER_KIND = {"photo": 20, "proof": 10, "exemption_proof": 10}


async def count_files(session: AsyncSession, registration_id: int, kind: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(StoredFile).where(
        StoredFile.registration_id == registration_id, StoredFile.kind == kind)) or 0)


async def add_file(session: AsyncSession, actor: Actor, registration: Registration, *, kind: str, storage_key: str,
                   mime: str, size: int, sha256: str, original_name: str, meta: dict[str, Any] | None = None) -> StoredFile:
    if kind not in KINDS:
        raise InvalidInput("文件类别无效")
    record = StoredFile(kind=kind, owner_account_id=actor.account_id, registration_id=registration.id,
                        storage_key=storage_key, mime=mime, size=size, sha256=sha256,
                        original_name=original_name[:255] or "upload", meta=meta or {})
    session.add(record)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="upload", entity="file", entity_id=record.id,
                 detail={"kind": kind, "registration_id": registration.id, "size": size, "sha256": sha256})
    return record


async def readable_file(session: AsyncSession, actor: Actor, file_id: int) -> StoredFile:
    """The file if the actor may see it: its physician, or staff overseeing the physician's institution;
    anything else answers exactly as a missing id (404, the same message)."""
    record = await session.get(StoredFile, file_id)
    if record is None or record.registration_id is None:
        raise NotFound("文件不存在")
    reg = await session.get(Registration, record.registration_id)
    physician = await session.get(Physician, reg.physician_id) if reg else None
    if physician is None or reg is None:
        raise NotFound("文件不存在")
    if actor.role is not Role.PHYSICIAN and not staff_see_contents(State(reg.state)):
        raise NotFound("文件不存在")  # an unsubmitted draft's uploads are the physician's alone
    # Invigilators see no file by id: they compare a candidate's face with the enrolled photo through
    # /api/v1/attempts/{id}/registration-photo, which checks that they follow that attempt.
    if not can_see_physician(actor, physician):
        raise NotFound("文件不存在")  # as a missing one: ids reveal nothing
    return record


async def files_of(session: AsyncSession, registration_id: int) -> list[StoredFile]:
    return list((await session.scalars(select(StoredFile).where(StoredFile.registration_id == registration_id)
                                       .order_by(StoredFile.id))).all())



async def owned_file(session: AsyncSession, actor: Actor, file_id: int) -> StoredFile:
    record = await session.get(StoredFile, file_id)
    if record is None or record.owner_account_id != actor.account_id:
        raise NotFound("文件不存在")
    return record


async def remove_file(session: AsyncSession, actor: Actor, record: StoredFile, *, in_use: set[int]) -> None:
    """A physician withdraws one of their uploads that the record does not use."""
    if record.id in in_use:
        raise InvalidInput("该文件正在报名信息或免考申请中使用，请先取消选择并保存", fields={"file": "文件正在使用"})
    await session.delete(record)
    audit.record(session, actor_id=actor.account_id, action="remove_file", entity="file", entity_id=record.id,
                 detail={"kind": record.kind, "sha256": record.sha256})
