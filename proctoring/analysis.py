"""Analysis of one webcam frame: quality, faces, identity, liveness measures -> a verdict."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from proctoring.enrolment import Enrolment, identity_distance, is_stale
from proctoring.errors import ImageDecodeError, StaleEnrolmentError
from proctoring.faces import (
    FaceBox,
    chip_variants,
    detect_faces,
    detect_faces_near,
    detect_faces_scaled,
    encode_chips,
    encode_face,
    face_chip,
)
from proctoring.imaging import (
    UNDECODABLE,
    ImageQuality,
    decode_gray,
    decode_image,
    face_quality,
    frame_quality,
    resize_to_max_side,
    to_gray,
)
from proctoring.liveness import LivenessMeasures, measure_face
from proctoring.scene import scene_signature
from proctoring.settings import DEFAULT_SETTINGS, AnalysisSettings
from proctoring.tracking import TrackingState, VerifyReason, verification_reason


class Verdict(enum.StrEnum):
    OK = "ok"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    ANOTHER_PERSON = "another_person"
    POOR_IMAGE = "poor_image"


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameAnalysis:
    """The verdict on one frame with its evidence.

    ``distance`` is the best distance to the enrolment from the latest identity check;
    ``identity_checked`` says whether that check ran on this very frame (otherwise the
    same face was tracked since a recent check and ``verify_reason`` is None).
    ``same_person`` is the identity of the main (largest) face whatever the verdict: True
    when it is the enrolled person, False when someone else, None when no face was judged
    (no face, poor image). A SEVERAL_FACES frame thus reports both the count
    (``face_count``) and whether the candidate is the main face.
    """

    frame_id: str
    captured_at: float
    verdict: Verdict
    faces: tuple[FaceBox, ...] = ()
    distance: float | None = None
    identity_checked: bool = False
    verify_reason: VerifyReason | None = None
    quality: ImageQuality | None = None
    liveness: LivenessMeasures | None = None
    same_person: bool | None = None
    # The main face's 128-d encoding, only on frames the caller asked to verify (the pre-exam check):
    # its judge aggregates a phase's frames (challenge.phase_distance); routine frames omit it.
    encoding: tuple[float, ...] | None = None

    @property
    def face_count(self) -> int:
        return len(self.faces)

    def to_dict(self) -> dict[str, object]:
        return {
            "frame_id": self.frame_id,
            "captured_at": self.captured_at,
            "verdict": str(self.verdict),
            "faces": [f.to_list() for f in self.faces],
            "distance": None if self.distance is None else round(self.distance, 4),
            "identity_checked": self.identity_checked,
            "verify_reason": None if self.verify_reason is None else str(self.verify_reason),
            "quality": None if self.quality is None else self.quality.to_dict(),
            "liveness": None if self.liveness is None else self.liveness.to_dict(),
            "same_person": self.same_person,
            **({} if self.encoding is None else {"encoding": [round(x, 6) for x in self.encoding]}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FrameAnalysis:
        q, lv, vr, d = data.get("quality"), data.get("liveness"), data.get("verify_reason"), data.get("distance")
        same = data.get("same_person")  # absent in results of workers older than the field
        enc = data.get("encoding")
        return cls(
            frame_id=str(data["frame_id"]),
            captured_at=float(data["captured_at"]),  # type: ignore[arg-type]
            verdict=Verdict(data["verdict"]),
            faces=tuple(FaceBox.from_seq(f) for f in data.get("faces", ())),  # type: ignore[union-attr]
            distance=None if d is None else float(d),  # type: ignore[arg-type]
            identity_checked=bool(data.get("identity_checked", False)),
            verify_reason=None if vr is None else VerifyReason(vr),
            quality=None if q is None else ImageQuality.from_dict(q),  # type: ignore[arg-type]
            liveness=None if lv is None else LivenessMeasures.from_dict(lv),  # type: ignore[arg-type]
            same_person=None if same is None else bool(same),
            encoding=None if enc is None else tuple(float(x) for x in enc),  # type: ignore[union-attr]
        )


def analyze_frame(
    image: bytes,
    *,
    enrolment: Enrolment,
    frame_id: str,
    captured_at: float,
    tracking: TrackingState | None = None,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    liveness: bool = False,
    verify: bool = False,
) -> tuple[FrameAnalysis, TrackingState]:
    """Judge one frame of a candidate against their enrolment.

    Pure apart from CPU: takes the candidate's tracking state from the previous frame
    and returns the new one with the analysis. Raises StaleEnrolmentError when the
    enrolment must be redone; an undecodable frame is a POOR_IMAGE verdict.
    ``liveness`` (or ``settings.measure_liveness``) adds the 68-point liveness measures
    of the main face (~2 ms), for frames taken while a liveness challenge runs.
    ``verify`` compares this frame with the enrolment whatever the tracking says.
    """
    if is_stale(enrolment):
        raise StaleEnrolmentError(f"enrolment of {enrolment.person_id} uses {enrolment.model_version}")
    state = tracking or TrackingState()

    def result(verdict: Verdict, **kw: object) -> FrameAnalysis:
        return FrameAnalysis(frame_id=frame_id, captured_at=captured_at, verdict=verdict, **kw)  # type: ignore[arg-type]

    # Forget the face positions after a frame that tells nothing; keep the last check.
    blind = replace(state, face_count=0, last_box=None, scene=None)
    # Decode in colour only when the frame will likely need it (an identity check is
    # due, or liveness); otherwise grey is enough for detection and quality, and colour
    # is decoded later only if the face turns out to have moved.
    colour = _Colour(image)
    try:
        if verify or liveness or settings.measure_liveness or _check_expected(state, captured_at, settings):
            gray = to_gray(colour())
        else:
            gray = decode_gray(image)
    except ImageDecodeError:
        return result(Verdict.POOR_IMAGE, quality=UNDECODABLE), blind

    faces, scanned_at = _find_faces(colour, gray, state, captured_at, settings)
    state = replace(state, scanned_at=scanned_at)
    blind = replace(blind, scanned_at=scanned_at)
    if not faces:
        quality = frame_quality(gray, settings=settings)
        verdict = Verdict.POOR_IMAGE if quality.issues else Verdict.NO_FACE
        return result(verdict, quality=quality), blind

    main = faces[0]
    quality = face_quality(gray, main.as_tuple(), settings=settings)
    if quality.issues:
        return result(Verdict.POOR_IMAGE, faces=faces, quality=quality), blind
    measures = measure_face(colour(), main) if liveness or settings.measure_liveness else None

    scene = scene_signature(gray, main)
    reason = verification_reason(state, main, now=captured_at, settings=settings, scene=scene, asked=verify)
    if len(faces) == 1 and reason is None:
        # Same face, same place, same scene, verified recently and matched: reuse that check.
        new_state = replace(state, face_count=1, last_box=main, scene=scene)
        return result(
            Verdict.OK, faces=faces, quality=quality, liveness=measures, distance=state.distance, same_person=True
        ), new_state

    # With several faces, "several faces" is the verdict (for the count rule) and the main
    # (largest) face is still checked (one encoding, not one per face): a partial face at
    # the edge must not hide whether the candidate is the one in front of the camera.
    # The next single-face frame is a count change and is verified again.
    distance, encoding = identity_distance_of(colour(), main, enrolment, settings)
    matched = distance <= settings.tolerance
    new_state = replace(
        state, verified_at=captured_at, verified_box=main, distance=distance if math.isfinite(distance) else None,
        matched=matched, face_count=len(faces), last_box=main, scene=scene,
    )
    if len(faces) > 1:
        verdict = Verdict.SEVERAL_FACES
    else:
        verdict = Verdict.OK if matched else Verdict.ANOTHER_PERSON
    return result(
        verdict, faces=faces, quality=quality, liveness=measures, distance=distance, same_person=matched,
        identity_checked=True, verify_reason=reason or VerifyReason.FACE_COUNT_CHANGED,
        encoding=tuple(float(x) for x in encoding) if verify else None,
    ), new_state


class _Colour:
    """The frame decoded in colour (RGB), on first use."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        self.rgb: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self.rgb is None:
            self.rgb = decode_image(self.image)
        return self.rgb


