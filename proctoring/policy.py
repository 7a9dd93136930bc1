"""Turning a candidate's recent frame verdicts into violations, without crying wolf.

Pure functions over the candidate's recent history (oldest first). One bad frame never
raises anything: each rule needs the finding to persist over several checks.
"""

from __future__ import annotations

import enum
import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from proctoring.analysis import FrameAnalysis, Verdict
from proctoring.settings import DEFAULT_SETTINGS


class ViolationKind(enum.StrEnum):
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    ANOTHER_PERSON = "another_person"
    POOR_IMAGE = "poor_image"


class Consequence(enum.StrEnum):
    FLAG = "flag"  # record for human review; the candidate sees nothing
    WARN = "warn"  # record and show the candidate a warning
    END_ATTEMPT = "end_attempt"  # record and end the attempt


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySettings:
    # Consecutive frames (15 s apart) needed: 3 x no face = 30-45 s away from the seat,
    # long enough to forgive a candidate bending to pick up a pen.
    no_face_frames: int = 3
    # Another face twice in a row: someone lingering, not passing behind.
    several_faces_frames: int = 2
    # Identity: median distance over the last ``identity_window`` fresh checks, with at
    # least ``identity_min_checks`` of them; with >= 3 checks a single outlier can
    # never be the median.
    identity_window: int = 5
    identity_min_checks: int = 3
    identity_threshold: float = DEFAULT_SETTINGS.tolerance
    # Two minutes of unusable images (camera covered, lights off).
    poor_image_frames: int = 8
    default_consequence: Consequence = Consequence.FLAG
    consequences: Mapping[ViolationKind, Consequence] = field(default_factory=dict)

    def consequence_for(self, kind: ViolationKind) -> Consequence:
        return self.consequences.get(kind, self.default_consequence)


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    kind: ViolationKind
    consequence: Consequence
    evidence_frame_ids: tuple[str, ...]
    started_at: float
    detected_at: float
    median_distance: float | None = None


def _trailing_streak(history: Sequence[FrameAnalysis], verdict: Verdict) -> list[FrameAnalysis]:
    """The frames of the run of ``verdict`` ending at the latest frame.

    For face-count rules a poor-image frame is neutral: it tells nothing about faces,
    so it neither extends nor breaks the run (covering the camera between two "no face"
    frames must not reset the count).
    """
    run: list[FrameAnalysis] = []
    for frame in reversed(history):
        if frame.verdict == verdict:
            run.append(frame)
        elif frame.verdict == Verdict.POOR_IMAGE and verdict != Verdict.POOR_IMAGE:
            continue
        else:
            break
    run.reverse()
    return run


def _streak_violation(
    history: Sequence[FrameAnalysis], verdict: Verdict, kind: ViolationKind, needed: int, policy: PolicySettings
) -> Violation | None:
    run = _trailing_streak(history, verdict)
    if len(run) < needed:
        return None
    return Violation(
        kind=kind,
        consequence=policy.consequence_for(kind),
        evidence_frame_ids=tuple(f.frame_id for f in run),
        started_at=run[0].captured_at,
        detected_at=history[-1].captured_at,
    )


def _identity_violation(history: Sequence[FrameAnalysis], policy: PolicySettings) -> Violation | None:
    checks = [f for f in history if f.identity_checked and f.distance is not None][-policy.identity_window :]
    if len(checks) < policy.identity_min_checks:
        return None
    median = statistics.median(f.distance for f in checks)  # type: ignore[misc]
    if median <= policy.identity_threshold:
        return None
    evidence = [f for f in checks if f.distance is not None and f.distance > policy.identity_threshold]
    return Violation(
        kind=ViolationKind.ANOTHER_PERSON,
        consequence=policy.consequence_for(ViolationKind.ANOTHER_PERSON),
        evidence_frame_ids=tuple(f.frame_id for f in evidence),
        started_at=evidence[0].captured_at,
        detected_at=history[-1].captured_at,
        median_distance=round(median, 4),
    )


def current_violations(
    history: Sequence[FrameAnalysis], *, policy: PolicySettings = PolicySettings()
) -> list[Violation]:
    """Violations that hold at the latest frame of ``history`` (oldest first)."""
    if not history:
        return []
    found = [
        _streak_violation(history, Verdict.NO_FACE, ViolationKind.NO_FACE, policy.no_face_frames, policy),
        _streak_violation(
            history, Verdict.SEVERAL_FACES, ViolationKind.SEVERAL_FACES, policy.several_faces_frames, policy
        ),
        _identity_violation(history, policy),
        _streak_violation(history, Verdict.POOR_IMAGE, ViolationKind.POOR_IMAGE, policy.poor_image_frames, policy),
    ]
    return [v for v in found if v is not None]


def new_violations(
    history: Sequence[FrameAnalysis], *, policy: PolicySettings = PolicySettings()
) -> list[Violation]:
    """Violations that start with the latest frame: call after each frame to raise each
    incident once (a violation that goes on is not raised again until it has ended)."""
    if not history:
        return []
    before = {v.kind for v in current_violations(history[:-1], policy=policy)}
    return [v for v in current_violations(history, policy=policy) if v.kind not in before]


def history_needed(policy: PolicySettings = PolicySettings()) -> int:
    """How many recent frames a caller should keep per candidate for these rules.

    Poor-image frames inside a run are skipped by the count rules, so keep generously.
    """
    return 4 * max(policy.no_face_frames, policy.several_faces_frames, policy.identity_window, policy.poor_image_frames)
