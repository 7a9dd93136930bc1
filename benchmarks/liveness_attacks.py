"""The pre-exam identity check under attack: genuine challenge sequences and seven attacks, judged by
the server's own check path.

Run: .venv/bin/python benchmarks/liveness_attacks.py --images DIR [--people N] [--seed S]
DIR holds ``<name>/<name>_<NNNN>.jpg`` (LFW's layout; any ``*.jpg`` in a person's folder counts).
Calibrated on ../shared/faces/lfw_view1_devtest/images; report figures on images it was not tuned
on (../shared/faces/lfw_subset). The last line is one JSON object:
``{"genuine", "genuine_pass_rate", "attacks", "attacks_passed", "attack_pass_rate", "by_attack":
{attack: [tried, passed]}, "ms_per_check"}``.

For each sampled person with at least three photos that one of them enrols (the registration
photo: the first that ``proctoring.enrol`` accepts), the other photos (at most MAX_MEASURED) and
their mirror images (a head turned one way, mirrored, is turned the other) are measured for head
yaw as the check measures it: in MEASURE_FRAMES webcam frames each, by the frame analysis the judge
runs. A photo counts only when every one of those frames shows exactly one face (a news photo's
bystander is not what a webcam shows) and its yaws agree within STEADY_DEGREES. Per phase: the most
frontal photo for the frontal phases, the most turned each way for the turns. Selection rule for
genuine sequences: only people whose own photos show both turns, at least TURN_WANTED degrees off
the frontal one (LFW holds many people photographed only facing the camera; a webcam user turns).
Everyone sampled is enrolled and attacked; for a person whose photos show no such turn, the frontal
photo is turned by the warp the tests use (the nose and mouth moved sideways inside the face
outline), so the attacks that need turns have them. Each phase sends FRAMES_PER_PHASE frames: the
photo in a 640x480 webcam frame, moved a few pixels and rescaled a little from frame to frame.

Each sequence goes through what the check endpoint runs (exam_server.identity.api): a
server-picked challenge (``pick_challenge``), the phase bookkeeping of ``rules`` (the frames of
the phase asked, within ``PHASE_SECONDS`` of its prompt; a simulated clock here), then
``checks.judge``: every frame analysed through the analyser port (a ``LocalPoolAnalyzer``, as
``dingkao serve`` without Redis), identity on every frame (the first phase against the enrolment,
the later ones against it plus the first phase's closest frame), judged by ``judge_challenge``.

Attacks (the enrolled person is P, someone else sampled is Q):
- still: P's frontal photo, the same frame in every phase;
- shaken_still: that photo moved, scaled and rotated a little frame to frame;
- swap_after_front: P for the first phase, Q doing the asked turns for the rest;
- swap_one_phase: P throughout except one turn phase done by Q;
- other_person: Q doing every phase right;
- replay_wrong_order: P's genuine turns recorded in a fixed order (the order of another
  challenge), played whatever was asked; tried on challenges whose order differs from the
  recording (a recording whose order happens to match is a genuine sequence: with 3 steps that
  is 1 challenge in 6, see docs/proctoring.md);
- late: P's right frames, each phase arriving after its time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

warnings.simplefilter("ignore")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import proctoring  # noqa: E402
from proctoring.challenge import Challenge, ChallengeVerdict, Failure, Pose, pick_challenge  # noqa: E402
from proctoring.faces import detect_faces_thoroughly  # noqa: E402
from proctoring.imaging import decode_image, encode_jpeg  # noqa: E402
from proctoring.analysis import analyze_frame  # noqa: E402

from exam_server.identity import checks, rules  # noqa: E402

FRAMES_PER_PHASE = 3  # what the check page sends
MIN_PHOTOS = 3
TURN_WANTED = 14.0  # a turn photo less turned than this (degrees off the frontal one) is warped further
MEASURE_FRAMES = 3  # webcam frames a photo's yaw is measured on
STEADY_DEGREES = 6.0  # the largest spread of those yaws for a photo to be used (challenge.FRONT_DEGREES)
MAX_MEASURED = 12  # photos measured per person (LFW's full size has people with hundreds)
WARP = 0.45  # the tests' head-turn warp strength (tests/face_video.py TURN)
ATTACKS = ("still", "shaken_still", "swap_after_front", "swap_one_phase", "other_person", "replay_wrong_order",
           "late")
RECORDED = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))  # the replayed recording's order


def webcam(rgb: np.ndarray, rng: random.Random, *, shake: float = 0.0) -> bytes:
    """The photo at its own size (LFW's 250x250: a face of ~110 px, a webcam at some distance; scaling
    it up would blur it) in a grey 640x480 frame, moved by a few pixels and rescaled by a few per
    cent; ``shake`` adds a larger move, scale and a rotation (a hand-held photo)."""
    h, w = rgb.shape[:2]
    s = rng.uniform(0.97, 1.03) * (1 + shake * rng.uniform(-0.06, 0.06))
    angle = shake * rng.uniform(-5, 5)
    cx, cy = 320 + rng.randint(-6, 6) + int(shake * rng.randint(-20, 20)), 240 + rng.randint(-6, 6)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, s)
    m[0, 2] += cx - w / 2
    m[1, 2] += cy - h / 2
    frame = cv2.warpAffine(rgb, m, (640, 480), borderMode=cv2.BORDER_CONSTANT, borderValue=(120, 120, 120))
    return encode_jpeg(frame)


def turn_warp(rgb: np.ndarray, box: proctoring.FaceBox, pose: Pose) -> np.ndarray:
    """The tests' head-turn warp: content inside the face outline moves sideways."""
    a = WARP if pose is Pose.LEFT else -WARP
    h, w = rgb.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    bw, bh = (box.right - box.left) * 0.75, (box.bottom - box.top) * 0.9
    weight = np.clip(1 - ((xs - cx) / bw) ** 2 - ((ys - cy) / bh) ** 2, 0, None)
    return cv2.remap(rgb, xs - a * bw * weight, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass
class Person:
    name: str
    enrolment: proctoring.Enrolment
    poses: dict[Pose, np.ndarray]  # the photo shown for each pose
    warped: int  # how many of the two turns needed the warp

    @property
    def shows_turns(self) -> bool:
        """Whether the person's own photos show both turns (no warp): only they get genuine sequences."""
        return self.warped == 0


def measured_yaw(rgb: np.ndarray, enrolment: proctoring.Enrolment, rng: random.Random) -> float | None:
    """The photo's head yaw as the check measures it: in MEASURE_FRAMES webcam frames, by the frame
    analysis the judge runs. None when a frame shows no face or a second face (a news photo's
    bystander: a webcam shows the candidate alone), or the yaw is not steady across the frames (the
    pose solver flips between two solutions on some faces)."""
    yaws = []
    for _ in range(MEASURE_FRAMES):
        a, _ = analyze_frame(webcam(rgb, rng), enrolment=enrolment, frame_id="measure", captured_at=0.0,
                             liveness=True)
        if len(a.faces) != 1 or a.liveness is None:
            return None
        yaws.append(a.liveness.yaw)
    return float(np.mean(yaws)) if max(yaws) - min(yaws) <= STEADY_DEGREES else None


def prepare(name: str, photos: list[Path], rng: random.Random) -> Person | None:
    enrolment, rest = None, []
    for p in photos:
        if enrolment is None:
            try:
                enrolment = proctoring.enrol(p.read_bytes(), person_id=name)
                continue
            except proctoring.EnrolmentRefused:
                pass
        rest.append(p)
    if enrolment is None or len(rest) < 2:
        return None
    measured = []  # (yaw, image): each photo and its mirror image (a head turned the other way)
    for p in rest[:MAX_MEASURED]:
        rgb = decode_image(p.read_bytes())
        for image in (rgb, np.ascontiguousarray(rgb[:, ::-1])):
            yaw = measured_yaw(image, enrolment, rng)
            if yaw is not None:
                measured.append((yaw, image))
    if not measured:
        return None
    front = min(measured, key=lambda m: abs(m[0]))
    box = detect_faces_thoroughly(front[1])[0]
    poses = {Pose.FRONT: front[1]}
    warped = 0
    for pose, sign in ((Pose.LEFT, -1), (Pose.RIGHT, 1)):
        best = max(measured, key=lambda m: sign * (m[0] - front[0]))
        if sign * (best[0] - front[0]) < TURN_WANTED:
            poses[pose] = turn_warp(front[1], box, pose)  # the warp is made for frontal faces
            warped += 1
        else:
            poses[pose] = best[1]
    return Person(name, enrolment, poses, warped)


def sequence(challenge: Challenge, show: dict[int, tuple[Person, Pose]], rng: random.Random, *,
             shake: float = 0.0) -> list[list[rules.SubmittedFrame]]:
    """Each phase's frames: ``show[phase]`` is whose photo for which pose."""
    out = []
    for phase in range(len(challenge.phases)):
        person, pose = show[phase]
        out.append([rules.SubmittedFrame(phase, webcam(person.poses[pose], rng, shake=shake))
                    for _ in range(FRAMES_PER_PHASE)])
    return out


async def run_check(analyzer: proctoring.FrameAnalyzer, check_id: int, enrolment: proctoring.Enrolment,
                    challenge: Challenge, phases: list[list[rules.SubmittedFrame]], *, delay: float) -> ChallengeVerdict:
    """The check endpoint's steps on a simulated clock: each phase's frames arrive ``delay`` seconds
    after their prompt; a late phase fails the check as the endpoint does, before any analysis."""
    clock = 0.0
    progress = rules.Progress(0, clock)
    held: list[rules.SubmittedFrame] = []
    for frames in phases:
        clock += delay
        phase = rules.one_phase(frames)
        rules.expected_phase(progress, phase)
        if rules.phase_late(progress.shown_at, clock):
            return ChallengeVerdict(False, Failure.TOO_SLOW, None)
        held += frames
        progress = rules.Progress(phase + 1, clock)
    verdict, _ = await checks.judge(analyzer, enrolment, check_id, challenge, held)
    return verdict


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    began = time.perf_counter()
    rng = random.Random(args.seed)
    folders = sorted(p for p in Path(args.images).iterdir() if p.is_dir())
    candidates = [(f.name, sorted(f.glob("*.jpg"))) for f in folders]
    candidates = [c for c in candidates if len(c[1]) >= MIN_PHOTOS]
    rng.shuffle(candidates)
    people: list[Person] = []
    measuring = random.Random(args.seed)  # the measuring frames' own draws
    for name, photos in candidates:
        if len(people) >= args.people:
            break
        person = prepare(name, photos, measuring)
        if person is not None:
            people.append(person)
    print(f"{len(people)} people prepared (of {len(candidates)} with >= {MIN_PHOTOS} photos, "
          f"{len(folders)} folders); {sum(p.shows_turns for p in people)} of them show both turns in their own photos "
          f"(genuine sequences); turn photos warped for the others' attacks: {sum(p.warped for p in people)}",
          flush=True)
    prepared = time.perf_counter()
    if len(people) < 2:
        raise SystemExit("need at least two people with enough photos")
    tried = {a: 0 for a in ATTACKS}
    passed = {a: 0 for a in ATTACKS}
    genuine = genuine_passed = 0
    failures: dict[str, int] = {}
    checks_run, spent = 0, 0.0
    ok_delay = 3.0  # the page sends each phase ~2 s after its prompt
    late_delay = rules.PHASE_SECONDS + 1.0
    analyzer = proctoring.LocalPoolAnalyzer(processes=args.processes)
    check_id = 0
    try:
        for i, p in enumerate(people):
            q = people[(i + 1 + rng.randrange(len(people) - 1)) % len(people)]
            runs: list[tuple[str, Challenge, list[list[rules.SubmittedFrame]], float]] = []
            c = pick_challenge(rng)  # drawn for everyone, so the attacks' draws do not depend on who shows turns
            if p.shows_turns:
                runs.append(("genuine", c, sequence(c, {k: (p, ph) for k, ph in enumerate(c.phases)}, rng), ok_delay))
            c = pick_challenge(rng)
            runs.append(("still", c, sequence(c, {k: (p, Pose.FRONT) for k in range(len(c.phases))}, rng), ok_delay))
            c = pick_challenge(rng)
            runs.append(("shaken_still", c, sequence(c, {k: (p, Pose.FRONT) for k in range(len(c.phases))}, rng,
                                                     shake=1.0), ok_delay))
            c = pick_challenge(rng)
            runs.append(("swap_after_front", c, sequence(c, {k: (p if k == 0 else q, ph)
                                                             for k, ph in enumerate(c.phases)}, rng), ok_delay))
            c = pick_challenge(rng)
            turn = rng.choice([k for k, ph in enumerate(c.phases) if ph is not Pose.FRONT])
            runs.append(("swap_one_phase", c, sequence(c, {k: (q if k == turn else p, ph)
                                                           for k, ph in enumerate(c.phases)}, rng), ok_delay))
            c = pick_challenge(rng)
            runs.append(("other_person", c, sequence(c, {k: (q, ph) for k, ph in enumerate(c.phases)}, rng), ok_delay))
            c = pick_challenge(rng)
            while c == RECORDED:
                c = pick_challenge(rng)
            runs.append(("replay_wrong_order", c, sequence(c, {k: (p, ph) for k, ph in enumerate(RECORDED.phases)},
                                                           rng), ok_delay))
            c = pick_challenge(rng)
            runs.append(("late", c, sequence(c, {k: (p, ph) for k, ph in enumerate(c.phases)}, rng), late_delay))
            outcome = "attacks only"
            for kind, challenge, phases, delay in runs:
                check_id += 1
                start = time.perf_counter()
                verdict = await run_check(analyzer, check_id, p.enrolment, challenge, phases, delay=delay)
                spent += time.perf_counter() - start
                checks_run += 1
                if kind == "genuine":
                    genuine += 1
                    genuine_passed += verdict.passed
                    outcome = "passed" if verdict.passed else f"failed ({verdict.failure})"
                    if not verdict.passed:
                        failures[str(verdict.failure)] = failures.get(str(verdict.failure), 0) + 1
                else:
                    tried[kind] += 1
                    passed[kind] += verdict.passed
            print(f"  {i + 1}/{len(people)} {p.name}: {outcome}; genuine {genuine_passed}/{genuine}, "
                  f"attacks passed {sum(passed.values())}/{sum(tried.values())}", flush=True)
    finally:
        await analyzer.aclose()
    attacks = sum(tried.values())
    print(f"genuine failures by reason: {failures}")
    took = time.perf_counter() - began
    print(f"wall time {took:.0f} s: choosing and measuring photos {prepared - began:.0f} s, checks {spent:.0f} s; "
          f"{took / len(people):.1f} s a person")
    return {"genuine": genuine, "genuine_pass_rate": round(genuine_passed / genuine, 4) if genuine else 0.0,
            "attacks": attacks, "attacks_passed": sum(passed.values()),
            "attack_pass_rate": round(sum(passed.values()) / attacks, 4) if attacks else 0.0,
            "by_attack": {a: [tried[a], passed[a]] for a in ATTACKS},
            "ms_per_check": round(spent / checks_run * 1000, 1) if checks_run else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="folder of <name>/<name>_<NNNN>.jpg (LFW layout)")
    parser.add_argument("--people", type=int, default=40,
                        help="people sampled (fixed seed) among those with enough photos (default 40: 280 attacks)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--processes", type=int, default=1, help="analysis processes (default 1)")
    args = parser.parse_args()
    proctoring.limit_native_threads()
    print(json.dumps(asyncio.run(main_async(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
