"""Fixtures over the shared face photos (read in place, never copied into the repo)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FACES

from proctoring import Enrolment, enrol
from proctoring.analysis import frame_encodings


@dataclass(frozen=True)
class Photo:
    path: str
    identity: str
    faces: int | None

    def read(self) -> bytes:
        return (FACES / self.path).read_bytes()


@pytest.fixture(scope="session")
def photos(faces_dir: Path) -> list[Photo]:
    with open(faces_dir / "labels.csv", newline="") as f:
        return [
            Photo(r["path"], r["identity"], int(r["faces"]) if r["faces"] else None) for r in csv.DictReader(f)
        ]


@pytest.fixture(scope="session")
def identity_photos(photos: list[Photo]) -> dict[str, list[Photo]]:
    out: dict[str, list[Photo]] = {}
    for p in photos:
        if p.path.startswith("identities/"):
            out.setdefault(p.identity, []).append(p)
    return out


@pytest.fixture(scope="session")
def enrolments(identity_photos: dict[str, list[Photo]]) -> dict[str, Enrolment]:
    """Each identity enrolled from its first photo, as the registration photo."""
    return {who: enrol(ps[0].read(), person_id=who) for who, ps in identity_photos.items()}


@pytest.fixture(scope="session")
def probe_encodings(identity_photos: dict[str, list[Photo]]) -> dict[str, list[np.ndarray]]:
    """Frame-path encodings of every non-registration identity photo, by photo path."""
    out: dict[str, list[np.ndarray]] = {}
    for ps in identity_photos.values():
        for p in ps[1:]:
            out[p.path] = frame_encodings(p.read())
    return out
