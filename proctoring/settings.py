"""Analysis thresholds, as one frozen dataclass with measured defaults.

Every default below was chosen from measurements on the shared test photos
(/work/shared/faces, see benchmarks/proctoring_accuracy_throughput.py); the comment
next to each says what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisSettings:
    """Thresholds and cost knobs for frame analysis and enrolment."""

    # Largest Euclidean distance between 128-d dlib encodings still accepted as the
    # enrolled person. face_recognition's customary 0.6 lets through 0.29% of
    # different-person pairs on lfw_subset (too many for an exam); 0.55 rejects 4.4% of
    # genuine pairs (a flood of false alarms). With a 10-jitter enrolment encoding and
    # single-jitter frame encodings, 0.56 measured FAR < 0.1% with the lowest FRR on
    # lfw_subset; persistence rules in policy.py absorb the remaining one-off rejects.
    tolerance: float = 0.56
    # Random jitters averaged into *enrolment* encodings (a one-off cost of ~0.75 s a
    # photo); it made genuine distances smaller by enough to lower FRR ~2 points at the
    # same FAR. Frames use 1 jitter: they are paid for every 15 s.
    enrol_jitters: int = 10

    # Every frame gets a fast HOG pass without upsampling on a copy whose long side is
    # detect_max_side: a 640x480 frame shrinks to 320x240, ~18x cheaper than the naive
    # 1x upsample, and a webcam face (>= ~160 px at 640x480) stays above HOG's 80 px
    # window. It finds the candidate, not small faces in the background, hence:
    detect_max_side: int = 320
    # A thorough scan (long side at most scan_max_side; webcam frames keep their size) runs on a subject's first frame and on
    # any frame where the fast pass does not find exactly one face, with a 1x upsample
    # (faces down to ~40 px, as the naive pipeline), so "no face"/"several faces" are
    # confirmed at full accuracy; and every scene_scan_seconds (2 min) without upsample (faces
    # down to ~80 px at 640x480) to notice a second person who stays in the background.
    scan_max_side: int = 800
    scene_scan_seconds: float = 120.0

    # Identity is re-verified (a 75 ms ResNet encoding) at least this often per
    # candidate; between verifications a face that stays put is the same person.
    reverify_seconds: float = 30.0
    # "Material" face movement that forces an immediate re-verification: the box centre
    # moved by more than this fraction of the face width, or its size changed by more
    # than size_change_ratio.
    move_ratio: float = 0.35
    size_change_ratio: float = 0.35

    # Face-region quality, measured on the face box resized to 96x96 grey. On the shared
    # photos real faces span mean 53..187, saturated <= 0.10, Laplacian variance >= 41;
    # copies darkened to 15% reach mean <= 28, overexposed copies mean >= 217 or
    # saturated >= 0.34, blurred copies (sigma = 1% of size) variance <= 25.
    face_min_brightness: float = 40.0
    face_max_brightness: float = 205.0
    face_max_saturated: float = 0.25
    face_min_sharpness: float = 30.0
    # Whole-frame checks, used only when no face is found, to tell "poor image" from
    # "no face": real photos have 95th-percentile grey >= 88 (darkened <= 38) and
    # Laplacian variance >= 15 at 320 px except one unusable LFW crop (blurred <= 8).
    frame_dark_p95: float = 60.0
    frame_bright_mean: float = 225.0
    # ...or this share of blown-out pixels (an overexposed copy of a real photo, with
    # its face no longer detectable, measured 0.43).
    frame_bright_saturated: float = 0.4
    frame_min_sharpness: float = 10.0

    # Compute 68-point landmarks, eye aspect ratio and head pose for the main face
    # (about 2 ms a frame); groundwork for liveness challenges.
    measure_liveness: bool = True


DEFAULT_SETTINGS = AnalysisSettings()
