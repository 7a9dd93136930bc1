"""The liveness challenge judged across frames: the asked turns in the asked order pass; a still
face, the wrong order, a missing turn, another person or a second face fail."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from proctoring import Enrolment, FrameAnalysis, LivenessMeasures, Verdict
from proctoring.challenge import (
    Challenge, Failure, Pose, TaggedFrame, identity_aggregates, judge_challenge, own_mean_phases, phase_distance,
    pick_challenge,
    same_person_throughout,
)

TOL = 0.564
YAW = {"front": -6.0, "left": -26.0, "right": 20.0}


def frame(i: int, phase: int, pose: str, *, verdict: Verdict = Verdict.OK, distance: float = 0.3) -> TaggedFrame:
    return TaggedFrame(phase, FrameAnalysis(frame_id=f"f{i}", captured_at=float(i), verdict=verdict, distance=distance,
                                            identity_checked=True,
                                            liveness=LivenessMeasures(0.3, 0.3, YAW[pose], 8.0, 0.0)))


def video(challenge: Challenge, poses: list[str] | None = None, **kw: object) -> list[TaggedFrame]:
    poses = poses or [str(p) for p in challenge.phases]
    return [frame(2 * i + k, i, pose, **kw) for i, pose in enumerate(poses) for k in range(2)]  # type: ignore[arg-type]


def test_the_server_picks_both_directions_in_varying_orders() -> None:
    rng = random.Random(7)
    picked = {pick_challenge(rng).steps for _ in range(200)}
    assert len(picked) == 6  # every 3-step order with both directions
    assert all(Pose.LEFT in s and Pose.RIGHT in s for s in picked)


def test_the_asked_turns_pass() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    verdict = judge_challenge(c, video(c), tolerance=TOL)
    assert verdict.passed and verdict.failure is None and verdict.frontal_frame_ids


def test_a_still_photo_fails() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    verdict = judge_challenge(c, video(c, ["front"] * len(c.phases)), tolerance=TOL)
    assert not verdict.passed and verdict.failure is Failure.POSE_MISSING
    assert verdict.message_zh.startswith("未检测到按提示完成的转头动作，请看到提示后把头明显转向")


def test_a_recording_in_another_order_fails() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.RIGHT))
    other = ["front", "right", "front", "left", "front", "right", "front"]
    assert judge_challenge(c, video(c, other), tolerance=TOL).failure is Failure.WRONG_TURN


def test_another_person_several_faces_and_missing_frames_fail() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    assert judge_challenge(c, video(c, distance=0.7), tolerance=TOL).failure is Failure.ANOTHER_PERSON
    assert judge_challenge(c, video(c, verdict=Verdict.SEVERAL_FACES), tolerance=TOL).failure is Failure.SEVERAL_FACES
    assert judge_challenge(c, video(c)[:4], tolerance=TOL).failure is Failure.TOO_FEW_FRAMES
    assert judge_challenge(c, [], tolerance=TOL).failure is Failure.TOO_FEW_FRAMES


def test_the_same_seed_picks_the_same_challenge_and_it_survives_storage() -> None:
    first, again = pick_challenge(random.Random(3)), pick_challenge(random.Random(3))
    assert first == again
    stored = first.to_list()
    assert stored == [str(s) for s in first.steps] and all(s in ("left", "right") for s in stored)
    assert Challenge.from_list(stored) == first


def _turn_by(degrees: float, asked: Pose) -> list[TaggedFrame]:
    """A frontal baseline at yaw 0, then every phase at 0 except the asked turn's, at ``degrees``."""
    c = Challenge((asked, Pose.RIGHT if asked is Pose.LEFT else Pose.LEFT))
    frames = []
    for i, pose in enumerate(c.phases):
        yaw = 0.0 if i != 1 else degrees
        if i == 3:  # the second turn, done plainly
            yaw = 25.0 if pose is Pose.RIGHT else -25.0
        for suffix in ("", "b"):  # two frames a phase (MIN_FRAMES_PER_PHASE)
            frames.append(TaggedFrame(i, FrameAnalysis(frame_id=f"f{i}{suffix}", captured_at=float(i),
                                                       verdict=Verdict.OK, distance=0.3, identity_checked=True,
                                                       liveness=LivenessMeasures(0.3, 0.3, yaw, 8.0, 0.0))))
    return frames


