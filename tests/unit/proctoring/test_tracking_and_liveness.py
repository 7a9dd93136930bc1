"""Reusing work between frames, and the liveness measures, on real photos."""

from __future__ import annotations

import cv2
import numpy as np

from proctoring import TrackingState, Verdict, VerifyReason, analyze_frame
from proctoring.faces import detect_faces_thoroughly
from proctoring.imaging import decode_image, encode_jpeg
from proctoring.liveness import measure_face


def _webcam_frame(photo: bytes, *, dx: int = 0) -> bytes:
    """A 640x480 frame with the photo scaled in, shifted by dx pixels."""
    rgb = decode_image(photo)
    h, w = rgb.shape[:2]
    s = 440 / h
    small = cv2.resize(rgb, (int(w * s), 440))[:, :600]
    canvas = np.full((480, 640, 3), 80, np.uint8)
    x = 20 + dx
    canvas[20:460, x : x + small.shape[1]] = small[:, : 640 - x]
    return encode_jpeg(canvas)


def test_identity_is_reverified_every_30_seconds_not_every_frame(identity_photos, enrolments):
    frame = _webcam_frame(identity_photos["obama"][1].read())
    state: TrackingState | None = None
    checked = []
    for i in range(6):
        analysis, state = analyze_frame(
            frame, enrolment=enrolments["obama"], frame_id=f"f{i}", captured_at=15.0 * i, tracking=state
        )
        assert analysis.verdict == Verdict.OK
        checked.append(analysis.identity_checked)
        state = TrackingState.from_bytes(state.to_bytes())  # as if it went through Redis
    assert checked == [True, False, True, False, True, False]


def test_a_face_that_moves_materially_is_reverified_at_once(identity_photos, enrolments):
    photo = identity_photos["obama"][1].read()
    first, state = analyze_frame(_webcam_frame(photo), enrolment=enrolments["obama"], frame_id="a", captured_at=0.0)
    moved, _ = analyze_frame(
        _webcam_frame(photo, dx=200), enrolment=enrolments["obama"], frame_id="b", captured_at=15.0, tracking=state
    )
    assert first.identity_checked and moved.identity_checked
    assert moved.verify_reason == VerifyReason.MOVED


def test_another_person_replacing_the_candidate_is_caught_on_the_next_frame(identity_photos, enrolments):
    _, state = analyze_frame(
        _webcam_frame(identity_photos["obama"][1].read()), enrolment=enrolments["obama"], frame_id="a", captured_at=0.0
    )
    gone, state = analyze_frame(b"garbage", enrolment=enrolments["obama"], frame_id="b", captured_at=5.0, tracking=state)
    assert gone.verdict == Verdict.POOR_IMAGE
    swapped, _ = analyze_frame(
        _webcam_frame(identity_photos["biden"][1].read()), enrolment=enrolments["obama"], frame_id="c",
        captured_at=10.0, tracking=state,
    )
    assert swapped.verdict == Verdict.ANOTHER_PERSON and swapped.identity_checked


def _measures(photo: bytes, *, flip: bool = False):
    rgb = decode_image(photo)
    if flip:
        rgb = np.ascontiguousarray(rgb[:, ::-1])
    return measure_face(rgb, detect_faces_thoroughly(rgb)[0])


def test_frontal_photos_have_small_yaw_and_open_eyes(identity_photos):
    for path_who, idx in (("df01", 4), ("df03", 0), ("df03", 6), ("df01", 1)):
        m = _measures(identity_photos[path_who][idx].read())
        assert abs(m.yaw) < 20, (path_who, idx, m)
        assert 0.2 < m.ear < 0.45, (path_who, idx, m)


def test_a_mirrored_photo_has_yaw_of_opposite_sign(identity_photos):
    for who in ("alex_lacamoire", "cf_B", "df02", "df01"):
        for p in identity_photos[who]:
            m, f = _measures(p.read()), _measures(p.read(), flip=True)
            if abs(m.yaw) > 10:  # only clearly turned faces have a meaningful sign
                assert np.sign(m.yaw) == -np.sign(f.yaw), (p.path, m.yaw, f.yaw)
                assert abs(abs(m.yaw) - abs(f.yaw)) < 8


def test_liveness_measures_are_opt_in_per_frame(identity_photos, enrolments):
    from proctoring import FrameJob

    frame = _webcam_frame(identity_photos["obama"][1].read())
    plain, _ = analyze_frame(frame, enrolment=enrolments["obama"], frame_id="a", captured_at=0.0)
    asked, _ = analyze_frame(frame, enrolment=enrolments["obama"], frame_id="b", captured_at=0.0, liveness=True)
    assert plain.liveness is None
    assert asked.liveness is not None and 0.15 < asked.liveness.ear < 0.5
    job = FrameJob(subject_id="s", frame_id="f", image=frame, enrolment=enrolments["obama"], liveness=True)
    assert FrameJob.from_bytes(job.to_bytes()).liveness is True
    assert FrameJob.from_bytes(FrameJob(subject_id="s", frame_id="f", image=b"x", enrolment=enrolments["obama"]).to_bytes()).liveness is False
