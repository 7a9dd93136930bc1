"""The exemption's review states, and sending a decided exemption back to review (domain rule 7).

Kept apart from exemptions.py so the registration workflow can reopen an exemption without
importing the module that itself builds on the workflow.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .db import utcnow
from .messages import notify_physicians
from .models import Exemption, Registration

PAPER_WAIVED = {"simple": "医学人文测评", "general": "业务水平测评"}


class ExemptionState(StrEnum):
    SUBMITTED = "SUBMITTED"
    INSTITUTION_APPROVED = "INSTITUTION_APPROVED"
    GRANTED = "GRANTED"
    REFUSED = "REFUSED"


EXEMPTION_WORDS = {
    ExemptionState.SUBMITTED: "免考申请中（待机构审核）",
    ExemptionState.INSTITUTION_APPROVED: "免考申请中（待考核机构审核）",
    ExemptionState.GRANTED: "免考已批准",
    ExemptionState.REFUSED: "免考未批准",
}
# Approved by someone for the procedure in force then: what it waives changes with the procedure.
_DECIDED_FOR_A_PROCEDURE = {ExemptionState.INSTITUTION_APPROVED, ExemptionState.GRANTED}


def waived_paper(procedure: str | None) -> str | None:
    return PAPER_WAIVED.get(procedure or "")


def needs_review_again(state: ExemptionState, old_procedure: str | None, new_procedure: str | None) -> bool:
    """A change of procedure sends an approved or granted exemption back to review (rule 7)."""
    return bool(old_procedure) and old_procedure != new_procedure and state in _DECIDED_FOR_A_PROCEDURE


async def reopen_on_procedure_change(session: AsyncSession, reg: Registration, *, actor_id: int,
                                     old_procedure: str | None, new_procedure: str | None,
                                     request_id: str | None = None) -> Exemption | None:
    exemption = await session.scalar(select(Exemption).where(Exemption.registration_id == reg.id).with_for_update())
    if exemption is None or not needs_review_again(ExemptionState(exemption.state), old_procedure, new_procedure):
        return None
    before = exemption.state
    exemption.state = ExemptionState.SUBMITTED
    exemption.version = (exemption.version or 0) + 1
    exemption.decision_reason = None
    exemption.institution_decided_by = exemption.body_decided_by = None
    exemption.updated_at = utcnow()
    await session.flush()
    audit.record(session, actor_id=actor_id, action="exemption_back_to_review", entity="exemption",
                 entity_id=exemption.id, detail={"from": before, "to": ExemptionState.SUBMITTED,
                                                 "old_procedure": old_procedure, "new_procedure": new_procedure},
                 request_id=request_id)
    await notify_physicians(session, [reg.physician_id],
                            f"您更改了考核程序，免考申请（原免考{waived_paper(old_procedure)}）需重新审核，"
                            f"批准后免考{waived_paper(new_procedure)}")
    return exemption