def test_a_turn_counts_from_ten_degrees_off_the_baseline() -> None:
    c_left = Challenge((Pose.LEFT, Pose.RIGHT))
    c_right = Challenge((Pose.RIGHT, Pose.LEFT))
    assert judge_challenge(c_left, _turn_by(-10.0, Pose.LEFT), tolerance=TOL).passed
    assert judge_challenge(c_left, _turn_by(-9.99, Pose.LEFT), tolerance=TOL).failure is Failure.POSE_MISSING
    assert judge_challenge(c_right, _turn_by(10.0, Pose.RIGHT), tolerance=TOL).passed
    assert judge_challenge(c_right, _turn_by(9.99, Pose.RIGHT), tolerance=TOL).failure is Failure.POSE_MISSING
    # Turning the other way, however little past ten degrees, is the wrong turn.
    assert judge_challenge(c_left, _turn_by(10.0, Pose.LEFT), tolerance=TOL).failure is Failure.WRONG_TURN


def test_a_frame_within_six_degrees_of_the_baseline_is_frontal() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT))
    frames = _turn_by(-25.0, Pose.LEFT)
    for degrees, frontal in ((6.0, True), (-6.0, True), (6.01, False), (-6.01, False)):
        moved = [TaggedFrame(f.phase, FrameAnalysis(
            frame_id=f.analysis.frame_id, captured_at=f.analysis.captured_at, verdict=Verdict.OK, distance=0.3,
            identity_checked=True, liveness=LivenessMeasures(0.3, 0.3, degrees, 8.0, 0.0)))
            if f.phase == 2 else f for f in frames]
        verdict = judge_challenge(c, moved, tolerance=TOL)
        assert verdict.passed is frontal, degrees
        if frontal:
            assert verdict.frontal_frame_ids == ("f0", "f0b", "f2", "f2b", "f4", "f4b")
        else:
            assert verdict.failure is Failure.POSE_MISSING


def test_frames_tagged_outside_the_challenges_phases_count_for_nothing() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    good = video(c)
    stray = [TaggedFrame(p, f.analysis) for p, f in zip((-1, len(c.phases)), good)]
    assert judge_challenge(c, good + stray, tolerance=TOL).passed
    # Enough frames in number, but a phase with none of its own: too few.
    without_last = [f for f in good if f.phase != len(c.phases) - 1]
    assert judge_challenge(c, without_last + stray, tolerance=TOL).failure is Failure.TOO_FEW_FRAMES


def _at(frames: list[TaggedFrame], i: int, **changes: object) -> list[TaggedFrame]:
    """``frames`` with frame ``i``'s analysis changed."""
    out = list(frames)
    a = out[i].analysis
    fields = {"frame_id": a.frame_id, "captured_at": a.captured_at, "verdict": a.verdict, "distance": a.distance,
              "identity_checked": a.identity_checked, "liveness": a.liveness, **changes}
    out[i] = TaggedFrame(out[i].phase, FrameAnalysis(**fields))  # type: ignore[arg-type]
    return out


def test_every_verdict_reports_the_best_distance_seen() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    good = _at(video(c), 3, distance=0.21)
    cases = [
        (None, good, 0.21),
        (Failure.SEVERAL_FACES, _at(good, 5, verdict=Verdict.SEVERAL_FACES), 0.21),
        (Failure.ANOTHER_PERSON, _at(good, 5, verdict=Verdict.ANOTHER_PERSON, distance=0.9), 0.21),
        (Failure.NO_FACE, _at(good, 5, verdict=Verdict.NO_FACE, distance=None), 0.21),
        (Failure.WRONG_TURN, video(c, ["front", "right", "front", "right", "front", "left", "front"]), 0.3),
        (Failure.POSE_MISSING, video(c, ["front"] * 7), 0.3),
        # The head still turned when asked to face the camera again.
        (Failure.POSE_MISSING, video(c, ["front", "left", "left", "right", "front", "left", "front"]), 0.3),
        (Failure.NO_FACE, video(c, verdict=Verdict.NO_FACE, distance=None), None),
        (Failure.ANOTHER_PERSON, video(c, distance=0.7), 0.7),
    ]
    for failure, frames, best in cases:
        verdict = judge_challenge(c, frames, tolerance=TOL)
        assert (verdict.passed, verdict.failure, verdict.best_distance) == (failure is None, failure, best)


