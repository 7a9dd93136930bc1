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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proctoring.enrolment import Refusal


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
