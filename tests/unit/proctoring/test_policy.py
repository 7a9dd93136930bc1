"""Violation policy over sequences of frame verdicts (no images involved)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proctoring import Consequence, FrameAnalysis, PolicySettings, Verdict, ViolationKind
from proctoring import current_violations, history_needed, new_violations


def frame(i: int, verdict: Verdict, distance: float | None = None) -> FrameAnalysis:
    checked = distance is not None
    if verdict == Verdict.OK and distance is None:
        distance, checked = 0.35, True
    return FrameAnalysis(
        frame_id=f"f{i}", captured_at=15.0 * i, verdict=verdict, distance=distance, identity_checked=checked
    )


def seq(*verdicts: Verdict) -> list[FrameAnalysis]:
    return [frame(i, v) for i, v in enumerate(verdicts)]


OK, NO, MANY, POOR = Verdict.OK, Verdict.NO_FACE, Verdict.SEVERAL_FACES, Verdict.POOR_IMAGE


def test_no_face_three_times_in_a_row_is_a_violation_with_its_evidence():
    history = seq(OK, NO, NO, NO)
    [v] = current_violations(history)
    assert v.kind == ViolationKind.NO_FACE and v.evidence_frame_ids == ("f1", "f2", "f3")
    assert v.consequence == Consequence.FLAG and v.started_at == 15.0 and v.detected_at == 45.0
    assert current_violations(seq(OK, NO, NO, OK)) == []


def test_poor_frames_neither_extend_nor_break_a_no_face_run():
    assert current_violations(seq(NO, POOR, NO, POOR)) == []
    [v] = current_violations(seq(NO, POOR, NO, NO))
    assert v.evidence_frame_ids == ("f0", "f2", "f3")


def test_several_faces_twice_in_a_row():
    assert [v.kind for v in current_violations(seq(OK, MANY, MANY))] == [ViolationKind.SEVERAL_FACES]
    assert current_violations(seq(MANY, OK, MANY)) == []


def test_another_person_needs_the_median_of_recent_checks_above_threshold():
    d = [0.3, 0.3, 0.8, 0.3, 0.8]
    history = [frame(i, OK if x < 0.56 else Verdict.ANOTHER_PERSON, x) for i, x in enumerate(d)]
    assert current_violations(history) == []
    history.append(frame(5, Verdict.ANOTHER_PERSON, 0.75))
    [v] = current_violations(history)
    assert v.kind == ViolationKind.ANOTHER_PERSON and v.evidence_frame_ids == ("f2", "f4", "f5")
    assert v.median_distance == 0.75


def test_consequence_is_configurable_per_kind():
    policy = PolicySettings(consequences={ViolationKind.SEVERAL_FACES: Consequence.END_ATTEMPT})
    [v] = current_violations(seq(MANY, MANY), policy=policy)
    assert v.consequence == Consequence.END_ATTEMPT


def test_new_violations_raise_each_incident_once():
    history = seq(OK, NO, NO, NO, NO, OK, NO, NO, NO)
    raised = [len(new_violations(history[: i + 1])) for i in range(len(history))]
    assert raised == [0, 0, 0, 1, 0, 0, 0, 0, 1]


verdicts = st.sampled_from(list(Verdict))
distances = st.floats(min_value=0.0, max_value=1.2)


@given(st.lists(st.just(OK), min_size=0, max_size=12), st.lists(st.just(OK), min_size=0, max_size=12),
       verdicts, distances)
def test_a_single_bad_frame_never_raises_a_violation(before, after, bad, distance):
    history = [frame(i, OK) for i in range(len(before))]
    history.append(frame(len(history), bad, distance if bad == Verdict.ANOTHER_PERSON else None))
    history += [frame(len(history) + i, OK) for i in range(len(after))]
    for end in range(1, len(history) + 1):
        assert current_violations(history[:end]) == []


@given(st.lists(st.tuples(verdicts, distances), max_size=30))
def test_violations_always_cite_frames_from_the_history(items):
    history = [frame(i, v, d if v in (OK, Verdict.ANOTHER_PERSON) else None) for i, (v, d) in enumerate(items)]
    ids = {f.frame_id for f in history}
    for v in current_violations(history):
        assert v.evidence_frame_ids and set(v.evidence_frame_ids) <= ids
    assert {v.kind for v in new_violations(history)} <= {v.kind for v in current_violations(history)}


def checked(i: int, distance: float) -> FrameAnalysis:
    """A frame whose identity was checked on the frame itself."""
    verdict = OK if distance <= 0.54 else Verdict.ANOTHER_PERSON
    return FrameAnalysis(frame_id=f"f{i}", captured_at=15.0 * i, verdict=verdict, distance=distance,
                         identity_checked=True)


def tracked(i: int, distance: float) -> FrameAnalysis:
    """A frame between checks: it carries the last check's distance, checked on an earlier frame."""
    return FrameAnalysis(frame_id=f"f{i}", captured_at=15.0 * i, verdict=OK, distance=distance,
                         identity_checked=False)


