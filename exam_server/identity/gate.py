"""The one place where the pre-exam check plugs in before an attempt starts (rule 9).

With ``Settings.exam_face_check`` on (the default), a physician may start a paper only with the
face-capture consent in force and a passed identity check for that paper: a live check
(:mod:`.checks`) from the last few minutes, or a manual verification by the body.
The check is then tied to the attempt it opened, so one check opens one attempt.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import IllegalTransition
from registry.scope import Actor

from ..settings import Settings
from . import checks as identity, consent


class IdentityCheckRequired(IllegalTransition):
    pass


async def identity_gate(settings: Settings, actor: Actor, kind: str, *, session: AsyncSession,
                        now: dt.datetime) -> int | None:
    """Raise when the physician may not start ``kind`` yet; return the passed check's id to tie to
    the attempt (None when the check is switched off). Runs in the start's own transaction."""
    if not settings.exam_face_check or actor.physician_id is None:
        return None
    check = await identity.valid_pass(session, actor.physician_id, kind, now=now)
    manual = check is not None and check.manual_by is not None
    consented = manual or await consent.current_consent(session, actor.physician_id) is not None
    return admit(check.id if check is not None else None, manual=manual, consented=consented)


def admit(check_id: int | None, *, manual: bool, consented: bool) -> int:
    """The check that opens the attempt, or why there is none."""
    if check_id is not None and manual:
        return check_id  # the body verified the person by hand: consent is not needed for that
    if not consented:
        raise IdentityCheckRequired("开考前须同意《人脸信息采集授权》并通过身份核验（或由考核机构人工核验）")
    if check_id is None:
        raise IdentityCheckRequired("开考前须通过人脸身份核验")
    return check_id
