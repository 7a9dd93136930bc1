"""Webcam-like frames made from the shared face photos: the face on a 640x480 canvas, head turns
(a warp that moves the nose and mouth sideways while the face outline stays, as a turned head
looks to a camera), JPEG frames, and Y4M videos for Chromium's fake camera."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .photos import face_file

SIZE = (640, 480)
# Warp strength that moved the measured yaw by 13-35 degrees on the shared photos; front is 0.
TURN = 0.45


def canvas(rel: str, *, size: tuple[int, int] = SIZE, light: float = 1.0, shift: int = 0) -> np.ndarray:
    """The photo scaled into a grey webcam frame (RGB), optionally dimmed and moved sideways."""
    import cv2
    from PIL import Image

    img = np.array(Image.open(face_file(rel)).convert("RGB"))
    h, w = img.shape[:2]
    s = min(size[0] / w, size[1] / h)
    img = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))))
    out = np.full((size[1], size[0], 3), 200, np.uint8)
    y, x = (size[1] - img.shape[0]) // 2, (size[0] - img.shape[1]) // 2 + shift
    x = max(0, min(size[0] - img.shape[1], x))
    out[y:y + img.shape[0], x:x + img.shape[1]] = img
    return np.clip(out.astype(np.float32) * light, 0, 255).astype(np.uint8)


def face_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    import proctoring

    faces = proctoring.find_faces(jpeg(rgb))
    assert faces, "no face in the test photo"
    f = faces[0]
    return f.left, f.top, f.right, f.bottom


def turned(rgb: np.ndarray, box: tuple[int, int, int, int], pose: str, *, strength: float = TURN) -> np.ndarray:
    """``pose`` "left" (the person's left: content moves to the image's right), "right" or "front"."""
    import cv2

    if pose == "front":
        return rgb
    a = strength if pose == "left" else -strength
    h, w = rgb.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    bw, bh = (right - left) * 0.75, (bottom - top) * 0.9
    weight = np.clip(1 - ((xs - cx) / bw) ** 2 - ((ys - cy) / bh) ** 2, 0, None)
    return cv2.remap(rgb, xs - a * bw * weight, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


def challenge_frames(rel: str, phases: Sequence[str], *, per_phase: int = 2) -> list[dict[str, object]]:
    """The identity check's request body frames: each phase's pose, ``per_phase`` frames each."""
    import base64

    base = canvas(rel)
    box = face_box(base)
    out = []
    for i, pose in enumerate(phases):
        frame = jpeg(turned(base, box, pose))
        for _ in range(per_phase):
            out.append({"phase": i, "image": "data:image/jpeg;base64," + base64.b64encode(frame).decode()})
    return out


def write_y4m(path: Path, frames: Iterable[np.ndarray], *, fps: int = 10) -> Path:
    """Frames (RGB, all one size) as a YUV 4:2:0 Y4M file, what Chromium's fake camera plays."""
    import cv2

    frames = list(frames)
    h, w = frames[0].shape[:2]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def pose_frame(rel: str, pose: str) -> str:
    """One frame of ``rel`` showing ``pose``, as the page sends it (a JPEG data URL); cached."""
    return _pose_frame(rel, pose)


@functools.lru_cache(maxsize=64)
def _pose_frame(rel: str, pose: str) -> str:
    import base64

    base = canvas(rel)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg(turned(base, face_box(base), pose))).decode()


def phase_frames(rel: str, pose: str, phase: int, *, per_phase: int = 2) -> list[dict[str, object]]:
    """One phase's request frames: ``per_phase`` frames of ``rel`` showing ``pose``."""
    return [{"phase": phase, "image": pose_frame(rel, pose)} for _ in range(per_phase)]