def _check_expected(state: TrackingState, now: float, settings: AnalysisSettings) -> bool:
    """Whether this frame will need an identity check whatever its face does."""
    return (
        state.verified_at is None or state.matched is not True or state.face_count != 1
        or now - state.verified_at >= settings.reverify_seconds - 1.0
    )


def _find_faces(
    colour: Callable[[], np.ndarray], gray: np.ndarray, state: TrackingState, now: float, settings: AnalysisSettings
) -> tuple[tuple[FaceBox, ...], float | None]:
    """Fast pass every frame; thorough passes only when it matters (see AnalysisSettings).

    Returns the faces (largest first) and the capture time of the latest thorough look.
    """
    max_side = settings.detect_max_side
    long_side = max(gray.shape[:2])
    if state.last_box is not None and 0 < state.last_box.width * max_side / long_side < 85:
        # Scale so the tracked face stays ~100 px, above HOG's 80 px window: a candidate
        # sitting far back costs a larger fast pass instead of a thorough scan per frame.
        wanted = round(long_side * 100 / state.last_box.width)
        max_side = min(max(wanted, settings.detect_max_side), settings.scan_max_side)
    small, scale = resize_to_max_side(gray, max_side)
    first = state.scanned_at is None
    fast: list[FaceBox] = []
    if not first and state.face_count == 1 and state.last_box is not None:
        # One face last frame: look for it around where it was. Faces elsewhere are
        # the periodic scene scan's job (below).
        fast = detect_faces_near(small, scale, state.last_box, margin=settings.roi_margin, full_shape=gray.shape)
    if len(fast) != 1:
        fast = detect_faces_scaled(small, scale, full_shape=gray.shape)
    scene_scanned = False
    if not fast:
        # Nothing at the fast scale: full resolution (grey, no upsample; the same pass as
        # a scene scan), then the naive pipeline's own detection (colour, one upsample)
        # before saying "no face".
        fast = detect_faces(gray, max_side=settings.scan_max_side) if scale < 1.0 else []
        if not fast:
            return tuple(detect_faces(colour(), max_side=settings.scan_max_side, upsample=1)), now
        scene_scanned = True
    if first or len(fast) > 1:
        # Confirm and count faces at full accuracy (faces down to ~40 px, as naive).
        thorough = detect_faces(colour(), max_side=settings.scan_max_side, upsample=1)
        return tuple(thorough if len(thorough) >= len(fast) else fast), now
    if scene_scanned:
        return tuple(fast), now
    if state.scanned_at is None or state.face_count > 1 or now - state.scanned_at >= settings.scene_scan_seconds - 1.0:
        # Periodic look for a smaller face in the background, and again on the frame
        # after one was seen, so a person who stays is seen on consecutive frames.
        scanned = detect_faces(gray, max_side=settings.scan_max_side)
        return tuple(scanned if len(scanned) > 1 else fast), now
    return tuple(fast), state.scanned_at


