"""Identity verification and image judgement on the real shared photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from proctoring import AnalysisSettings, Enrolment, Verdict, analyze_frame, check_registration_photo
from proctoring.faces import face_distance
from proctoring.imaging import decode_image, encode_jpeg

TOL = AnalysisSettings().tolerance
# Matt Damon (df07) and Leonardo DiCaprio (df09) are a well-known lookalike pair for
# dlib's encoder: their cross distances (0.53-0.61) overlap genuine ones. Proctoring
# relies on the candidate's own enrolment and human review for such cases.
KNOWN_LOOKALIKES = {frozenset({"df07", "df09"})}
# A genuine photo whose distance to its registration photo (0.61) exceeds the tolerance
# (strong make-up/lighting change); a live capture added at exam start covers this.
KNOWN_HARD_GENUINE = {"identities/df04/2.jpg"}


def test_each_identity_verifies_against_its_own_enrolment(identity_photos, enrolments, probe_encodings):
    rejected = set()
    for who, ps in identity_photos.items():
        for p in ps[1:]:
            encs = probe_encodings[p.path]  # largest face first (df10/3 has a small one behind)
            assert encs, p.path
            if face_distance(enrolments[who].known(), encs[0]) > TOL:
                rejected.add(p.path)
    assert rejected == KNOWN_HARD_GENUINE


def test_each_identity_is_refused_against_every_other_enrolment(identity_photos, enrolments, probe_encodings):
    accepted = set()
    for who, ps in identity_photos.items():
        for p in ps[1:]:
            for other, enrolment in enrolments.items():
                if other != who and face_distance(enrolment.known(), probe_encodings[p.path][0]) <= TOL:
                    accepted.add(frozenset({who, other}))
    assert accepted <= KNOWN_LOOKALIKES


def test_analyze_frame_says_ok_for_the_person_and_another_person_for_someone_else(identity_photos, enrolments):
    frame = identity_photos["obama"][1].read()
    ok, _ = analyze_frame(frame, enrolment=enrolments["obama"], frame_id="f1", captured_at=0.0)
    assert ok.verdict == Verdict.OK and ok.identity_checked and ok.distance is not None and ok.distance <= TOL
    assert len(ok.faces) == 1
    other, _ = analyze_frame(frame, enrolment=enrolments["biden"], frame_id="f2", captured_at=0.0)
    assert other.verdict == Verdict.ANOTHER_PERSON and other.distance is not None and other.distance > TOL


def test_group_photos_are_judged_several_faces(photos, enrolments):
    groups = [p for p in photos if p.path.startswith("groups/")]
    assert groups
    for p in groups:
        analysis, _ = analyze_frame(p.read(), enrolment=enrolments["obama"], frame_id=p.path, captured_at=0.0)
        if p.faces and p.faces >= 2:
            assert analysis.verdict == Verdict.SEVERAL_FACES, p.path
            # HOG finds at most one face more or less than labelled on these small faces.
            assert abs(len(analysis.faces) - p.faces) <= 1, p.path
        elif p.faces == 0:
            assert analysis.verdict == Verdict.NO_FACE, p.path


def _darken(rgb: np.ndarray) -> np.ndarray:
    return (rgb * 0.15).astype(np.uint8)


def _overexpose(rgb: np.ndarray) -> np.ndarray:
    return cv2.convertScaleAbs(rgb, alpha=2.5, beta=120)


def _blur(rgb: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), max(rgb.shape[:2]) / 100)


@pytest.mark.parametrize(
    ("spoil", "code"), [(_darken, "too_dark"), (_overexpose, "too_bright"), (_blur, "blurred")]
)
def test_spoiled_copies_are_judged_poor(identity_photos, enrolments, spoil, code):
    for who in ("obama", "df01", "cf_A", "kit_harington"):
        for p in identity_photos[who][:2]:
            jpeg = encode_jpeg(spoil(decode_image(p.read())))
            analysis, _ = analyze_frame(jpeg, enrolment=enrolments[who], frame_id=p.path, captured_at=0.0)
            assert analysis.verdict == Verdict.POOR_IMAGE, (p.path, analysis.quality)
            check = check_registration_photo(jpeg)
            assert check.refusal is not None and check.refusal.code == code, (p.path, check)


def test_registration_photo_refusals_have_codes_and_chinese_messages(photos, identity_photos):
    group = next(p for p in photos if p.path == "groups/obama_and_biden.jpg")
    several = check_registration_photo(group.read())
    assert several.refusal is not None and several.refusal.code == "several_faces"
    assert several.refusal.message_zh == "照片中检测到多张人脸"
    empty = next(p for p in photos if p.faces == 0)
    none = check_registration_photo(empty.read())
    assert none.refusal is not None and none.refusal.message_zh == "照片中未检测到人脸"
    garbage = check_registration_photo(b"not a jpeg")
    assert garbage.refusal is not None and garbage.refusal.code == "undecodable"
    good = check_registration_photo(identity_photos["obama"][0].read())
    assert good.ok and len(good.faces) == 1


def test_enrolment_round_trips(enrolments):
    e = enrolments["obama"]
    assert Enrolment.from_bytes(e.to_bytes()) == e
    assert Enrolment.from_dict(e.to_dict()) == e
