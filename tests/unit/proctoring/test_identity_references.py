"""How the identity decision uses several references, and the mirror second look near the threshold."""

from __future__ import annotations

import numpy as np
import pytest

import proctoring.analysis as analysis_module
from proctoring import AnalysisSettings, Enrolment, add_capture, analyze_frame, encoder_version
from proctoring.enrolment import REFERENCE_SCALE, identity_distance
from proctoring.faces import chip_variants, detect_faces_thoroughly, encode_chips, face_chip
from proctoring.imaging import decode_image


def _enrolment(*encodings: np.ndarray) -> Enrolment:
    return Enrolment(person_id="p", encodings=tuple(tuple(float(x) for x in e) for e in encodings),
                     model_version=encoder_version(), updated_at=0.0)


def test_one_reference_is_the_plain_distance():
    a, b = np.zeros(128), np.full(128, 0.05)
    assert identity_distance(_enrolment(a), b) == pytest.approx(float(np.linalg.norm(a - b)))


def test_several_references_are_judged_on_their_mean_scaled_for_their_count():
    rng = np.random.default_rng(1)
    refs = [rng.normal(0, 0.05, 128) for _ in range(3)]
    probe = rng.normal(0, 0.05, 128)
    expected = np.linalg.norm(probe - np.mean(refs, axis=0)) / REFERENCE_SCALE[2]
    assert identity_distance(_enrolment(*refs), probe) == pytest.approx(expected)
    # Not the nearest reference: the nearest of several would let more strangers through.
    nearest = min(np.linalg.norm(probe - r) for r in refs)
    assert identity_distance(_enrolment(*refs), probe) != pytest.approx(nearest)
    # Past the table's end the last factor holds.
    six = [rng.normal(0, 0.05, 128) for _ in range(6)]
    assert identity_distance(_enrolment(*six), probe) == pytest.approx(
        np.linalg.norm(probe - np.mean(six, axis=0)) / REFERENCE_SCALE[-1])


def test_scale_factors_only_tighten_as_references_are_added():
    assert REFERENCE_SCALE[0] == 1.0
    assert all(later <= earlier for earlier, later in zip(REFERENCE_SCALE, REFERENCE_SCALE[1:]))


def test_with_a_capture_the_person_still_matches_and_a_stranger_does_not(identity_photos, enrolments):
    # Registration photo + one capture of df01, judged on df01's remaining photos (frame path).
    photos = identity_photos["df01"]
    with_capture = add_capture(enrolments["df01"], photos[1].read(), now=0.0)
    settings = AnalysisSettings()
    for p in photos[2:5]:
        alone, _ = analyze_frame(p.read(), enrolment=enrolments["df01"], frame_id="a", captured_at=0.0)
        both, _ = analyze_frame(p.read(), enrolment=with_capture, frame_id="b", captured_at=0.0)
        assert alone.same_person is True and both.same_person is True, p.path
        assert both.distance is not None and both.distance <= settings.tolerance
    # ...and a stranger stays a stranger.
    stranger, _ = analyze_frame(identity_photos["biden"][1].read(), enrolment=with_capture, frame_id="c",
                                captured_at=0.0)
    assert stranger.same_person is False


def _plain_and_mirror(photo: bytes) -> tuple[np.ndarray, np.ndarray]:
    rgb = decode_image(photo)
    chip = face_chip(rgb, detect_faces_thoroughly(rgb)[0])
    views = chip_variants(chip, 2)
    return encode_chips(views[:1]), encode_chips(views[1:])


def test_a_close_call_gets_a_second_look_with_the_mirror_image(identity_photos, monkeypatch):
    photo = identity_photos["df02"][1].read()
    plain, mirror = _plain_and_mirror(photo)
    settings = AnalysisSettings()
    direction = np.ones(128) / np.sqrt(128)
    calls: list[int] = []
    real = analysis_module.encode_chips

    def counting(chips):
        calls.append(len(chips))
        return real(chips)

    monkeypatch.setattr(analysis_module, "encode_chips", counting)
    # An enrolment exactly at the tolerance from the plain view: the mean of both views decides.
    near = _enrolment(plain + settings.tolerance * direction)
    result, _ = analyze_frame(photo, enrolment=near, frame_id="n", captured_at=0.0)
    assert calls == [1, 1]
    assert result.distance == pytest.approx(float(np.linalg.norm((plain + mirror) / 2 - near.known()[0])), abs=1e-4)
    # Far from the threshold either way: one encoder pass.
    for enrolment in (_enrolment(plain), _enrolment(plain + 2 * settings.tolerance * direction)):
        calls.clear()
        analyze_frame(photo, enrolment=enrolment, frame_id="f", captured_at=0.0)
        assert calls == [1]
