"""Groundwork for liveness challenges: eye aspect ratio and head pose per face.

Uses dlib's 68-point landmark predictor (from face_recognition_models). A later
challenge ("blink", "turn left") compares these numbers across a few frames.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from proctoring.faces import FaceBox

# A generic 3-D face (millimetre-like units) in camera axes: x to the image's right,
# y down, z away from the camera, nose tip at the origin. Points: nose tip, chin,
# outer corner of the image-left eye, of the image-right eye, left and right mouth corner.
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ],
    dtype=np.float64,
)
_LANDMARK_IDS = (30, 8, 36, 45, 48, 54)
_LEFT_EYE = range(36, 42)  # image-left eye (the person's right eye)
_RIGHT_EYE = range(42, 48)


@dataclass(frozen=True, slots=True)
class LivenessMeasures:
    """Per-frame measures of one face.

    ``ear`` is the mean eye aspect ratio (open eyes ~0.25-0.35, closed < ~0.18).
    Angles in degrees from a generic face model: ``yaw`` (turning, sign flips with a
    mirrored image), ``pitch`` (nodding) and ``roll`` (tilting). The generic model
    gives frontal faces an offset of some degrees, mostly in pitch, so a challenge
    should compare against the same candidate's baseline rather than zero.
    """

    ear_left: float
    ear_right: float
    yaw: float
    pitch: float
    roll: float

    @property
    def ear(self) -> float:
        return (self.ear_left + self.ear_right) / 2

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 3) for k in ("ear_left", "ear_right", "yaw", "pitch", "roll")}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> LivenessMeasures:
        return cls(**{k: float(data[k]) for k in ("ear_left", "ear_right", "yaw", "pitch", "roll")})


@functools.cache
def _predictor():  # type: ignore[no-untyped-def]
    import warnings

    import dlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkg_resources deprecation in face_recognition_models
        import face_recognition_models

    return dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())


def landmarks_68(rgb: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 68 (x, y) landmarks of the face in ``box`` as a float array of shape (68, 2)."""
    import dlib

    shape = _predictor()(rgb, dlib.rectangle(box.left, box.top, box.right, box.bottom))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) over the six landmarks of one eye."""
    p = eye
    width = np.linalg.norm(p[0] - p[3])
    if width == 0:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def head_pose(points: np.ndarray, *, image_size: tuple[int, int]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from 68 landmarks, by solvePnP on a generic face.

    The camera is approximated with focal length = image width and no distortion, which
    is good enough for coarse angles ("looking away", "turned left").
    """
    height, width = image_size
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
    image_points = points[list(_LANDMARK_IDS)].astype(np.float64)
    # Start from "facing the camera at the distance the eye span implies": without a
    # guess the iterative solver sometimes lands on the mirrored solution (roll ~180).
    eye_span = max(float(np.linalg.norm(image_points[2] - image_points[3])), 1.0)
    rvec0 = np.zeros((3, 1))
    tvec0 = np.array([[0.0], [0.0], [width * 450.0 / eye_span]])
    ok, rvec, _tvec = cv2.solvePnP(
        _MODEL_POINTS, image_points, camera, np.zeros(4), rvec0, tvec0, True, cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return (math.nan, math.nan, math.nan)
    rot, _ = cv2.Rodrigues(rvec)
    # Euler angles of R = Rz(roll) Ry(yaw) Rx(pitch).
    yaw = math.degrees(math.asin(-max(-1.0, min(1.0, rot[2, 0]))))
    pitch = math.degrees(math.atan2(rot[2, 1], rot[2, 2]))
    roll = math.degrees(math.atan2(rot[1, 0], rot[0, 0]))
    return (yaw, pitch, roll)


def measure_face(rgb: np.ndarray, box: FaceBox) -> LivenessMeasures:
    points = landmarks_68(rgb, box)
    yaw, pitch, roll = head_pose(points, image_size=rgb.shape[:2])
    return LivenessMeasures(
        ear_left=eye_aspect_ratio(points[list(_LEFT_EYE)]),
        ear_right=eye_aspect_ratio(points[list(_RIGHT_EYE)]),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
    )
