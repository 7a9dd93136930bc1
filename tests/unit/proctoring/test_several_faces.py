"""A frame with a second face reports both the count and the main face's identity."""

from __future__ import annotations

import cv2
import numpy as np

from proctoring import (
    FrameAnalysis,
    Verdict,
    ViolationKind,
    analyze_frame,
    check_registration_photo,
    current_violations,
    enrol,
)
from proctoring.faces import detect_faces_thoroughly
from proctoring.imaging import decode_image, encode_jpeg


def _face_scaled(photo: bytes, width: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo scaled so its face is ``width`` px wide, and the face centre in it."""
    rgb = decode_image(photo)
    box = detect_faces_thoroughly(rgb)[0]
    s = width / box.width
    scaled = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
    cx, cy = box.center
    return scaled, (round(cx * s), round(cy * s))


def _paste(canvas: np.ndarray, img: np.ndarray, centre: tuple[int, int], at: tuple[int, int], half: int) -> None:
    """Paste the square of ``img`` of half-side ``half`` around ``centre`` so it is centred on
    ``at`` in ``canvas``, cut off where it leaves the canvas."""
    h, w = canvas.shape[:2]
    for dy in range(-half, half):
        y, sy = at[1] + dy, centre[1] + dy
        if 0 <= y < h and 0 <= sy < img.shape[0]:
            x0, x1 = max(at[0] - half, 0), min(at[0] + half, w)
            sx0 = centre[0] - (at[0] - x0)
            row = img[sy, max(sx0, 0) : sx0 + (x1 - x0)]
            canvas[y, x0 : x0 + len(row)] = row


def _frame(main: bytes, edge: bytes) -> bytes:
    """A 640x480 webcam frame: ``main``'s face large in the middle and ``edge``'s face smaller,
    a quarter of it cut off by the right edge (someone leaning into the picture)."""
    canvas = np.full((480, 640, 3), 110, np.uint8)
    big, c_big = _face_scaled(main, 190)
    small, c_small = _face_scaled(edge, 110)
    _paste(canvas, big, c_big, (300, 230), 190)
    _paste(canvas, small, c_small, (640 - 28, 200), 75)
    return encode_jpeg(canvas)


def test_the_main_face_is_judged_when_a_second_face_is_at_the_edge(identity_photos, enrolments):
    candidate, other = identity_photos["obama"][1].read(), identity_photos["biden"][0].read()
    frame = _frame(candidate, other)
    ok, _ = analyze_frame(frame, enrolment=enrolments["obama"], frame_id="a", captured_at=0.0)
    assert ok.verdict == Verdict.SEVERAL_FACES and ok.face_count == 2, ok.faces
    assert ok.same_person is True and ok.identity_checked
    # Against someone else's enrolment the same frame's main face is not the candidate.
    wrong, _ = analyze_frame(frame, enrolment=enrolments["biden"], frame_id="b", captured_at=0.0)
    assert wrong.verdict == Verdict.SEVERAL_FACES and wrong.face_count == 2
    assert wrong.same_person is False


def test_a_stand_in_with_the_candidate_at_the_edge_is_another_person(identity_photos, enrolments):
    frame = _frame(identity_photos["biden"][1].read(), identity_photos["obama"][2].read())
    history = []
    state = None
    for i in range(3):
        analysis, state = analyze_frame(
            frame, enrolment=enrolments["obama"], frame_id=f"f{i}", captured_at=15.0 * i, tracking=state
        )
        assert analysis.verdict == Verdict.SEVERAL_FACES and analysis.same_person is False
        history.append(FrameAnalysis.from_dict(analysis.to_dict()))  # as results travel from workers
    kinds = {v.kind for v in current_violations(history)}
    assert kinds == {ViolationKind.SEVERAL_FACES, ViolationKind.ANOTHER_PERSON}


def test_results_from_workers_without_the_identity_field_still_read():
    data = FrameAnalysis(frame_id="f", captured_at=1.0, verdict=Verdict.OK).to_dict()
    del data["same_person"]
    assert FrameAnalysis.from_dict(data).same_person is None


def _portrait(faces: list[tuple[bytes, int, tuple[int, int]]], side: int = 400) -> bytes:
    """A square photo with each (photo, face width, centre) pasted in, the first last (on top)."""
    canvas = np.full((side, side, 3), 150, np.uint8)
    for photo, width, at in reversed(faces):
        img, centre = _face_scaled(photo, width)
        _paste(canvas, img, centre, at, round(width * 0.65))
    return encode_jpeg(canvas)


def test_a_registration_photo_with_a_comparable_face_aside_enrols_the_centred_face(identity_photos, enrolments):
    # A news-style portrait: the person in the middle, someone else 70% as wide at the side.
    candidate, other = identity_photos["obama"][1].read(), identity_photos["biden"][0].read()
    photo = _portrait([(candidate, 130, (200, 200)), (other, 90, (360, 190))])
    check = check_registration_photo(photo)
    assert check.ok and len(check.faces) == 2, check
    enrolled = enrol(photo, person_id="p", now=0.0)
    probe, _ = analyze_frame(identity_photos["obama"][2].read(), enrolment=enrolled, frame_id="o", captured_at=0.0)
    stranger, _ = analyze_frame(identity_photos["biden"][1].read(), enrolment=enrolled, frame_id="b", captured_at=0.0)
    assert probe.same_person is True and stranger.same_person is False


def test_a_registration_photo_of_two_people_side_by_side_is_still_refused(identity_photos):
    a, b = identity_photos["obama"][1].read(), identity_photos["biden"][0].read()
    photo = _portrait([(a, 110, (120, 200)), (b, 100, (290, 200))])
    check = check_registration_photo(photo)
    assert check.refusal is not None and check.refusal.code == "several_faces", check
    # A comparable face near the middle beside a centred one leaves it ambiguous too.
    close = _portrait([(a, 100, (300, 300)), (b, 90, (405, 300))], side=600)
    check = check_registration_photo(close)
    assert check.refusal is not None and check.refusal.code == "several_faces", check
