"""人脸信息采集授权: the consent text (versioned), accepting and withdrawing it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.errors import IllegalTransition, InvalidInput
from registry.scope import Actor

from .models import FaceConsent

VERSION = "2026.1"


def consent_text(retention_days: int) -> list[tuple[str, str]]:
    """The consent's sections (heading, text); the version above changes whenever this does."""
    return [
        ("收集哪些信息", "报名照片中的人脸特征；考前身份核验和考试过程中摄像头拍摄的画面；考试页面的切换、失去焦点、"
                      "退出全屏、复制粘贴、摄像头中断和网络断开等事件。"),
        ("为什么收集", "核实参加考试的是医师本人，并在考试过程中发现替考、他人协助等违规情况（《医师定期考核》在线考试规则）。"),
        ("谁能看到", "负责本场考试的监考员和考核机构工作人员；人脸特征只用于本系统的身份比对，不向第三方提供。"),
        ("保存多久", f"违规证据画面和缩略图在拍摄后 {retention_days} 天自动删除；人脸特征随报名记录保存。"),
        ("您的权利", "您可以不同意或随时撤回本授权，改为向考核机构申请人工核验身份；撤回后，未经人工核验不能开始新的考试。"),
    ]


async def current_consent(session: AsyncSession, physician_id: int) -> FaceConsent | None:
    return await session.scalar(select(FaceConsent).where(
        FaceConsent.physician_id == physician_id, FaceConsent.withdrawn_at.is_(None),
        FaceConsent.text_version == VERSION).order_by(FaceConsent.id.desc()).limit(1))


async def accept(session: AsyncSession, actor: Actor, version: str, *, now: dt.datetime,
                 request_id: str | None = None) -> FaceConsent:
    assert actor.physician_id is not None
    if version != VERSION:
        raise InvalidInput("授权书已更新，请刷新页面后重新阅读", fields={"version": "授权书版本已更新"})
    existing = await current_consent(session, actor.physician_id)
    if existing is not None:
        return existing
    row = FaceConsent(physician_id=actor.physician_id, text_version=VERSION, accepted_at=now)
    session.add(row)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="consent.accept", entity="physician",
                 entity_id=actor.physician_id, detail={"version": VERSION}, request_id=request_id)
    return row


async def withdraw(session: AsyncSession, actor: Actor, *, now: dt.datetime, request_id: str | None = None) -> None:
    assert actor.physician_id is not None
    result = await session.execute(update(FaceConsent).where(
        FaceConsent.physician_id == actor.physician_id, FaceConsent.withdrawn_at.is_(None)).values(withdrawn_at=now))
    if result.rowcount == 0:
        raise IllegalTransition("您尚未授权，无需撤回")
    audit.record(session, actor_id=actor.account_id, action="consent.withdraw", entity="physician",
                 entity_id=actor.physician_id, detail={}, request_id=request_id)
