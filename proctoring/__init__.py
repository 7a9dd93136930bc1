"""Proctoring: webcam frame analysis, enrolment, identity verification and violation policy.

A pure library plus a worker; it takes and returns plain data. Entry points:

- registration: :func:`check_registration_photo`, :func:`find_faces`, :func:`enrol`,
  :func:`add_capture`, :func:`is_stale`;
- exams: a :class:`FrameAnalyzer` (:class:`LocalPoolAnalyzer` or
  :class:`RedisQueueAnalyzer`) turns a :class:`FrameJob` into a :class:`FrameResult`;
  :func:`new_violations` turns a candidate's recent analyses into :class:`Violation` s;
- workers: :func:`run_worker`.
"""

from proctoring.analysis import FrameAnalysis, Verdict, analyze_frame
from proctoring.enrolment import (
    Enrolment,
    PhotoCheck,
    Refusal,
    RefusalCode,
    add_capture,
    check_registration_photo,
    enrol,
    find_faces,
    is_stale,
)
from proctoring.errors import (
    EnrolmentFormatError,
    EnrolmentRefused,
    ImageDecodeError,
    JobFormatError,
    ProctoringError,
    QueueError,
    ResultTimeout,
    StaleEnrolmentError,
)
from proctoring.faces import FaceBox, encoder_version, limit_native_threads
from proctoring.imaging import ImageQuality, QualityIssue
from proctoring.jobs import FrameJob, FrameResult, JobStatus
from proctoring.liveness import LivenessMeasures
from proctoring.local_pool import FrameAnalyzer, LocalPoolAnalyzer
from proctoring.policy import (
    Consequence,
    PolicySettings,
    Violation,
    ViolationKind,
    current_violations,
    history_needed,
    new_violations,
)
from proctoring.redis_queue import QueueKeys, RedisQueueAnalyzer
from proctoring.settings import AnalysisSettings
from proctoring.tracking import TrackingState, VerifyReason
from proctoring.worker import run_worker, serve_worker

__all__ = [
    "AnalysisSettings",
    "Consequence",
    "Enrolment",
    "EnrolmentFormatError",
    "EnrolmentRefused",
    "FaceBox",
    "FrameAnalysis",
    "FrameAnalyzer",
    "FrameJob",
    "FrameResult",
    "ImageDecodeError",
    "ImageQuality",
    "JobFormatError",
    "JobStatus",
    "LivenessMeasures",
    "LocalPoolAnalyzer",
    "PhotoCheck",
    "PolicySettings",
    "ProctoringError",
    "QualityIssue",
    "QueueError",
    "QueueKeys",
    "RedisQueueAnalyzer",
    "Refusal",
    "RefusalCode",
    "ResultTimeout",
    "StaleEnrolmentError",
    "TrackingState",
    "Verdict",
    "VerifyReason",
    "Violation",
    "ViolationKind",
    "add_capture",
    "analyze_frame",
    "check_registration_photo",
    "current_violations",
    "encoder_version",
    "enrol",
    "find_faces",
    "history_needed",
    "is_stale",
    "limit_native_threads",
    "new_violations",
    "run_worker",
    "serve_worker",
]
