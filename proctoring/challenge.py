"""A liveness challenge: head turns in an order the server picks, judged across frames.

Plain data in, a verdict out. The server picks the steps (:func:`pick_challenge`) and sends the
page one phase's prompt at a time (exam_server.identity); the page captures a few frames per phase,
each tagged with its phase, and sends them at once, within a time limit of the prompt; every frame
is analysed with liveness measures and compared with the enrolment on itself
(``analyze_frame(..., liveness=True, verify=True)``) and :func:`judge_challenge` decides. A photo,
or a phone screen showing one, keeps the same head pose in every phase, so it cannot show the asked
turns; a recorded video cannot know the order; another person in any phase is another person's face
on those frames.

Phases: a frontal baseline, then for each step the asked turn followed by a frontal phase. Yaw is
compared with the candidate's own baseline (the generic face model gives frontal faces an offset).
Measured on the shared photos warped into head turns: a turn of about 20 degrees moves the yaw by
12-35 degrees; still frames stay within 3 degrees of their baseline.
"""

from __future__ import annotations

import enum
import random
import statistics
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

import numpy as np

from proctoring.analysis import FrameAnalysis, Verdict
from proctoring.enrolment import Enrolment, identity_distance


class Pose(enum.StrEnum):
    FRONT = "front"
    # The person's own left: in an unmirrored camera frame the nose moves to the image's right,
    # and the yaw measured by proctoring.liveness decreases.
    LEFT = "left"
    RIGHT = "right"


POSE_WORDS = {Pose.FRONT: "请正对摄像头", Pose.LEFT: "请向左转头", Pose.RIGHT: "请向右转头"}
# A turn counts when the yaw moved at least this far from the baseline in the asked direction;
# a frame within FRONT_DEGREES of the baseline is frontal; in between tells nothing.
TURN_DEGREES = 10.0
FRONT_DEGREES = 6.0
STEPS = 3
MAX_FRAMES = 40
MIN_FRAMES_PER_PHASE = 2
# Frames of a phase that must show one measurable face (the page sends 3 a phase; the others may
# be blurred by the movement or dark for a moment without failing the check).
SEEN_PER_PHASE = 2
# A frame further than tolerance + REJECT_MARGIN from its references (the tolerance itself in a phase
# judged on its own mean, own_mean_phases) is judged another person and fails the check on its own; below that, each phase's aggregate (identity_aggregates) must be within
# the tolerance. Chosen on DevTest (docs/proctoring.md): 0.06 was the smallest margin that let the
# genuine sequences whose frontal photo sits just over the tolerance pass on the check's mean.
REJECT_MARGIN = 0.06


class Failure(enum.StrEnum):
    TOO_FEW_FRAMES = "too_few_frames"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    ANOTHER_PERSON = "another_person"
    NO_BASELINE = "no_baseline"
    POSE_MISSING = "pose_missing"
    WRONG_TURN = "wrong_turn"
    TOO_SLOW = "too_slow"  # a phase's frames reached the server after its time limit


FAILURE_WORDS = {
    Failure.TOO_FEW_FRAMES: "采集的画面不足，请保持摄像头开启并重试",
    Failure.NO_FACE: "部分画面中未检测到人脸，请正对摄像头、保持光线充足",
    Failure.SEVERAL_FACES: "画面中出现多张人脸，请确保只有本人在镜头前",
    # What a genuine person can do about it follows the first clause (the body's list shows only that).
    Failure.ANOTHER_PERSON: "人脸与报名照片不一致，如确为本人：请在光线充足处正对摄像头、距离约一臂，摘下眼镜、帽子和口罩后重试；"
                            "多次未通过可联系考核机构人工核验",
    Failure.NO_BASELINE: "未检测到正对摄像头的画面，请正对摄像头、头部保持不动，整张脸留在画面中后重试",
    Failure.POSE_MISSING: "未检测到按提示完成的转头动作，请看到提示后把头明显转向提示的一侧（约 20 度）并停留片刻，"
                          "整张脸留在画面中；戴眼镜反光时可摘下后重试",
    Failure.WRONG_TURN: "转头方向与提示不符，左右以您本人为准（不是屏幕画面中的左右），请按提示重试",
    Failure.TOO_SLOW: "动作超时，请在提示出现后立即按提示动作，并确认网络通畅后重试",
}