def test_a_distance_carried_over_by_tracked_frames_counts_once():
    # Three fresh checks, the last one bad; the face is then tracked for a minute, every frame
    # repeating that bad distance. Only the fresh checks count: their median is the candidate.
    history = [checked(0, 0.3), checked(1, 0.3), checked(2, 0.8)] + [tracked(i, 0.8) for i in range(3, 8)]
    assert current_violations(history) == []


def test_another_person_needs_three_fresh_checks():
    two = [checked(0, 0.8), tracked(1, 0.8), tracked(2, 0.8), checked(3, 0.8)]
    assert current_violations(two) == []
    [v] = current_violations(two + [checked(4, 0.8)])
    assert v.kind == ViolationKind.ANOTHER_PERSON and v.evidence_frame_ids == ("f0", "f3", "f4")
    # Two checks are enough when the policy says so.
    assert [v.kind for v in current_violations(two, policy=PolicySettings(identity_min_checks=2))] == [
        ViolationKind.ANOTHER_PERSON]


def test_a_median_at_the_threshold_is_still_the_candidate():
    policy = PolicySettings(identity_threshold=0.5)
    at = [checked(i, 0.5) for i in range(3)]
    assert current_violations(at, policy=policy) == []
    [v] = current_violations([checked(0, 0.5), checked(1, 0.5001), checked(2, 0.5001)], policy=policy)
    assert v.evidence_frame_ids == ("f1", "f2")  # a check at the threshold is no evidence against anyone


def test_an_identity_violation_dates_from_its_first_bad_check_and_is_detected_at_the_latest_frame():
    history = [checked(0, 0.3), checked(1, 0.61234567), checked(2, 0.3), checked(3, 0.7), checked(4, 0.9),
               tracked(5, 0.9)]
    [v] = current_violations(history, policy=PolicySettings(
        consequences={ViolationKind.ANOTHER_PERSON: Consequence.END_ATTEMPT}))
    assert (v.started_at, v.detected_at) == (15.0, 75.0)
    assert v.evidence_frame_ids == ("f1", "f3", "f4")
    assert v.median_distance == 0.6123  # of 0.3, 0.6123..., 0.3, 0.7, 0.9; kept to 4 places
    assert v.consequence == Consequence.END_ATTEMPT


def test_two_minutes_of_unusable_images_is_a_poor_image_violation():
    assert current_violations(seq(OK, *[POOR] * 7)) == []
    [v] = current_violations(seq(OK, *[POOR] * 8))
    assert v.kind == ViolationKind.POOR_IMAGE and v.evidence_frame_ids == tuple(f"f{i}" for i in range(1, 9))
    assert (v.started_at, v.detected_at) == (15.0, 120.0)
    # Any usable frame in between starts the count again.
    assert current_violations(seq(*[POOR] * 4, OK, *[POOR] * 4)) == []
    assert [v.kind for v in current_violations(seq(*[POOR] * 3), policy=PolicySettings(poor_image_frames=3))] == [
        ViolationKind.POOR_IMAGE]


def test_new_violations_follow_the_policy_given():
    policy = PolicySettings(no_face_frames=2)
    history = seq(OK, NO, NO, NO)
    assert [len(new_violations(history[: i + 1], policy=policy)) for i in range(len(history))] == [0, 0, 1, 0]


def test_the_history_kept_covers_the_longest_rule_four_times_over():
    """Poor frames inside a run are skipped, so a run may stretch over more frames than it counts."""
    assert history_needed() == 4 * 8  # poor images, 8 frames, is the longest default rule
    for field in ("no_face_frames", "several_faces_frames", "identity_window", "poor_image_frames"):
        assert history_needed(PolicySettings(**{field: 50})) == 200, field
