"""Exceptions raised by the proctoring package.

The tree, all rooted at :class:`ProctoringError` so a caller can catch the package's
failures in one place::

    ProctoringError
    ├── ImageDecodeError        the bytes are not a decodable JPEG/PNG image
    ├── EnrolmentRefused        a photo cannot be used for enrolment; carries a Refusal
    │                           (machine code + Chinese message for the registration page)
    ├── EnrolmentFormatError    stored enrolment data cannot be read back
    ├── StaleEnrolmentError     the enrolment was made by another encoder model (re-enrol)
    ├── JobFormatError          a queued job or result payload cannot be read
    └── QueueError              the Redis frame queue failed
        └── ResultTimeout       no result arrived for a queued frame in time

A frame that cannot be decoded during an exam is *not* an exception for callers of
the analysers: it becomes a ``poor_image`` verdict, because a bad upload from a
candidate's browser is an expected event, not a fault.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RefusalCode(enum.StrEnum):
    UNDECODABLE = "undecodable"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    FACE_TOO_SMALL = "face_too_small"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    BLURRED = "blurred"
    NOT_SAME_PERSON = "not_same_person"


MESSAGES_ZH: dict[RefusalCode, str] = {
    RefusalCode.UNDECODABLE: "无法读取照片，请上传 JPEG 或 PNG 格式的照片",
    RefusalCode.NO_FACE: "照片中未检测到人脸",
    RefusalCode.SEVERAL_FACES: "照片中检测到多张人脸",
    RefusalCode.FACE_TOO_SMALL: "照片中人脸过小，请上传近距离正面免冠照片",
    RefusalCode.TOO_DARK: "照片过暗",
    RefusalCode.TOO_BRIGHT: "照片过亮（曝光过度）",
    RefusalCode.BLURRED: "照片模糊",
    RefusalCode.NOT_SAME_PERSON: "照片与已登记的本人照片不一致",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a photo cannot be used: a stable machine code and a message for the page."""

    code: RefusalCode

    @property
    def message_zh(self) -> str:
        return MESSAGES_ZH[self.code]


class ProctoringError(Exception):
    """Base class of every error raised by :mod:`proctoring`."""


class ImageDecodeError(ProctoringError):
    """The image bytes could not be decoded."""


class EnrolmentRefused(ProctoringError):
    """A photo was refused for enrolment; ``refusal`` says why (code + message_zh)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.code}: {refusal.message_zh}")
        self.refusal = refusal


class EnrolmentFormatError(ProctoringError):
    """Serialised enrolment data is malformed or of an unknown format version."""


class StaleEnrolmentError(ProctoringError):
    """The enrolment's encodings come from another model version; they must be redone."""


class JobFormatError(ProctoringError):
    """A frame job or result payload is malformed."""


class QueueError(ProctoringError):
    """The Redis-backed frame queue failed (connection, protocol or payload)."""


class ResultTimeout(QueueError):
    """No analysis result arrived for a queued frame within the timeout."""
