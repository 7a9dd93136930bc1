"""The pre-exam check's references (issue 19): once the first, frontal phase is the enrolled person,
its closest frame joins the registration photo for the later phases; a first phase of someone else
adds nothing, and someone else turning after the enrolled person's first phase still fails."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import proctoring
from exam_server.identity import checks
from exam_server.identity.rules import SubmittedFrame
from proctoring.challenge import Challenge, ChallengeVerdict, Failure, Pose, TaggedFrame

from tests.face_video import pose_frame
from tests.proctor_flows import OTHER, PERSON, PERSON_OTHER_PHOTO

TOL = proctoring.AnalysisSettings().tolerance


def frame(rel: str, pose: str = "front") -> bytes:
    return base64.b64decode(pose_frame(rel, pose).split(",", 1)[1])


def first_phase(enrolment: proctoring.Enrolment, rel: str) -> tuple[list[TaggedFrame], dict[str, bytes]]:
    image = frame(rel)
    analysis, _ = proctoring.analyze_frame(image, enrolment=enrolment, frame_id="f0", captured_at=0.0, liveness=True,
                                           verify=True)
    return [TaggedFrame(0, analysis)], {"f0": image}


def test_the_first_phase_of_the_enrolled_person_joins_the_references(faces_dir: Path) -> None:
    enrolment = proctoring.enrol((faces_dir / PERSON).read_bytes(), person_id="p")
    tagged, images = first_phase(enrolment, PERSON_OTHER_PHOTO)
    assert tagged[0].analysis.distance is not None and tagged[0].analysis.distance <= TOL
    with_capture = asyncio.run(checks._with_session_capture(enrolment, tagged, images, tolerance=TOL, reject=TOL))
    assert len(with_capture.encodings) == 2 and with_capture.sources == ("registration", "this-check")
    # The capture is the person's face seen in this check: the same photo is now nearer.
    again, _ = proctoring.analyze_frame(images["f0"], enrolment=with_capture, frame_id="f1", captured_at=1.0,
                                        verify=True)
    assert again.distance is not None and again.distance < tagged[0].analysis.distance


def test_a_first_phase_of_someone_else_adds_nothing(faces_dir: Path) -> None:
    enrolment = proctoring.enrol((faces_dir / PERSON).read_bytes(), person_id="p")
    tagged, images = first_phase(enrolment, OTHER)
    assert tagged[0].analysis.distance is not None and tagged[0].analysis.distance > TOL
    assert asyncio.run(checks._with_session_capture(enrolment, tagged, images, tolerance=TOL, reject=1.0)) is enrolment
    assert asyncio.run(checks._with_session_capture(enrolment, [], {}, tolerance=TOL, reject=TOL)) is enrolment


def test_someone_else_turning_after_the_enrolled_persons_first_phase_fails(faces_dir: Path) -> None:
    enrolment = proctoring.enrol((faces_dir / PERSON).read_bytes(), person_id="p")
    challenge = Challenge((Pose.LEFT, Pose.RIGHT, Pose.LEFT))
    frames = [SubmittedFrame(k, frame(PERSON if k == 0 else OTHER, str(pose)))
              for k, pose in enumerate(challenge.phases) for _ in range(2)]

    async def run() -> tuple[ChallengeVerdict, dict[str, bytes]]:
        async with proctoring.LocalPoolAnalyzer(processes=1) as analyzer:
            return await checks.judge(analyzer, enrolment, 1, challenge, frames)

    verdict, images = asyncio.run(run())
    assert verdict.failure is Failure.ANOTHER_PERSON
    assert len(images) == 3  # decided on the first frame of the second phase
