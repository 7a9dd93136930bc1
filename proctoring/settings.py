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
    # different-person pairs on lfw_subset (too many for an exam). Per-frame ROC on
    # lfw_subset measured by benchmarks/proctoring_accuracy_throughput.py (10-jitter
    # enrolment, 1-jitter frame encodings, this package's detection with fallbacks; 360
    # genuine / 13,920 impostor ordered pairs, no frame without a face):
    #   0.54: FRR 4.44% FAR 0.022%   0.55: FRR 3.33% FAR 0.050%   0.56: FRR 2.22% FAR 0.072%
    #   0.561: FRR 1.94% FAR 0.072%  0.563: FRR 1.39% FAR 0.079%  0.564: FRR 1.39% FAR 0.079%
    #   0.566: FRR 1.39% FAR 0.086%  0.567: FRR 1.11% FAR 0.093%  0.569: FRR 1.11% FAR 0.101%
    #   0.57: FRR 1.11% FAR 0.108%   0.58: FRR 1.11% FAR 0.201%
    # 0.564 sits inside the plateau 0.563-0.566 where FRR (5/360) is under 2% and FAR
    # (11/13,920) under 0.1%, with a step of margin to either target. Persistence rules in
    # policy.py absorb the remaining one-off rejects.
    tolerance: float = 0.564
    # Random jitters averaged into *enrolment* encodings (a one-off cost of ~0.75 s a
    # photo); it made genuine distances smaller by enough to lower FRR ~2 points at the
    # same FAR. Frames use 1 jitter: they are paid for every 15 s.
    enrol_jitters: int = 10
    # Views of the face chip averaged into a *frame* encoding (1 = the chip alone; 2 adds
    # its mirror image, doubling the ~75 ms encoding).
    frame_jitters: int = 1

    # Detection runs on grey copies (~20% cheaper than colour for HOG). A frame with one
    # tracked face gets a HOG pass without upsampling only around that face (roi_margin
    # below, ~1.5 ms); other frames a pass over the whole frame scaled so its long side
    # is detect_max_side: a 640x480 frame halves to 320x240 (~5 ms, against ~95 ms for the
    # naive 1x upsample at full size), and a webcam face (>= ~170 px at 640x480) stays
    # above HOG's 80 px window (a candidate sitting further back gets a larger pass).
    # It finds the candidate, not small faces in the background, hence:
    detect_max_side: int = 320
    # Thorough passes (long side at most scan_max_side; webcam frames keep their size):
    # - a frame where the fast pass finds no face is looked at again in full-resolution
    #   grey without upsample, then in colour with a 1x upsample (the naive detector)
    #   before it is called "no face" (this recovers a dim, soft LFW face that the fast
    #   pass and the naive detector both miss);
    # - the subject's first frame and frames where the fast pass finds several faces
    #   get the 1x upsample (faces down to ~40 px, as naive), to count them right;
    # - every scene_scan_seconds, and on the frame after several faces were seen, a
    #   full-resolution grey pass without upsample (~17 ms; faces down to ~80 px at
    #   640x480) looks for a second person anywhere in the frame. Every 3 minutes costs
    #   ~1.4 ms a frame at one frame every 15 s; the follow-up scan lets a person who
    #   stays be seen on consecutive frames, as policy.several_faces_frames needs.
    scan_max_side: int = 800
    scene_scan_seconds: float = 180.0

    # Identity is re-verified (a 75 ms ResNet encoding) at least this often per
    # candidate; between verifications a face that stays put is the same person.
    reverify_seconds: float = 30.0
    # The fast pass around a tracked face covers its last box widened by roi_margin face
    # widths on each side (as far as move_ratio below, beyond which the face must be
    # re-verified anyway); if it does not find exactly one face there, the whole scaled
    # frame is searched.
    roi_margin: float = 0.35
    # "Material" face movement that forces an immediate re-verification: the box centre
    # moved by more than this fraction of the face width, or its size changed by more
    # than size_change_ratio.
    move_ratio: float = 0.35
    size_change_ratio: float = 0.35

    # Face-region quality, measured on the face box resized to 64x64 grey (imaging.py).
    # On the shared photos real faces span mean 53..187, saturated <= 0.10; copies
    # darkened to 15% reach mean <= 28, overexposed copies mean >= 217 or saturated
    # >= 0.34. Sharpness is the Laplacian variance over the grey variance (x100), so it
    # does not depend on the face's size or contrast: sharp faces of the identity photos
    # >= 13.8 at any size from 52 to 220 px; their copies blurred by 1% of the photo's
    # size (2-3% of the face width) <= 4.6; 250x250 LFW faces (a sample of 250 from the
    # View 1 DevTest): 1st percentile 5.4, one soft photo at 4.7.
    face_min_brightness: float = 40.0
    face_max_brightness: float = 205.0
    face_max_saturated: float = 0.25
    face_min_sharpness: float = 5.0
    # Whole-frame checks, used only when no face is found, to tell "poor image" from
    # "no face": real photos have 95th-percentile grey >= 88 (darkened <= 38) and
    # Laplacian variance >= 15 at 320 px except one unusable LFW crop (blurred <= 8).
    frame_dark_p95: float = 60.0
    frame_bright_mean: float = 225.0
    # ...or this share of blown-out pixels (an overexposed copy of a real photo, with
    # its face no longer detectable, measured 0.43).
    frame_bright_saturated: float = 0.4
    frame_min_sharpness: float = 10.0

    # Compute 68-point landmarks, eye aspect ratio and head pose for the main face on
    # every frame (about 2 ms a frame). Off: liveness is asked for per frame instead
    # (FrameJob.liveness / analyze_frame(liveness=True)) while a challenge runs.
    measure_liveness: bool = False


DEFAULT_SETTINGS = AnalysisSettings()
