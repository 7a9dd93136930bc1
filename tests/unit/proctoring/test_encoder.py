"""The numpy face encoder gives dlib's own encodings, so enrolments made with either stay valid."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from proctoring.encoder import FaceEncoder, _read_layers
from proctoring.faces import _models, chip_variants, detect_faces_thoroughly, face_chip
from proctoring.imaging import decode_image


def _model_path() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition_models as frm
    return frm.face_recognition_model_location()


@pytest.fixture(scope="module")
def chips(faces_dir: Path) -> list[np.ndarray]:
    """The main face chip of one photo per identity (22 people), plus its mirror and a perturbed view;
    every photo (85) would spend a minute of the suite in dlib's own slow pass for no new case."""
    out = []
    for person in sorted(p for p in (faces_dir / "identities").iterdir() if p.is_dir()):
        path = sorted(person.glob("*.jpg"))[0]
        rgb = decode_image(path.read_bytes())
        boxes = detect_faces_thoroughly(rgb)
        if boxes:
            out.extend(chip_variants(face_chip(rgb, boxes[0]), 3))
    assert len(out) >= 30
    return out


def test_encodings_match_dlibs_own_forward_pass(chips: list[np.ndarray]):
    import dlib

    theirs = dlib.face_recognition_model_v1(_model_path())
    ours = _models().encoder
    for chip in chips:
        expected = np.asarray(list(theirs.compute_face_descriptor(chip)))
        got = ours([chip])[0]
        # float32 rounding only: a million times below the 0.54 tolerance.
        assert np.linalg.norm(got - expected) < 1e-5


def test_a_batch_encodes_each_chip_as_alone(chips: list[np.ndarray]):
    encoder = _models().encoder
    batch = encoder(chips[:4])
    assert batch.shape == (4, 128) and batch.dtype == np.float64
    for chip, row in zip(chips[:4], batch):
        assert np.abs(encoder([chip])[0] - row).max() < 1e-6


def test_chips_of_another_size_are_refused():
    with pytest.raises(ValueError, match="150x150"):
        _models().encoder([np.zeros((100, 100, 3), np.uint8)])


def test_a_truncated_or_foreign_model_file_is_refused(tmp_path: Path):
    data = Path(_model_path()).read_bytes()
    with pytest.raises(ValueError):
        _read_layers(data[: len(data) // 2])
    with pytest.raises(ValueError, match="end of file"):
        _read_layers(data + b"\x00")
    other = tmp_path / "other.dat"
    other.write_bytes(b"\x01\x01\x01\x0bnot_a_model")
    with pytest.raises(ValueError):
        FaceEncoder.load(str(other))
