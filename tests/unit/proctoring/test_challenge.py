"""The liveness challenge judged across frames: the asked turns in the asked order pass; a still
face, the wrong order, a missing turn, another person or a second face fail."""

from __future__ import annotations

import random

from proctoring import FrameAnalysis, LivenessMeasures, Verdict
from proctoring.challenge import Challenge, Failure, Pose, TaggedFrame, judge_challenge, pick_challenge

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
    assert verdict.message_zh == "未检测到按提示完成的转头动作"


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