@dataclass(frozen=True, slots=True)
class Challenge:
    steps: tuple[Pose, ...]

    @property
    def phases(self) -> tuple[Pose, ...]:
        """What each phase of the capture asks for: front, then each step followed by front."""
        out = [Pose.FRONT]
        for step in self.steps:
            out += [step, Pose.FRONT]
        return tuple(out)

    def to_list(self) -> list[str]:
        return [str(s) for s in self.steps]

    @classmethod
    def from_list(cls, steps: Sequence[str]) -> Challenge:
        return cls(tuple(Pose(s) for s in steps))


def pick_challenge(rng: random.Random | None = None, *, steps: int = STEPS) -> Challenge:
    """Turns in a random order, both directions present (so a single turned photo cannot pass)."""
    rng = rng or random.SystemRandom()
    while True:
        picked = tuple(rng.choice((Pose.LEFT, Pose.RIGHT)) for _ in range(steps))
        if len(set(picked)) > 1:
            return Challenge(picked)


@dataclass(frozen=True, slots=True)
class TaggedFrame:
    """One analysed frame and the phase (index into ``Challenge.phases``) it was captured in."""

    phase: int
    analysis: FrameAnalysis


@dataclass(frozen=True, slots=True)
class ChallengeVerdict:
    passed: bool
    failure: Failure | None
    best_distance: float | None
    # Frame ids of frames that show the enrolled face frontally (candidates for add_capture).
    frontal_frame_ids: tuple[str, ...] = ()

    @property
    def message_zh(self) -> str:
        return "核验通过" if self.failure is None else FAILURE_WORDS[self.failure]


def _pose(yaw: float, baseline: float) -> Pose | None:
    delta = yaw - baseline
    if abs(delta) <= FRONT_DEGREES:
        return Pose.FRONT
    if delta <= -TURN_DEGREES:
        return Pose.LEFT
    if delta >= TURN_DEGREES:
        return Pose.RIGHT
    return None


def phase_distance(references: Enrolment, analyses: Sequence[FrameAnalysis]) -> float | None:
    """The distance of a phase's mean face encoding to the references it was judged against: one
    face seen in a few frames, its frame-to-frame noise (blur, light, a moment's expression)
    averaged out before the comparison. Frames without a face (no encoding) count for nothing;
    None when no frame has one."""
    encodings = [a.encoding for a in analyses if a.encoding is not None]
    if not encodings:
        return None
    mean = np.mean(np.array(encodings, dtype=np.float64), axis=0)
    return identity_distance(references, mean)


def own_mean_phases(phases: Sequence[Pose], *, session_capture: bool) -> frozenset[int]:
    """The phases judged on their own frames' mean (identity_aggregates): every turn, and the later
    frontal phases once the first phase's capture joined. Their frames are capped at the tolerance
    itself: the margin is for the frontal view the whole check vouches for, not for a phase that
    could be someone else's (measured: a look-alike's turn at 0.54-0.60 passed with the margin)."""
    return frozenset(i for i, pose in enumerate(phases) if i > 0 and (pose is not Pose.FRONT or session_capture))


def identity_aggregates(phases: Sequence[Pose], frames: Sequence[TaggedFrame], *, registration: Enrolment,
                        phase_references: Mapping[int, Enrolment], session_capture: bool) -> dict[int, float]:
    """What each phase is judged on (see same_person_throughout), from the frames' encodings.

    A turn phase, and a frontal phase once the first phase's capture joined the references
    (``session_capture``), on its own mean encoding against its ``phase_references``: a phase of
    someone else is that phase's face. The first phase, and every frontal phase when no capture
    joined, on the mean of every frame of the check against the registration photo: the whole
    check is one face, and its mean over poses is a steadier estimate of it than one view of one
    photo (a registration photo years old may sit just over the tolerance from the frontal face
    while the turns fall within it). Phases without an encoded frame are left out (their frames'
    median decides)."""
    out: dict[int, float] = {}
    check_wide = phase_distance(registration, [f.analysis for f in frames])
    own = own_mean_phases(phases, session_capture=session_capture)
    for index, refs in phase_references.items():
        if not 0 <= index < len(phases):
            continue
        if index not in own:
            value = check_wide
        else:
            value = phase_distance(refs, [f.analysis for f in frames if f.phase == index])
        if value is not None:
            out[index] = value
    return out


