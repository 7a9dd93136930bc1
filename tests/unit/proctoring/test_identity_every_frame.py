"""Identity decided on every frame that decides anything (issue 19): the challenge judge takes
no decision carried from another frame, a frame far from the enrolment fails the check on its
own, each phase's median must match; during the exam a scene cut breaks the face track so a swap
in the same place is checked at once."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from proctoring import (
    AnalysisSettings, FaceBox, FrameAnalysis, LivenessMeasures, TrackingState, Verdict, VerifyReason, analyze_frame,
)
from proctoring.challenge import MIN_FRAMES_PER_PHASE, REJECT_MARGIN, SEEN_PER_PHASE, Challenge, Failure, Pose, TaggedFrame, judge_challenge
from proctoring.enrolment import identity_distance
from proctoring.faces import detect_faces_thoroughly
from proctoring.imaging import decode_image, encode_jpeg
from proctoring.scene import scene_change, scene_signature
from proctoring.tracking import verification_reason

TOL = 0.54
YAW = {"front": -6.0, "left": -26.0, "right": 20.0}


def video(challenge: Challenge, distance: float = 0.3, per_phase: int = 2) -> list[TaggedFrame]:
    """``per_phase`` frames a phase, each showing the asked pose, each checked on itself."""
    return [TaggedFrame(i, FrameAnalysis(frame_id=f"f{per_phase * i + k}", captured_at=float(per_phase * i + k),
                                         verdict=Verdict.OK, distance=distance, identity_checked=True,
                                         liveness=LivenessMeasures(0.3, 0.3, YAW[str(pose)], 8.0, 0.0)))
            for i, pose in enumerate(challenge.phases) for k in range(per_phase)]


def _at(frames: list[TaggedFrame], i: int, **changes: object) -> list[TaggedFrame]:
    out = list(frames)
    out[i] = TaggedFrame(out[i].phase, replace(out[i].analysis, **changes))  # type: ignore[arg-type]
    return out

C = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
REJECT = TOL + REJECT_MARGIN
SETTINGS = AnalysisSettings()


def test_a_frame_whose_identity_was_not_checked_on_itself_fails_the_check() -> None:
    frames = _at(video(C), 5, identity_checked=False)
    assert judge_challenge(C, frames, tolerance=TOL).failure is Failure.ANOTHER_PERSON
    assert judge_challenge(C, _at(video(C), 5, distance=None), tolerance=TOL).failure is Failure.ANOTHER_PERSON


def test_one_frame_beyond_the_reject_distance_fails_whatever_the_others_show() -> None:
    # Phase 2 has frames 4 and 5; its median stays low when only one frame is far.
    at = _at(_at(video(C), 4, distance=0.2), 5, distance=REJECT)
    assert judge_challenge(C, at, tolerance=TOL, reject=REJECT).passed
    beyond = _at(_at(video(C), 4, distance=0.2), 5, distance=REJECT + 0.001)
    verdict = judge_challenge(C, beyond, tolerance=TOL, reject=REJECT)
    assert verdict.failure is Failure.ANOTHER_PERSON and verdict.message_zh.startswith("人脸与报名照片不一致")
    # The default reject distance is the tolerance plus REJECT_MARGIN.
    assert judge_challenge(C, at, tolerance=TOL).passed
    assert judge_challenge(C, beyond, tolerance=TOL).failure is Failure.ANOTHER_PERSON


def test_each_phase_median_must_be_within_the_tolerance() -> None:
    loose = TOL + 0.05
    at = _at(_at(video(C), 2, distance=TOL), 3, distance=TOL)
    assert judge_challenge(C, at, tolerance=TOL, reject=loose).passed
    over = _at(_at(video(C), 2, distance=TOL + 0.001), 3, distance=TOL + 0.001)
    assert judge_challenge(C, over, tolerance=TOL, reject=loose).failure is Failure.ANOTHER_PERSON


def test_another_person_in_one_turn_phase_fails() -> None:
    frames = video(C)
    for i in (6, 7):  # phase 3, the second turn
        frames = _at(frames, i, distance=0.85, verdict=Verdict.ANOTHER_PERSON)
    assert judge_challenge(C, frames, tolerance=TOL).failure is Failure.ANOTHER_PERSON


def test_only_frames_within_the_tolerance_may_join_the_enrolment() -> None:
    frames = _at(video(C), 0, distance=TOL + 0.001)
    verdict = judge_challenge(C, frames, tolerance=TOL, reject=TOL + 0.05)
    assert verdict.passed and "f0" not in verdict.frontal_frame_ids and "f1" in verdict.frontal_frame_ids
    assert "f12" in judge_challenge(C, _at(video(C), 12, distance=TOL), tolerance=TOL).frontal_frame_ids


def _sig(seed: int) -> tuple[int, ...]:
    rng = np.random.default_rng(seed)
    gray = rng.integers(0, 255, (480, 640), dtype=np.uint8)
    return scene_signature(gray, FaceBox(200, 400, 380, 220))


def test_scene_change_is_zero_for_the_same_picture_and_large_for_another() -> None:
    a, b = _sig(1), _sig(2)
    assert scene_change(a, a) < 1e-9
    assert scene_change(a, b) > 0.8
    assert scene_change(a, a[:-1]) == 1.0  # another layout cannot be compared
    flat = scene_signature(np.full((480, 640), 90, np.uint8), FaceBox(200, 400, 380, 220))
    assert scene_change(flat, flat) == 1.0  # nothing to correlate: treated as a cut


def test_a_scene_cut_past_the_threshold_breaks_the_track() -> None:
    box = FaceBox(200, 400, 380, 220)
    a, b = _sig(1), _sig(2)
    state = TrackingState(verified_at=0.0, verified_box=box, distance=0.3, matched=True, face_count=1, last_box=box,
                          scene=a)
    change = scene_change(a, b)
    assert verification_reason(state, box, now=15.0, settings=SETTINGS, scene=a) is None
    at = replace(SETTINGS, scene_cut_change=change)
    assert verification_reason(state, box, now=15.0, settings=at, scene=b) is None
    below = replace(SETTINGS, scene_cut_change=change - 0.001)
    assert verification_reason(state, box, now=15.0, settings=below, scene=b) is VerifyReason.SCENE_CUT
    assert verification_reason(state, box, now=15.0, settings=SETTINGS, scene=None) is VerifyReason.SCENE_CUT
    no_scene = replace(state, scene=None)
    assert verification_reason(no_scene, box, now=15.0, settings=SETTINGS, scene=a) is VerifyReason.SCENE_CUT
    assert verification_reason(state, box, now=15.0, settings=SETTINGS, scene=a, asked=True) is VerifyReason.ASKED
    assert TrackingState.from_bytes(state.to_bytes()) == state


def _placed(rgb: np.ndarray, box: FaceBox, *, width: int, centre: tuple[int, int]) -> np.ndarray:
    """A 640x480 frame with the photo scaled so its face is ``width`` wide, centred on ``centre``."""
    s = width / box.width
    big = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)))
    pad = cv2.copyMakeBorder(big, 480, 480, 640, 640, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    cx, cy = box.center
    x0, y0 = round(cx * s) + 640 - centre[0], round(cy * s) + 480 - centre[1]
    return np.ascontiguousarray(pad[y0:y0 + 480, x0:x0 + 640])


def _swap_in_place(photo: bytes, other: bytes) -> tuple[bytes, bytes]:
    """A 640x480 frame of ``photo``, and one of ``other`` sitting in the same place with a face
    of the same size: a swap that keeps the face box still."""
    frames = []
    for data in (photo, other):
        rgb = decode_image(data)
        frames.append(encode_jpeg(_placed(rgb, detect_faces_thoroughly(rgb)[0], width=180, centre=(320, 220))))
    return frames[0], frames[1]


def test_a_swap_that_keeps_the_face_box_is_checked_at_once(identity_photos, enrolments):
    own, swapped = _swap_in_place(identity_photos["obama"][1].read(), identity_photos["biden"][1].read())
    first, state = analyze_frame(own, enrolment=enrolments["obama"], frame_id="a", captured_at=0.0)
    same, state = analyze_frame(own, enrolment=enrolments["obama"], frame_id="b", captured_at=15.0, tracking=state)
    assert first.identity_checked and not same.identity_checked  # an unbroken track reuses the check
    state = TrackingState.from_bytes(state.to_bytes())
    caught, _ = analyze_frame(swapped, enrolment=enrolments["obama"], frame_id="c", captured_at=20.0, tracking=state)
    box, new_box = state.last_box, caught.faces[0]
    assert box is not None and not box.moved_materially(new_box, move_ratio=SETTINGS.move_ratio,
                                                        size_ratio=SETTINGS.size_change_ratio)
    assert caught.identity_checked and caught.verify_reason is VerifyReason.SCENE_CUT
    assert caught.verdict == Verdict.ANOTHER_PERSON


def test_a_frame_asked_to_be_verified_is_compared_whatever_the_track(identity_photos, enrolments):
    own, _ = _swap_in_place(identity_photos["obama"][1].read(), identity_photos["biden"][1].read())
    state = None
    reasons = []
    for i in range(3):
        analysis, state = analyze_frame(own, enrolment=enrolments["obama"], frame_id=f"f{i}", captured_at=float(i),
                                        tracking=state, verify=True)
        reasons.append((analysis.identity_checked, analysis.verify_reason))
    assert reasons == [(True, VerifyReason.ASKED)] * 3


def test_a_phase_passes_with_two_frames_showing_the_face_not_with_one() -> None:
    assert SEEN_PER_PHASE == 2
    frames = video(C, per_phase=3)
    blurred = _at(frames, 9, verdict=Verdict.POOR_IMAGE, distance=None, liveness=None)  # phase 3, first frame
    assert judge_challenge(C, blurred, tolerance=TOL).passed
    for bad in ({"verdict": Verdict.NO_FACE, "distance": None, "liveness": None}, {"liveness": None}):
        verdict = judge_challenge(C, _at(blurred, 10, **bad), tolerance=TOL)
        assert verdict.failure is Failure.NO_FACE, bad
    # Several faces in any frame fails, however many frames show one face.
    assert judge_challenge(C, _at(frames, 9, verdict=Verdict.SEVERAL_FACES), tolerance=TOL).failure \
        is Failure.SEVERAL_FACES


def test_a_phase_needs_two_frames() -> None:
    assert MIN_FRAMES_PER_PHASE == 2
    frames = video(C)  # two a phase
    assert judge_challenge(C, frames, tolerance=TOL).passed
    one_less = [f for i, f in enumerate(frames) if i != 5]  # phase 2 keeps one frame
    assert judge_challenge(C, one_less, tolerance=TOL).failure is Failure.TOO_FEW_FRAMES


def test_a_verified_frame_carries_its_encoding_to_the_judge_and_a_routine_one_does_not(identity_photos, enrolments):
    own, _ = _swap_in_place(identity_photos["obama"][1].read(), identity_photos["biden"][1].read())
    asked, _ = analyze_frame(own, enrolment=enrolments["obama"], frame_id="a", captured_at=0.0, verify=True)
    routine, _ = analyze_frame(own, enrolment=enrolments["obama"], frame_id="b", captured_at=0.0)
    assert routine.identity_checked and routine.encoding is None and "encoding" not in routine.to_dict()
    assert asked.encoding is not None and len(asked.encoding) == 128
    # The encoding is the one the frame's distance was measured on, and it survives the worker's wire format.
    assert identity_distance(enrolments["obama"], np.array(asked.encoding)) == pytest.approx(asked.distance, abs=1e-9)
    again = FrameAnalysis.from_dict(json.loads(json.dumps(asked.to_dict())))
    assert again.encoding is not None
    assert np.allclose(again.encoding, asked.encoding, atol=1e-6)
