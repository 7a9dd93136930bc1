"""When a change of procedure sends an exemption back to review (domain rule 7), without storage."""

from __future__ import annotations

import itertools

import pytest

from registry.exemption_review import ExemptionState, needs_review_again, waived_paper

E = ExemptionState
PROCEDURES = (None, "simple", "general")


@pytest.mark.parametrize("state, old, new", list(itertools.product(E, PROCEDURES, PROCEDURES)))
def test_only_an_approved_exemption_is_reviewed_again_and_only_when_the_procedure_changes(state, old, new) -> None:
    # What the exemption waives follows the procedure, so an approval given for another one no
    # longer holds; an application not yet approved, or refused, has nothing to take back.
    expected = state in (E.INSTITUTION_APPROVED, E.GRANTED) and old is not None and old != new
    assert needs_review_again(state, old, new) is expected


def test_the_paper_an_exemption_waives_follows_the_procedure() -> None:
    assert waived_paper("simple") == "医学人文测评"
    assert waived_paper("general") == "业务水平测评"
    assert waived_paper(None) is None and waived_paper("") is None
