"""Sharpness is judged relative to the face's size: small sharp faces pass, blur fails at every size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from proctoring import AnalysisSettings, Verdict, analyze_frame, check_registration_photo
from proctoring.faces import detect_faces_thoroughly
from proctoring.imaging import QualityIssue, decode_image, encode_jpeg, face_quality, to_gray

SETTINGS = AnalysisSettings()
PEOPLE = ("df01", "df05", "obama", "kit_harington", "alex_lacamoire", "cf_A")


def _scaled(photo: bytes, face_width: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo scaled so its face is ``face_width`` px wide, and the face box in it."""
    rgb = decode_image(photo)
    box = detect_faces_thoroughly(rgb)[0]
    s = face_width / box.width
    small = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return small, (round(box.top * s), round(box.right * s), round(box.bottom * s), round(box.left * s))


def _blur(rgb: np.ndarray, face_width: int) -> np.ndarray:
    # The blurred copies of the shared photos (sigma 1% of the photo) blur their faces by
    # about 3% of the face width.
    return cv2.GaussianBlur(rgb, (0, 0), 0.03 * face_width)


@pytest.mark.parametrize("who", PEOPLE)
def test_sharpness_does_not_depend_on_the_face_size(identity_photos, who):
    photo = identity_photos[who][0].read()
    for width in (52, 70, 110, 220):
        small, box = _scaled(photo, width)
        sharp = face_quality(to_gray(small), box, settings=SETTINGS)
        blurred = face_quality(to_gray(_blur(small, width)), box, settings=SETTINGS)
        assert QualityIssue.BLURRED not in sharp.issues, (who, width, sharp)
        assert QualityIssue.BLURRED in blurred.issues, (who, width, blurred)


@pytest.mark.parametrize("who", PEOPLE)
def test_a_small_sharp_face_enrols_and_verifies_and_a_blurred_one_does_not(identity_photos, enrolments, who):
    small, box = _scaled(identity_photos[who][0].read(), 56)  # just above the 48 px enrolment minimum
    face = (box[2] - box[0]) // 2 + box[0], (box[1] - box[3]) // 2 + box[3]
    # A 240x320 portrait around the face, on a plain background where the photo ends.
    canvas = np.full((320, 240, 3), 200, np.uint8)
    y0, x0 = face[0] - 140, face[1] - 120
    ys, xs = slice(max(y0, 0), min(y0 + 320, small.shape[0])), slice(max(x0, 0), min(x0 + 240, small.shape[1]))
    canvas[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = small[ys, xs]
    sharp, blurred = encode_jpeg(canvas, quality=95), encode_jpeg(_blur(canvas, 56), quality=95)
    assert check_registration_photo(sharp).ok, (who, check_registration_photo(sharp))
    frame, _ = analyze_frame(sharp, enrolment=enrolments[who], frame_id="f", captured_at=0.0)
    assert frame.verdict != Verdict.POOR_IMAGE and frame.same_person is not None, (who, frame)
    refused = check_registration_photo(blurred)
    assert refused.refusal is not None and refused.refusal.code == "blurred", (who, refused)
    poor, _ = analyze_frame(blurred, enrolment=enrolments[who], frame_id="g", captured_at=0.0)
    assert poor.verdict == Verdict.POOR_IMAGE, (who, poor)
