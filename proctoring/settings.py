"""Analysis thresholds, as one frozen dataclass with measured defaults.

Every default below was chosen from measurements on the shared test photos
(`../shared/faces` beside the repository, see benchmarks/proctoring_accuracy_throughput.py); the comment
next to each says what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisSettings:
    """Thresholds and cost knobs for frame analysis and enrolment."""

    # Largest identity distance (enrolment.identity_distance: Euclidean distance between
    # 128-d dlib encodings, to the mean of the references) still accepted as the enrolled
    # person. Calibrated on LFW View 1 DevTest (the split LFW sets aside for tuning;
    # benchmarks/identity_calibration.py): 1,549 photos, every ordered enrolment x frame
    # combination, 1,966 same-person and 2,395,886 different-person. Per frame, enrolment
    # of 2 views, frame of 1 view with the mirror second look (mirror_band below):
    #   at 0.54 FAR 0.098%, FRR 5.49% (without the second look: FAR 0.083%, FRR 7.12%;
    #   the former 0.545 without it: FAR 0.098%, FRR 6.41%; the first 0.564: FAR 0.186%).
    # The policy's decision (median distance of 3 frames, policy.py) at 0.54: FAR 0.076%,
    # FRR 1.89%. With live captures added to the enrolment the same tolerance holds
    # (identity_distance scales by the reference count).
    tolerance: float = 0.54
    # Views of the face chip averaged into *enrolment* encodings (faces.chip_variants:
    # the chip, then its mirror image, then fixed small perturbations; deterministic).
    # On DevTest at FAR 0.1%, 2 views (chip + mirror) gave FRR 6.31% against 7.32% for
    # the chip alone and 6.10% for 4 views (within noise of 2; with a mirrored frame
    # 4 views were worse, 5.70% against 5.39%): 2.
    enrol_jitters: int = 2
    # Views averaged into every *frame* encoding. 1: a mirror view on every frame doubles
    # the encoding paid at each re-verification (~12 ms with encoder.py; it was ~75 ms
    # with dlib's own forward pass, which broke the 4x speed budget); the second look
    # below gets the same accuracy for a fraction of the cost.
    frame_jitters: int = 1
    # With one frame view, a frame whose distance lands within this band of the tolerance
    # is encoded again from its mirror image and judged on the mean of the two
    # (analysis.identity_distance_of). On DevTest a band of 0.03 gives the same rates as
    # mirroring every frame (FRR at FAR 0.1%: 5.39% either way, 6.31% without), and is
    # paid by 9.6% of same-person LFW comparisons and 0.2% of different-person ones
    # (webcam frames of the candidate sit further below the threshold).
    mirror_band: float = 0.03

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

    # Identity is re-verified (a ~12 ms ResNet encoding) at least this often per
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
    # A scene cut also forces an immediate re-verification: the frame's signature (the face
    # region and the whole frame shrunk and standardised, proctoring/scene.py) changed by
    # more than this from the previous frame's. Measured on 640x480 frames built from 60
    # LFW DevTest people as benchmarks/proctoring_accuracy_throughput.py builds its streams
    # (webcam_view, drifting_views): the same person between frames (jitter of +-15 px,
    # light +-15%) changed by 0.14 in the median, 0.29 at the 95th percentile, at most 0.38;
    # a slow drift 0.005 median, 0.20 at the 95th percentile; another person put in the
    # same place by at least 0.51 (0.38 for two men in dark suits, tests/unit/proctoring/
    # test_identity_every_frame.py). At 0.30 about one jittered frame in 20 pays an extra
    # encoding (~12 ms), counted in the throughput benchmark.
    scene_cut_change: float = 0.30

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
