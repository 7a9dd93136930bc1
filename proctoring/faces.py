"""Face detection and 128-d encodings (face_recognition / dlib), plus face boxes.

face_recognition loads every dlib model when it is imported (about a second), so it is
imported lazily, on the first call in each process, not when proctoring is imported.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Sequence

import cv2
import numpy as np

from proctoring.imaging import resize_to_max_side
from proctoring.settings import AnalysisSettings


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face rectangle in pixel coordinates of the decoded frame (dlib's order)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)

    def to_list(self) -> list[int]:
        return list(self.as_tuple())

    @classmethod
    def from_seq(cls, seq: Sequence[int]) -> FaceBox:
        top, right, bottom, left = (int(v) for v in seq)
        return cls(top, right, bottom, left)

    def moved_materially(self, other: FaceBox, *, move_ratio: float, size_ratio: float) -> bool:
        """Whether ``other`` is far enough from this box to be possibly another face."""
        (x1, y1), (x2, y2) = self.center, other.center
        width = max(self.width, 1)
        if math.hypot(x1 - x2, y1 - y2) > move_ratio * width:
            return True
        return abs(other.width - self.width) > size_ratio * width


def encoder_version() -> str:
    """Identifies the encoder; enrolments made by another version must be redone."""
    try:
        models = importlib.metadata.version("face_recognition_models")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        models = "unknown"
    return f"dlib_face_recognition_resnet_model_v1+shape_predictor_5/face_recognition_models={models}"


def limit_native_threads() -> None:
    """Keep OpenCV and BLAS to one thread per process.

    Workers scale by processes (one per core); native thread pools on top of that
    oversubscribe the cores and make per-frame latency erratic.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    cv2.setNumThreads(1)


@functools.cache
def _fr() -> ModuleType:
    import warnings

    with warnings.catch_warnings():
        # face_recognition_models imports the deprecated pkg_resources.
        warnings.simplefilter("ignore")
        import face_recognition

    return face_recognition


def warm_up() -> None:
    """Load the dlib models now (e.g. in a pool initializer) instead of on the first frame."""
    _fr()


def _hog(rgb: np.ndarray, upsample: int) -> list[FaceBox]:
    return [FaceBox.from_seq(b) for b in _fr().face_locations(rgb, upsample, "hog")]


def detect_faces(rgb: np.ndarray, *, max_side: int, upsample: int = 0) -> list[FaceBox]:
    """HOG detection on a copy scaled to ``max_side``; boxes in ``rgb`` coordinates, largest first."""
    small, scale = resize_to_max_side(rgb, max_side)
    boxes = _hog(small, upsample)
    if scale < 1.0:
        boxes = [
            FaceBox(round(b.top / scale), round(b.right / scale), round(b.bottom / scale), round(b.left / scale))
            for b in boxes
        ]
    h, w = rgb.shape[:2]
    clipped = [FaceBox(max(b.top, 0), min(b.right, w), min(b.bottom, h), max(b.left, 0)) for b in boxes]
    return sorted(clipped, key=lambda b: b.area, reverse=True)


def detect_faces_thoroughly(rgb: np.ndarray) -> list[FaceBox]:
    """HOG with one upsample at full size: slow, for one-off photos (registration)."""
    return detect_faces(rgb, max_side=max(rgb.shape[:2]), upsample=1)


def encode_face(rgb: np.ndarray, box: FaceBox, *, jitters: int = 1) -> np.ndarray:
    """The 128-d encoding of the face in ``box`` (about 75 ms of CPU per jitter)."""
    return np.asarray(_fr().face_encodings(rgb, [box.as_tuple()], num_jitters=jitters)[0], dtype=np.float64)


def face_distance(known: np.ndarray, encoding: np.ndarray) -> float:
    """Smallest Euclidean distance from ``encoding`` to any row of ``known``."""
    if known.size == 0:
        return math.inf
    return float(np.min(np.linalg.norm(known - encoding, axis=1)))
