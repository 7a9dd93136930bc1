"""Enrolment: a person's reference face encodings, from a registration photo and live captures."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from proctoring.errors import (  # noqa: F401  (Refusal, RefusalCode, MESSAGES_ZH re-exported: callers import them here)
    MESSAGES_ZH,
    EnrolmentFormatError,
    EnrolmentRefused,
    ImageDecodeError,
    Refusal,
    RefusalCode,
)
from proctoring.faces import FaceBox, detect_faces_thoroughly, encode_face, encoder_version, face_distance
from proctoring.imaging import ImageQuality, QualityIssue, decode_image, face_quality, frame_quality, to_gray
from proctoring.settings import DEFAULT_SETTINGS, AnalysisSettings

FORMAT_VERSION = 1
# A face narrower than this (pixels) gives an encoding too unreliable to enrol with;
# the smallest face among the shared identity photos that enrols well is 51 px.
MIN_ENROL_FACE_WIDTH = 48
# A second face narrower than this share of the main face's width (a partial face at
# the edge, someone far behind) leaves no doubt whose face the photo is, so it does not
# refuse the photo; a face of comparable size does (which one is the person?)...
OTHER_FACE_MAX_RATIO = 0.5
# ...unless the photo is plainly a portrait of the main (largest) face: its centre within
# CENTRED of the photo's centre and every comparable face's centre at least ASIDE from it
# (distances as shares of the photo's width and height). On LFW View 1 DevTest, 88 of
# 1,549 photos have a second face at least half as wide (median 0.70 of the main face):
# 90% of their main faces sit within 0.05 of the centre, all but 2 within 0.12, and 90%
# of the second faces at 0.28 or more, so 86 are accepted; the 2 left have their
# largest face at the side and a face of the same size in the middle: ambiguous. Two
# people side by side (each off centre) are still refused.
CENTRED = 0.12
ASIDE = 0.2
# Registration encoding plus a few live captures (identity_distance, REFERENCE_SCALE).
MAX_ENCODINGS = 5
# The identity distance to several references is the distance to their mean encoding,
# divided by this factor for their count (1, 2, ... references), so one tolerance holds
# at every count. The mean moves toward the person's typical face, so both same-person
# and different-person distances shrink as references are added; the factors are the
# ratio of the thresholds for FAR 0.1% with n references and with the registration photo
# alone, on LFW View 1 DevTest (benchmarks/identity_calibration.py, section 2: the
# registration photo plus k other photos of the person, judged on the person's remaining
# photos and on everyone else's; 126, 53, 25 and 15 people for k = 1..4). The mean was
# as good as or better than the nearest reference and the mean of the distances at
# every k: FRR at FAR 0.1% for k = 1..4 was 2.2%, 1.3%, 0.7%, 1.5% (nearest 2.9%, 1.5%,
# 1.8%, 1.5%; the registration photo alone 6.0%, 4.8%, 5.6%, 6.5% on the same people).
# With these factors, at the tolerance 0.54: FAR 0.090%, 0.063%, 0.095%, 0.12% (the
# registration photo alone on those 15 people: 0.12%), FRR 2.3%, 1.3%, 0.7%, 0.7%.
REFERENCE_SCALE = (1.0, 0.95, 0.94, 0.94, 0.93)


@dataclass(frozen=True, slots=True)
class PhotoCheck:
    """Outcome of checking a registration photo; ``refusal`` is None when usable."""

    faces: tuple[FaceBox, ...]
    quality: ImageQuality | None
    refusal: Refusal | None

    @property
    def ok(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolment:
    """A person's reference encodings, tagged with the encoder that made them."""

    person_id: str
    encodings: tuple[tuple[float, ...], ...]
    model_version: str
    sources: tuple[str, ...] = ()
    updated_at: float = field(default_factory=time.time)

    def known(self) -> np.ndarray:
        return np.asarray(self.encodings, dtype=np.float64).reshape(-1, 128)

    def to_dict(self) -> dict[str, object]:
        return {
            "v": FORMAT_VERSION,
            "person_id": self.person_id,
            "encodings": [list(e) for e in self.encodings],
            "model_version": self.model_version,
            "sources": list(self.sources),
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Enrolment:
        try:
            if data["v"] != FORMAT_VERSION:
                raise EnrolmentFormatError(f"unknown enrolment format {data['v']!r}")
            encodings = tuple(tuple(float(x) for x in e) for e in data["encodings"])  # type: ignore[union-attr]
            if not encodings or any(len(e) != 128 for e in encodings):
                raise EnrolmentFormatError("encodings must be non-empty 128-d vectors")
            return cls(
                person_id=str(data["person_id"]),
                encodings=encodings,
                model_version=str(data["model_version"]),
                sources=tuple(str(s) for s in data.get("sources", ())),  # type: ignore[union-attr]
                updated_at=float(data.get("updated_at", 0.0)),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EnrolmentFormatError(str(exc)) from exc

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Enrolment:
        try:
            return cls.from_dict(json.loads(data))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EnrolmentFormatError(str(exc)) from exc


def identity_distance(enrolment: Enrolment, encoding: np.ndarray) -> float:
    """How far a face encoding is from the enrolled person, on the scale of the tolerance.

    With one reference (the registration photo) the Euclidean distance to it; with live
    captures added, the distance to the mean of the references divided by
    REFERENCE_SCALE for their count (see there).
    """
    known = enrolment.known()
    if known.size == 0:
        return math.inf
    scale = REFERENCE_SCALE[min(len(known), len(REFERENCE_SCALE)) - 1]
    return face_distance(known.mean(axis=0, keepdims=True), encoding) / scale


def is_stale(enrolment: Enrolment) -> bool:
    """True when the enrolment was made by another encoder and must be redone.

    Encodings from different models are not comparable, so after a model upgrade every
    distance would be meaningless; the registration flow re-enrols from the stored photo.
    """
    return enrolment.model_version != encoder_version()


def find_faces(image: bytes) -> list[FaceBox]:
    """Faces in a photo (thorough, slow detection), largest first.

    Raises ImageDecodeError for bytes that are not an image.
    """
    return detect_faces_thoroughly(decode_image(image))


_ISSUE_REFUSALS = {
    QualityIssue.TOO_DARK: RefusalCode.TOO_DARK,
    QualityIssue.TOO_BRIGHT: RefusalCode.TOO_BRIGHT,
    QualityIssue.BLURRED: RefusalCode.BLURRED,
}


def _ambiguous(faces: tuple[FaceBox, ...], shape: tuple[int, ...]) -> bool:
    """Whether another face leaves it unclear whose photo it is (faces largest first)."""
    h, w = shape[:2]

    def off_centre(box: FaceBox) -> float:
        x, y = box.center
        return math.hypot(x / w - 0.5, y / h - 0.5)

    main, comparable = faces[0], [f for f in faces[1:] if f.width >= OTHER_FACE_MAX_RATIO * faces[0].width]
    if not comparable:
        return False
    return off_centre(main) > CENTRED or any(off_centre(f) < ASIDE for f in comparable)


def _check(rgb: np.ndarray | None, settings: AnalysisSettings) -> PhotoCheck:
    if rgb is None:
        return PhotoCheck((), None, Refusal(RefusalCode.UNDECODABLE))
    faces = tuple(detect_faces_thoroughly(rgb))
    if not faces:
        quality = frame_quality(to_gray(rgb), settings=settings)
        code = _ISSUE_REFUSALS.get(quality.issues[0], RefusalCode.NO_FACE) if quality.issues else RefusalCode.NO_FACE
        return PhotoCheck(faces, quality, Refusal(code))
    if _ambiguous(faces, rgb.shape):
        return PhotoCheck(faces, None, Refusal(RefusalCode.SEVERAL_FACES))
    quality = face_quality(to_gray(rgb), faces[0].as_tuple(), settings=settings)
    if quality.issues:
        return PhotoCheck(faces, quality, Refusal(_ISSUE_REFUSALS[quality.issues[0]]))
    if faces[0].width < MIN_ENROL_FACE_WIDTH:
        return PhotoCheck(faces, quality, Refusal(RefusalCode.FACE_TOO_SMALL))
    return PhotoCheck(faces, quality, None)


def _decode_or_none(image: bytes) -> np.ndarray | None:
    try:
        return decode_image(image)
    except ImageDecodeError:
        return None


def check_registration_photo(image: bytes, *, settings: AnalysisSettings = DEFAULT_SETTINGS) -> PhotoCheck:
    """Whether a photo can be enrolled: one large, well-exposed, sharp face, and no other
    face of comparable size unless the main face is centred and the other aside (see
    OTHER_FACE_MAX_RATIO and CENTRED)."""
    return _check(_decode_or_none(image), settings)


def enrol(
    image: bytes,
    *,
    person_id: str,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    now: float | None = None,
) -> Enrolment:
    """Enrol a person from their registration photo; raises EnrolmentRefused."""
    rgb = _decode_or_none(image)
    check = _check(rgb, settings)
    if check.refusal is not None or rgb is None:
        raise EnrolmentRefused(check.refusal or Refusal(RefusalCode.UNDECODABLE))
    encoding = encode_face(rgb, check.faces[0], jitters=settings.enrol_jitters)
    return Enrolment(
        person_id=person_id,
        encodings=(tuple(float(x) for x in encoding),),
        model_version=encoder_version(),
        sources=("registration",),
        updated_at=time.time() if now is None else now,
    )


def add_capture(
    enrolment: Enrolment,
    image: bytes,
    *,
    source: str = "live",
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    now: float | None = None,
) -> Enrolment:
    """Add a live capture (e.g. from the pre-exam camera check) to an enrolment.

    The capture must itself match the enrolment, so an impostor cannot slip their own
    face into the references. The registration encoding is always kept; beyond
    MAX_ENCODINGS the oldest live capture is dropped. Frames are then judged against the
    mean of the references (identity_distance).
    """
    rgb = _decode_or_none(image)
    check = _check(rgb, settings)
    if check.refusal is not None or rgb is None:
        raise EnrolmentRefused(check.refusal or Refusal(RefusalCode.UNDECODABLE))
    encoding = encode_face(rgb, check.faces[0], jitters=settings.enrol_jitters)
    if identity_distance(enrolment, encoding) > settings.tolerance:
        raise EnrolmentRefused(Refusal(RefusalCode.NOT_SAME_PERSON))
    encodings = enrolment.encodings + (tuple(float(x) for x in encoding),)
    sources = enrolment.sources + (source,)
    if len(encodings) > MAX_ENCODINGS:
        encodings = encodings[:1] + encodings[2:]
        sources = sources[:1] + sources[2:]
    return replace(
        enrolment, encodings=encodings, sources=sources, updated_at=time.time() if now is None else now
    )