def test_a_face_without_liveness_measures_counts_as_no_face() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    verdict = judge_challenge(c, _at(video(c), 4, liveness=None), tolerance=TOL)
    assert (verdict.passed, verdict.failure) == (False, Failure.NO_FACE)
    assert verdict.message_zh == "部分画面中未检测到人脸，请正对摄像头、保持光线充足"


def test_a_match_at_the_tolerance_itself_is_the_same_person() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    assert judge_challenge(c, video(c, distance=TOL), tolerance=TOL).passed
    assert judge_challenge(c, video(c, distance=TOL + 0.001), tolerance=TOL).failure is Failure.ANOTHER_PERSON


def test_a_baseline_where_the_head_never_holds_still_fails_as_no_baseline() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    frames = video(c)
    frames = _at(frames, 0, liveness=LivenessMeasures(0.3, 0.3, -30.0, 8.0, 0.0))
    frames = _at(frames, 1, liveness=LivenessMeasures(0.3, 0.3, 30.0, 8.0, 0.0))
    verdict = judge_challenge(c, frames, tolerance=TOL)
    assert verdict.failure is Failure.NO_BASELINE and verdict.message_zh.startswith("未检测到正对摄像头的画面，请正对摄像头")


def test_a_frame_tagged_past_the_last_phase_is_ignored_whatever_it_shows() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    stray = TaggedFrame(len(c.phases), FrameAnalysis(frame_id="late", captured_at=99.0, verdict=Verdict.SEVERAL_FACES))
    assert judge_challenge(c, video(c) + [stray], tolerance=TOL).passed


def _encoded(distance_to_origin: list[float]) -> list[FrameAnalysis]:
    """Frames whose encodings lie on one axis at the given distances from a reference at the origin."""
    out = []
    for i, d in enumerate(distance_to_origin):
        encoding = np.zeros(128)
        encoding[i % 2] = d  # alternate axes: the mean lies nearer the reference than either frame
        out.append(FrameAnalysis(frame_id=f"e{i}", captured_at=float(i), verdict=Verdict.OK, distance=d,
                                 identity_checked=True, encoding=tuple(encoding)))
    return out


def test_a_phase_is_judged_on_its_frames_mean_encoding() -> None:
    origin = Enrolment(person_id="p", encodings=(tuple(0.0 for _ in range(128)),), model_version="test")
    # Two frames 0.6 off on different axes: their mean is 0.6 / sqrt(2) from the reference.
    assert phase_distance(origin, _encoded([0.6, 0.6])) == pytest.approx(0.6 / math.sqrt(2))
    # On one axis the mean is where the frames are.
    assert phase_distance(origin, _encoded([0.5])) == pytest.approx(0.5)
    # A frame without a face (no encoding) counts for nothing; none at all gives no aggregate.
    faceless = FrameAnalysis(frame_id="n", captured_at=0.0, verdict=Verdict.NO_FACE)
    assert phase_distance(origin, _encoded([0.5]) + [faceless]) == pytest.approx(0.5)
    assert phase_distance(origin, [faceless]) is None and phase_distance(origin, []) is None


def test_the_phase_aggregate_decides_and_every_frame_is_still_capped() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    frames = video(c, distance=0.5)
    everywhere = dict.fromkeys(range(len(c.phases)), 0.3)
    assert judge_challenge(c, frames, tolerance=0.54, reject=0.6, phase_distances=everywhere).passed
    # A phase whose aggregate is over the tolerance fails, whatever its frames' median.
    assert judge_challenge(c, frames, tolerance=0.54, reject=0.6,
                           phase_distances={**everywhere, 3: 0.55}).failure is Failure.ANOTHER_PERSON
    # Frames over the tolerance but within the cap pass on a close aggregate ...
    assert judge_challenge(c, video(c, distance=0.58), tolerance=0.54, reject=0.6, phase_distances=everywhere).passed
    # ... and one frame beyond the cap (another face swapped in for a moment) fails, whatever the aggregate.
    swapped = _at(frames, 6, distance=0.61)
    assert judge_challenge(c, swapped, tolerance=0.54, reject=0.6,
                           phase_distances=everywhere).failure is Failure.ANOTHER_PERSON
    # Without an aggregate for a phase, its frames' median decides.
    assert judge_challenge(c, video(c, distance=0.58), tolerance=0.54, reject=0.6,
                           phase_distances={0: 0.3}).failure is Failure.ANOTHER_PERSON


