"""Frame jobs and their results, as plain data with a JSON wire format."""

from __future__ import annotations

import base64
import enum
import json
import time
import uuid
from dataclasses import dataclass, field

from proctoring.analysis import FrameAnalysis, analyze_frame
from proctoring.enrolment import Enrolment
from proctoring.errors import EnrolmentFormatError, JobFormatError, ProctoringError
from proctoring.settings import DEFAULT_SETTINGS, AnalysisSettings
from proctoring.tracking import TrackingState


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameJob:
    """One webcam frame to analyse.

    ``subject_id`` keys the tracking state: use the attempt id (one candidate, one
    sitting). ``frame_id`` is the caller's id for the stored frame, used as evidence.
    """

    subject_id: str
    frame_id: str
    image: bytes
    enrolment: Enrolment
    captured_at: float = field(default_factory=time.time)
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Ask for the liveness measures (68-point landmarks, ~2 ms) of this frame, e.g.
    # while a "blink" or "turn your head" challenge runs; off for routine frames.
    liveness: bool = False
    # Encode and compare this frame with the enrolment whatever the tracking says: the
    # pre-exam check decides on every frame, never on a decision carried from another.
    verify_identity: bool = False

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "job_id": self.job_id,
                "subject_id": self.subject_id,
                "frame_id": self.frame_id,
                "captured_at": self.captured_at,
                "image": base64.b64encode(self.image).decode(),
                "enrolment": self.enrolment.to_dict(),
                "liveness": self.liveness,
                "verify_identity": self.verify_identity,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameJob:
        try:
            d = json.loads(data)
            return cls(
                job_id=str(d["job_id"]),
                subject_id=str(d["subject_id"]),
                frame_id=str(d["frame_id"]),
                captured_at=float(d["captured_at"]),
                image=base64.b64decode(d["image"], validate=True),
                enrolment=Enrolment.from_dict(d["enrolment"]),
                liveness=bool(d.get("liveness", False)),
                verify_identity=bool(d.get("verify_identity", False)),
            )
        except (ValueError, KeyError, TypeError, EnrolmentFormatError) as exc:
            raise JobFormatError(f"bad frame job: {exc}") from exc


class JobStatus(enum.StrEnum):
    DONE = "done"
    ERROR = "error"  # the frame could not be analysed (bad job, or dead-lettered)


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameResult:
    job_id: str
    subject_id: str
    frame_id: str
    status: JobStatus
    analysis: FrameAnalysis | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "job_id": self.job_id,
            "subject_id": self.subject_id,
            "frame_id": self.frame_id,
            "status": str(self.status),
            "analysis": None if self.analysis is None else self.analysis.to_dict(),
            "error": self.error,
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameResult:
        try:
            d = json.loads(data)
            return cls(
                job_id=str(d["job_id"]),
                subject_id=str(d["subject_id"]),
                frame_id=str(d["frame_id"]),
                status=JobStatus(d["status"]),
                analysis=None if d.get("analysis") is None else FrameAnalysis.from_dict(d["analysis"]),
                error=d.get("error"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise JobFormatError(f"bad frame result: {exc}") from exc


def error_result(job: FrameJob | None, message: str, *, job_id: str = "") -> FrameResult:
    return FrameResult(
        job_id=job.job_id if job else job_id,
        subject_id=job.subject_id if job else "",
        frame_id=job.frame_id if job else "",
        status=JobStatus.ERROR,
        error=message,
    )


def analyze_job(
    job: FrameJob, tracking: TrackingState | None, *, settings: AnalysisSettings = DEFAULT_SETTINGS
) -> tuple[FrameResult, TrackingState | None]:
    """Analyse a job; input errors (stale enrolment, ...) become an ERROR result.

    Any other exception propagates: the worker retries those, then dead-letters.
    """
    try:
        analysis, new_state = analyze_frame(
            job.image,
            enrolment=job.enrolment,
            frame_id=job.frame_id,
            captured_at=job.captured_at,
            tracking=tracking,
            settings=settings,
            liveness=job.liveness,
            verify=job.verify_identity,
        )
    except ProctoringError as exc:
        return error_result(job, f"{type(exc).__name__}: {exc}"), tracking
    return (
        FrameResult(
            job_id=job.job_id, subject_id=job.subject_id, frame_id=job.frame_id,
            status=JobStatus.DONE, analysis=analysis,
        ),
        new_state,
    )


def analyze_job_bytes(
    job_bytes: bytes, tracking_bytes: bytes | None, settings: AnalysisSettings = DEFAULT_SETTINGS
) -> tuple[bytes, bytes | None]:
    """Bytes in, bytes out: the function shipped to pool processes (cheap to pickle)."""
    try:
        job = FrameJob.from_bytes(job_bytes)
    except JobFormatError as exc:
        return error_result(None, str(exc)).to_bytes(), tracking_bytes
    tracking = TrackingState.from_bytes(tracking_bytes) if tracking_bytes else None
    result, state = analyze_job(job, tracking, settings=settings)
    return result.to_bytes(), None if state is None else state.to_bytes()
