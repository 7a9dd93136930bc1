"""Scene cuts: whether a frame still shows the scene of the previous one.

A tracked identity decision is only worth reusing while the picture is continuous. A swap of the
person, or of the camera feed, can keep the face box where it was; what it cannot keep is the
picture itself. Each frame leaves a small signature: the face region and the whole frame, each
shrunk to a few pixels and standardised (zero mean, unit spread, so the camera's exposure and
white balance drifting do not count). The change between two signatures is one minus the lower
of the two correlations: 0 for the same picture, around 1 for an unrelated one.
"""

from __future__ import annotations

import cv2
import numpy as np

from proctoring.faces import FaceBox

FACE_SIDE = 12  # the face region (the box widened by one width each side) as 12x12
FRAME_SIZE = (16, 12)  # the whole frame as 16x12
_SCALE = 40.0  # standardised values stored as small integers (x40, clipped to +-127)


def _standardised(small: np.ndarray) -> np.ndarray:
    flat = small.astype(np.float64).ravel()
    spread = flat.std()
    return (flat - flat.mean()) / spread if spread > 1e-6 else np.zeros_like(flat)


def scene_signature(gray: np.ndarray, box: FaceBox) -> tuple[int, ...]:
    """The signature of a frame (grey, any size) whose main face is ``box``."""
    h, w = gray.shape[:2]
    pad = box.width
    top, bottom = max(0, box.top - pad), min(h, box.bottom + pad)
    left, right = max(0, box.left - pad), min(w, box.right + pad)
    face = gray[top:bottom, left:right] if bottom > top and right > left else gray
    parts = (
        cv2.resize(face, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA),
        cv2.resize(gray, FRAME_SIZE, interpolation=cv2.INTER_AREA),
    )
    values = np.concatenate([_standardised(p) for p in parts])
    return tuple(int(v) for v in np.clip(np.round(values * _SCALE), -127, 127))


def scene_change(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """1 - the lower correlation of the two parts (face region, whole frame); 1.0 when the
    signatures cannot be compared (another layout)."""
    n = FACE_SIDE * FACE_SIDE
    if len(a) != len(b) or len(a) != n + FRAME_SIZE[0] * FRAME_SIZE[1]:
        return 1.0
    va, vb = np.asarray(a, np.float64), np.asarray(b, np.float64)
    lowest = 1.0
    for part in (slice(0, n), slice(n, None)):
        x, y = va[part] - va[part].mean(), vb[part] - vb[part].mean()
        norm = float(np.linalg.norm(x) * np.linalg.norm(y))
        lowest = min(lowest, float(x @ y) / norm if norm > 0 else 0.0)
    return 1.0 - lowest