def _at_distance(index: int, phase: int, d: float, axis: int) -> TaggedFrame:
    encoding = np.zeros(128)
    encoding[axis] = d
    return TaggedFrame(phase, FrameAnalysis(frame_id=f"a{index}", captured_at=float(index), verdict=Verdict.OK,
                                            distance=d, identity_checked=True, encoding=tuple(encoding)))


def test_the_first_phase_is_judged_on_the_whole_check_and_a_turn_on_its_own_frames() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    registration = Enrolment(person_id="p", encodings=(tuple(0.0 for _ in range(128)),), model_version="test")
    # The frontal phases 0.56 off on one axis, the turns 0.4 off on others: the check's mean is within.
    frames = [_at_distance(2 * p + k, p, 0.56 if pose is Pose.FRONT else 0.4, 0 if pose is Pose.FRONT else 1 + p)
              for p, pose in enumerate(c.phases) for k in range(2)]
    references = dict.fromkeys(range(len(c.phases)), registration)
    alone = identity_aggregates(c.phases, frames, registration=registration, phase_references=references,
                                session_capture=False)
    check_wide = phase_distance(registration, [f.analysis for f in frames])
    assert check_wide is not None and check_wide < 0.54
    # Without a capture every frontal phase is the whole check's mean; each turn its own frames' (0.4).
    assert alone == {p: pytest.approx(check_wide if pose is Pose.FRONT else 0.4) for p, pose in enumerate(c.phases)}
    # Once the first phase's capture joined, the later frontal phases are their own frames' again.
    joined = identity_aggregates(c.phases, frames, registration=registration, phase_references=references,
                                 session_capture=True)
    assert joined[0] == pytest.approx(check_wide) and joined[2] == pytest.approx(0.56)
    # A turn phase of someone else stays that phase's face whatever the check's mean.
    swapped = [_at_distance(i, f.phase, 0.58, 1) if f.phase == 3 else f for i, f in enumerate(frames)]
    aggregates = identity_aggregates(c.phases, swapped, registration=registration, phase_references=references,
                                     session_capture=False)
    assert aggregates[3] == pytest.approx(0.58)
    assert not same_person_throughout(c.phases, swapped, tolerance=0.54, reject=0.6, phase_distances=aggregates)
    assert same_person_throughout(c.phases, frames, tolerance=0.54, reject=0.6, phase_distances=alone)
    # Every frame is still capped on itself: the frontal frames at 0.56 fail a cap of 0.55.
    assert not same_person_throughout(c.phases, frames, tolerance=0.54, reject=0.55, phase_distances=alone)


def test_the_margin_is_only_for_frontal_phases_the_whole_check_vouches_for() -> None:
    c = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    assert own_mean_phases(c.phases, session_capture=False) == {1, 3, 5}  # the turns
    assert own_mean_phases(c.phases, session_capture=True) == {1, 2, 3, 4, 5, 6}
    everywhere = dict.fromkeys(range(len(c.phases)), 0.3)
    turns = own_mean_phases(c.phases, session_capture=False)
    # A frontal frame at 0.58 is within the cap (0.60): its phase is judged on the whole check.
    frontal = _at(video(c), 0, distance=0.58)
    assert judge_challenge(c, frontal, tolerance=0.54, reject=0.6, phase_distances=everywhere,
                           capped_at_tolerance=turns).passed
    # A turn frame at 0.58 is not, whatever its phase's mean: a look-alike's turn stays refused.
    turn = _at(video(c), 2, distance=0.58)
    assert judge_challenge(c, turn, tolerance=0.54, reject=0.6, phase_distances=everywhere,
                           capped_at_tolerance=turns).failure is Failure.ANOTHER_PERSON
    assert judge_challenge(c, turn, tolerance=0.54, reject=0.6, phase_distances=everywhere).passed
