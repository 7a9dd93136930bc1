"""The one place where a pre-exam check plugs in before an attempt starts.

The proctoring work adds the live identity check (rule 9) here; until then, with
``Settings.exam_face_check`` on, no attempt can start, so a deployment cannot believe it has a
check it does not have.
"""

from __future__ import annotations

from registry.errors import IllegalTransition
from registry.scope import Actor

from ..settings import Settings


class IdentityCheckRequired(IllegalTransition):
    pass


async def identity_gate(settings: Settings, actor: Actor, kind: str) -> None:
    """Raise when the physician may not start ``kind`` before passing the identity check."""
    if settings.exam_face_check:
        raise IdentityCheckRequired("开考前须通过人脸身份核验，本系统尚未启用该核验，请联系考核机构")
