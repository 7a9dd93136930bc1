"""The one place where the pre-exam check plugs in before an attempt starts (rule 9).

With ``Settings.exam_face_check`` on (the default), a physician may start a paper only with the
face-capture consent in force and a passed identity check for that paper: a live check
(:mod:`.checks`) from the last few minutes, or a manual verification by the body.
The check is then tied to the attempt it opened, so one check opens one attempt.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from registry.scope import Actor

from ..settings import Settings
from . import checks as identity, consent
from .rules import IdentityCheckRequired, admit

__all__ = ["IdentityCheckRequired", "admit", "identity_gate"]


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