def same_person_throughout(phases: Sequence[Pose], frames: Sequence[TaggedFrame], *, tolerance: float,
                           reject: float, phase_distances: Mapping[int, float] | None = None,
                           capped_at_tolerance: Collection[int] = ()) -> bool:
    """Whether every frame is the enrolled person, each judged on itself: every frame was
    compared with the enrolment on that very frame (a decision carried from another frame,
    another place or another phase proves nothing), no frame is further than ``reject`` (a
    frame judged another person; ``tolerance`` for the phases in ``capped_at_tolerance``), and each
    phase is within ``tolerance``: its ``phase_distances`` entry (phase_distance) when given, else its
    frames' median distance."""
    for index in range(len(phases)):
        own = [f.analysis for f in frames if f.phase == index]
        cap = tolerance if index in capped_at_tolerance else reject
        if not own or any(not a.identity_checked or a.distance is None or a.distance > cap for a in own):
            return False
        aggregate = (phase_distances or {}).get(index)
        if aggregate is None:
            aggregate = statistics.median(a.distance for a in own if a.distance is not None)
        if aggregate > tolerance:
            return False
    return True


def judge_challenge(challenge: Challenge, frames: Sequence[TaggedFrame], *, tolerance: float,
                    reject: float | None = None, phase_distances: Mapping[int, float] | None = None,
                    capped_at_tolerance: Collection[int] = ()) -> ChallengeVerdict:
    """Passed when every frame shows one face of the enrolled person (same_person_throughout;
    ``reject`` defaults to ``tolerance + REJECT_MARGIN``), and every phase shows its asked pose
    at least once and the opposite turn never."""
    reject = tolerance + REJECT_MARGIN if reject is None else reject
    phases = challenge.phases

    def fail(f: Failure, best: float | None = None) -> ChallengeVerdict:
        return ChallengeVerdict(False, f, best)

    usable = [f for f in frames if 0 <= f.phase < len(phases)]
    if any(sum(f.phase == p for f in usable) < MIN_FRAMES_PER_PHASE for p in range(len(phases))):
        return fail(Failure.TOO_FEW_FRAMES)
    distances = [f.analysis.distance for f in usable if f.analysis.distance is not None]
    best = min(distances) if distances else None
    if any(f.analysis.verdict == Verdict.SEVERAL_FACES for f in usable):
        return fail(Failure.SEVERAL_FACES, best)
    # A frame without a measurable face (blurred by the turn, a dark moment) tells nothing either
    # way; each phase needs SEEN_PER_PHASE frames that show the face.
    seen_frames = [f for f in usable
                   if f.analysis.verdict in (Verdict.OK, Verdict.ANOTHER_PERSON) and f.analysis.liveness is not None]
    if any(sum(f.phase == p for f in seen_frames) < SEEN_PER_PHASE for p in range(len(phases))):
        return fail(Failure.NO_FACE, best)
    usable = seen_frames
    if not same_person_throughout(phases, usable, tolerance=tolerance, reject=reject, phase_distances=phase_distances,
                                  capped_at_tolerance=capped_at_tolerance):
        return fail(Failure.ANOTHER_PERSON, best)
    baseline_yaws = [f.analysis.liveness.yaw for f in usable if f.phase == 0]  # type: ignore[union-attr]
    if not baseline_yaws:
        return fail(Failure.NO_BASELINE, best)
    baseline = statistics.median(baseline_yaws)
    frontal: list[str] = []
    for index, asked in enumerate(phases):
        seen = [_pose(f.analysis.liveness.yaw, baseline) for f in usable if f.phase == index]  # type: ignore[union-attr]
        if asked is not Pose.FRONT:
            opposite = Pose.RIGHT if asked is Pose.LEFT else Pose.LEFT
            if opposite in seen:
                return fail(Failure.WRONG_TURN, best)
            if asked not in seen:
                return fail(Failure.POSE_MISSING, best)
        elif Pose.FRONT not in seen:
            return fail(Failure.NO_BASELINE if index == 0 else Failure.POSE_MISSING, best)
        else:
            # Only a frame within the tolerance may join the enrolment as a reference.
            frontal += [f.analysis.frame_id for f in usable
                        if f.phase == index and _pose(f.analysis.liveness.yaw, baseline) is Pose.FRONT  # type: ignore[union-attr]
                        and f.analysis.distance is not None and f.analysis.distance <= tolerance]
    return ChallengeVerdict(True, None, best, tuple(frontal))
