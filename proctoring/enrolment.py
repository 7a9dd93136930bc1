"""Enrolment: a person's reference face encodings, from a registration photo and live captures."""

from __future__ import annotations

import json
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
# refuse the photo; a face of comparable size does (which one is the person?).
OTHER_FACE_MAX_RATIO = 0.5
# Registration encoding plus a few live captures; more adds FAR (min over more
# references) without helping a person who already matches.
MAX_ENCODINGS = 5


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


def _check(rgb: np.ndarray | None, settings: AnalysisSettings) -> PhotoCheck:
    if rgb is None:
        return PhotoCheck((), None, Refusal(RefusalCode.UNDECODABLE))
    faces = tuple(detect_faces_thoroughly(rgb))
    if not faces:
        quality = frame_quality(to_gray(rgb), settings=settings)
        code = _ISSUE_REFUSALS.get(quality.issues[0], RefusalCode.NO_FACE) if quality.issues else RefusalCode.NO_FACE
        return PhotoCheck(faces, quality, Refusal(code))
    if len(faces) > 1 and faces[1].width >= OTHER_FACE_MAX_RATIO * faces[0].width:
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
    face of comparable size (see OTHER_FACE_MAX_RATIO)."""
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
    MAX_ENCODINGS the oldest live capture is dropped.
    """
    rgb = _decode_or_none(image)
    check = _check(rgb, settings)
    if check.refusal is not None or rgb is None:
        raise EnrolmentRefused(check.refusal or Refusal(RefusalCode.UNDECODABLE))
    encoding = encode_face(rgb, check.faces[0], jitters=settings.enrol_jitters)
    if face_distance(enrolment.known(), encoding) > settings.tolerance:
        raise EnrolmentRefused(Refusal(RefusalCode.NOT_SAME_PERSON))
    encodings = enrolment.encodings + (tuple(float(x) for x in encoding),)
    sources = enrolment.sources + (source,)
    if len(encodings) > MAX_ENCODINGS:
        encodings = encodings[:1] + encodings[2:]
        sources = sources[:1] + sources[2:]
    return replace(
        enrolment, encodings=encodings, sources=sources, updated_at=time.time() if now is None else now
    )
