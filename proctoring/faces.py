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
from typing import Sequence

import cv2
import numpy as np

from proctoring.encoder import FaceEncoder
from proctoring.imaging import resize_to_max_side, to_gray
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


@functools.cache
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
    oversubscribe the cores and make per-frame latency erratic. The face encoder's
    matrix products run on numpy's OpenBLAS, which sized its pool when numpy was
    imported (before this can set OPENBLAS_NUM_THREADS), so it is told at run time too:
    with its default of a thread per core an encoding took 16-25 ms of CPU instead of
    12 ms (its threads spin waiting for work).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    cv2.setNumThreads(1)
    _limit_openblas_threads()


def _limit_openblas_threads() -> None:
    """One thread for the OpenBLAS numpy loaded (found among the process's mapped files;
    Linux only, a no-op elsewhere or with another BLAS)."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        # The symbol's name depends on how the library was built (numpy's own wheels
        # prefix it with scipy_ and suffix 64_ for 64-bit integers).
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(1))
                break


@dataclass(frozen=True, slots=True)
class _Models:
    detector: object  # dlib.fhog_object_detector (frontal faces, HOG)
    shape5: object  # dlib.shape_predictor, 5 points: what the encoder's face chip needs
    encoder: FaceEncoder  # dlib's ResNet (128-d), run with numpy (encoder.py)


@functools.cache
def _models() -> _Models:
    """The models, loaded once per process (about a second).

    Loaded directly rather than through ``face_recognition``, which would also load the
    68-point and CNN models that frame analysis does not use. The encodings are the
    same as ``face_recognition.face_encodings(..., model="small")``: the same 5-point
    landmarks, face chip and ResNet weights (the ResNet run by encoder.FaceEncoder,
    whose encodings match dlib's to 1e-6 at a fifth of its CPU).
    """
    import warnings

    import dlib

    with warnings.catch_warnings():
        # face_recognition_models imports the deprecated pkg_resources.
        warnings.simplefilter("ignore")
        import face_recognition_models as frm

    # Wherever faces are encoded (a worker, a web process, a test process), each product is one chip's:
    # more BLAS threads only spin, and beside other processes they starve the cores.
    _limit_openblas_threads()
    return _Models(
        detector=dlib.get_frontal_face_detector(),
        shape5=dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
        encoder=FaceEncoder.load(frm.face_recognition_model_location()),
    )


def warm_up() -> None:
    """Load the dlib models now (e.g. in a pool initializer) instead of on the first frame."""
    _models()


def _hog(img: np.ndarray, upsample: int) -> list[FaceBox]:
    """dlib's HOG detector on an RGB or grey image (grey costs ~20% less)."""
    rects = _models().detector(img, upsample)  # type: ignore[operator]
    return [FaceBox(r.top(), r.right(), r.bottom(), r.left()) for r in rects]


def _scaled_back(boxes: list[FaceBox], scale: float, *, dx: int = 0, dy: int = 0) -> list[FaceBox]:
    if scale == 1.0 and dx == dy == 0:
        return boxes
    return [
        FaceBox(round(b.top / scale) + dy, round(b.right / scale) + dx, round(b.bottom / scale) + dy,
                round(b.left / scale) + dx)
        for b in boxes
    ]


def _clip_and_sort(boxes: list[FaceBox], shape: tuple[int, ...]) -> list[FaceBox]:
    h, w = shape[:2]
    clipped = [FaceBox(max(b.top, 0), min(b.right, w), min(b.bottom, h), max(b.left, 0)) for b in boxes]
    return sorted((b for b in clipped if b.area > 0), key=lambda b: b.area, reverse=True)


def detect_faces(img: np.ndarray, *, max_side: int, upsample: int = 0) -> list[FaceBox]:
    """HOG detection on a copy scaled to ``max_side``; boxes in ``img`` coordinates, largest first."""
    small, scale = resize_to_max_side(img, max_side)
    return _clip_and_sort(_scaled_back(_hog(small, upsample), scale), img.shape)


def detect_faces_scaled(small: np.ndarray, scale: float, *, full_shape: tuple[int, ...]) -> list[FaceBox]:
    """HOG (no upsample) on ``small``, a copy of a frame scaled by ``scale``; boxes in frame coordinates."""
    return _clip_and_sort(_scaled_back(_hog(small, 0), scale), full_shape)


def detect_faces_near(
    small: np.ndarray, scale: float, box: FaceBox, *, margin: float, full_shape: tuple[int, ...]
) -> list[FaceBox]:
    """HOG on the region of ``small`` (a copy of the frame scaled by ``scale``) around
    ``box`` (frame coordinates) widened by ``margin`` face widths on each side.

    Costs about a third of a pass over the whole scaled frame; boxes in frame coordinates.
    """
    pad = margin * max(box.width, box.height)
    h, w = small.shape[:2]
    top, bottom = max(int((box.top - pad) * scale), 0), min(int((box.bottom + pad) * scale) + 1, h)
    left, right = max(int((box.left - pad) * scale), 0), min(int((box.right + pad) * scale) + 1, w)
    if bottom - top < 40 or right - left < 40:
        return []
    roi = np.ascontiguousarray(small[top:bottom, left:right])
    found = _scaled_back(_hog(roi, 0), 1.0, dx=left, dy=top)
    return _clip_and_sort(_scaled_back(found, scale), full_shape)


def detect_faces_thoroughly(rgb: np.ndarray) -> list[FaceBox]:
    """HOG with one upsample at full size: slow, for one-off photos (registration).

    When the colour pass finds nothing, the grey image is tried too, with and without
    upsampling: HOG's scores differ between them and a dim or soft face (one LFW photo
    of the shared set) is found only in grey.
    """
    faces = detect_faces(rgb, max_side=max(rgb.shape[:2]), upsample=1)
    if faces:
        return faces
    gray = to_gray(rgb)
    for upsample in (0, 1):
        faces = detect_faces(gray, max_side=max(gray.shape[:2]), upsample=upsample)
        if faces:
            return faces
    return []


def face_chip(rgb: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 150x150 face chip the encoder reads: the face in ``box`` aligned on its 5 landmarks
    (eyes level, fixed scale and position), exactly as dlib cuts it for the encoder."""
    import dlib

    m = _models()
    shape = m.shape5(rgb, dlib.rectangle(box.left, box.top, box.right, box.bottom))  # type: ignore[operator]
    return np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))


CHIP_SIZE = 150
CHIP_PADDING = 0.25
# Seed of the fixed perturbations below: any constant does, as long as it never changes
# within an encoder version (the same photo must always give the same encoding).
_JITTER_SEED = 20261130


@functools.cache
def _jitter_transforms(count: int) -> tuple[tuple[np.ndarray, bool], ...]:
    """``count`` fixed perturbations of a chip (affine matrix, mirror), of the kind dlib's
    jitter draws (rotation within 5 degrees, scale and shift within 2%, mirrored half the
    time) but drawn from a generator seeded here, so they are the same in every process."""
    rng = np.random.default_rng(_JITTER_SEED)
    centre = (CHIP_SIZE - 1) / 2
    out = []
    for _ in range(count):
        angle, scale = rng.uniform(-5.0, 5.0), 1.0 + rng.uniform(-0.02, 0.02)
        matrix = cv2.getRotationMatrix2D((centre, centre), angle, scale)
        matrix[:, 2] += rng.uniform(-0.02, 0.02, size=2) * CHIP_SIZE
        out.append((matrix, bool(rng.random() < 0.5)))
    return tuple(out)


def chip_variants(chip: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` views of a face chip whose encodings are averaged: the chip itself, then its
    mirror image, then fixed small perturbations (see _jitter_transforms)."""
    views = [chip]
    if count >= 2:
        views.append(np.ascontiguousarray(chip[:, ::-1]))
    for matrix, mirror in _jitter_transforms(max(count - 2, 0)):
        moved = cv2.warpAffine(chip, matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        views.append(np.ascontiguousarray(moved[:, ::-1]) if mirror else moved)
    return views


def encode_chips(chips: list[np.ndarray]) -> np.ndarray:
    """The mean 128-d encoding of aligned face chips (about 12 ms of CPU per chip)."""
    return np.mean(_models().encoder(chips), axis=0)


def encode_face(rgb: np.ndarray, box: FaceBox, *, jitters: int = 1) -> np.ndarray:
    """The 128-d encoding of the face in ``box``, averaged over ``jitters`` views of its chip.

    About 12 ms of CPU per view: the ResNet forward pass is most of it (encoder.py; dlib's
    own took ~62-85 ms); the 5-point landmarks and the chip cost ~1.5 ms. The views are
    fixed (chip_variants), not dlib's own random jitter, whose generator lives in the
    model object: with it the same photo enrolled twice in one process gave encodings
    0.058 apart, enough to flip a decision near the threshold.
    """
    return encode_chips(chip_variants(face_chip(rgb, box), max(jitters, 1)))


def face_distance(known: np.ndarray, encoding: np.ndarray) -> float:
    """Smallest Euclidean distance from ``encoding`` to any row of ``known``."""
    if known.size == 0:
        return math.inf
    return float(np.min(np.linalg.norm(known - encoding, axis=1)))
