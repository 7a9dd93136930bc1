"""Decoding frames and judging their quality with OpenCV."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from proctoring.errors import ImageDecodeError
from proctoring.settings import AnalysisSettings

# A hostile or broken upload must not make the decoder allocate gigabytes.
MAX_IMAGE_PIXELS = 4096 * 4096


class QualityIssue(enum.StrEnum):
    UNDECODABLE = "undecodable"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    BLURRED = "blurred"


@dataclass(frozen=True, slots=True)
class ImageQuality:
    """Measurements of a face region (or the whole frame when no face was found)."""

    brightness: float
    sharpness: float
    saturated: float
    issues: tuple[QualityIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, object]:
        return {
            "brightness": round(self.brightness, 2),
            "sharpness": round(self.sharpness, 2),
            "saturated": round(self.saturated, 4),
            "issues": [str(i) for i in self.issues],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ImageQuality:
        return cls(
            brightness=float(data["brightness"]),  # type: ignore[arg-type]
            sharpness=float(data["sharpness"]),  # type: ignore[arg-type]
            saturated=float(data["saturated"]),  # type: ignore[arg-type]
            issues=tuple(QualityIssue(i) for i in data["issues"]),  # type: ignore[union-attr]
        )


UNDECODABLE = ImageQuality(0.0, 0.0, 0.0, (QualityIssue.UNDECODABLE,))


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG (or PNG) bytes into an RGB ``uint8`` array (the layout dlib expects)."""
    return cv2.cvtColor(_decode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def decode_gray(data: bytes) -> np.ndarray:
    """Decode straight to grey (a third cheaper than colour, for frames that need no encoding)."""
    return _decode(data, cv2.IMREAD_GRAYSCALE)


def _decode(data: bytes, flags: int) -> np.ndarray:
    if not data:
        raise ImageDecodeError("empty image")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error as exc:  # raised for some truncated or oversized inputs
        raise ImageDecodeError(str(exc)) from exc
    if img is None or img.ndim != (3 if flags == cv2.IMREAD_COLOR else 2) or img.size == 0:
        raise ImageDecodeError("not a decodable image")
    if img.shape[0] * img.shape[1] > MAX_IMAGE_PIXELS:
        raise ImageDecodeError("image too large")
    return img


def encode_jpeg(rgb: np.ndarray, *, quality: int = 90) -> bytes:
    """Encode an RGB array as JPEG bytes (for tests, benchmarks and evidence snapshots)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageDecodeError("could not encode JPEG")
    return buf.tobytes()


def to_gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def resize_to_max_side(img: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the long side is at most ``max_side``; returns (image, scale applied)."""
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return img, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA), scale


def _sharpness(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


# Side (pixels) of the square a face region is resized to before its sharpness is measured:
# near the smallest face enrolled (48 px), so faces are rarely enlarged.
FACE_SHARPNESS_SIDE = 64


def face_quality(
    gray: np.ndarray, box: tuple[int, int, int, int], *, settings: AnalysisSettings
) -> ImageQuality:
    """Judge the face region ``box`` = (top, right, bottom, left) of a grey frame.

    Brightness is judged on the face, not on a bright window behind it. Sharpness is
    judged relative to the face: every face region is brought to the same
    FACE_SHARPNESS_SIDE square, so blur is measured in face widths (what the encoder's
    aligned chip sees) whatever the face's size in pixels, and its Laplacian variance is
    divided by its grey-level variance (x100), so a low-contrast face is not taken for a
    soft one. The former measure (raw variance at 96x96) enlarged small faces, which
    smoothed them, so small but sharp faces read as blurred.
    """
    top, right, bottom, left = box
    h, w = gray.shape[:2]
    crop = gray[max(top, 0) : min(bottom, h), max(left, 0) : min(right, w)]
    if crop.size == 0:
        return frame_quality(gray, settings=settings)
    crop = cv2.resize(crop, (FACE_SHARPNESS_SIDE, FACE_SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    brightness = float(crop.mean())
    saturated = float((crop >= 250).mean())
    sharpness = 100.0 * _sharpness(crop) / max(float(crop.var()), 1.0)
    issues: list[QualityIssue] = []
    if brightness < settings.face_min_brightness:
        issues.append(QualityIssue.TOO_DARK)
    elif brightness > settings.face_max_brightness or saturated > settings.face_max_saturated:
        issues.append(QualityIssue.TOO_BRIGHT)
    # A dark or washed-out face always reads as flat; only call it blurred otherwise.
    if not issues and sharpness < settings.face_min_sharpness:
        issues.append(QualityIssue.BLURRED)
    return ImageQuality(brightness, sharpness, saturated, tuple(issues))


def frame_quality(gray: np.ndarray, *, settings: AnalysisSettings) -> ImageQuality:
    """Judge a whole frame; used when no face was found, to tell poor image from no face."""
    small, _ = resize_to_max_side(gray, 320)
    brightness = float(small.mean())
    saturated = float((small >= 250).mean())
    sharpness = _sharpness(small)
    issues: list[QualityIssue] = []
    if float(np.percentile(small, 95)) < settings.frame_dark_p95:
        issues.append(QualityIssue.TOO_DARK)
    elif brightness > settings.frame_bright_mean or saturated >= settings.frame_bright_saturated:
        issues.append(QualityIssue.TOO_BRIGHT)
    if not issues and sharpness < settings.frame_min_sharpness:
        issues.append(QualityIssue.BLURRED)
    return ImageQuality(brightness, sharpness, saturated, tuple(issues))