def identity_distance_of(rgb: np.ndarray, box: FaceBox, enrolment: Enrolment,
                         settings: AnalysisSettings) -> tuple[float, np.ndarray]:
    """Distance of the face in ``box`` to the enrolment (enrolment.identity_distance), and the
    encoding it was measured on.

    A face whose plain view lands within ``settings.mirror_band`` of the tolerance gets a
    second look: its mirror image is encoded too and the two encodings averaged, as the
    enrolment averages its views. Near the threshold that removes part of the view's
    noise (measured in AnalysisSettings.mirror_band) while the extra ~12 ms encoder pass
    is paid only by the few frames that are close calls.
    """
    chip = face_chip(rgb, box)
    views = chip_variants(chip, max(settings.frame_jitters, 1))
    encoding = encode_chips(views)
    distance = identity_distance(enrolment, encoding)
    if len(views) == 1 and abs(distance - settings.tolerance) <= settings.mirror_band:
        mirror = encode_chips(chip_variants(chip, 2)[1:])
        encoding = (encoding + mirror) / 2
        distance = identity_distance(enrolment, encoding)
    return distance, encoding


def frame_encodings(image: bytes, *, settings: AnalysisSettings = DEFAULT_SETTINGS) -> list[np.ndarray]:
    """Encodings of every face found by the frame detector (for tools and benchmarks)."""
    colour = _Colour(image)
    faces, _ = _find_faces(colour, to_gray(colour()), TrackingState(), 0.0, settings)
    return [encode_face(colour(), box, jitters=settings.frame_jitters) for box in faces]
