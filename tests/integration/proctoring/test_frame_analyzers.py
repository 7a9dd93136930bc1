"""The FrameAnalyzer port: the same behaviour from the local pool and the Redis queue."""

from __future__ import annotations

from proctoring import FrameAnalyzer, FrameJob, JobStatus, Verdict


async def test_a_frame_of_the_enrolled_person_is_ok(analyzer, obama):
    enrolment, frame = obama
    assert isinstance(analyzer, FrameAnalyzer)
    result = await analyzer.analyze(FrameJob(subject_id="att-1", frame_id="fr-1", image=frame, enrolment=enrolment))
    assert result.status == JobStatus.DONE and result.frame_id == "fr-1"
    assert result.analysis is not None and result.analysis.verdict == Verdict.OK
    assert result.analysis.identity_checked and len(result.analysis.faces) == 1


async def test_tracking_state_carries_over_between_frames(analyzer, obama):
    enrolment, frame = obama
    results = [
        await analyzer.analyze(
            FrameJob(subject_id="att-2", frame_id=f"fr-{i}", image=frame, enrolment=enrolment, captured_at=1000.0 + 15 * i)
        )
        for i in range(3)
    ]
    assert [r.analysis.identity_checked for r in results] == [True, False, True]  # type: ignore[union-attr]


async def test_an_undecodable_frame_is_a_poor_image_not_an_error(analyzer, obama):
    enrolment, _ = obama
    result = await analyzer.analyze(FrameJob(subject_id="att-3", frame_id="x", image=b"\xff\xd8junk", enrolment=enrolment))
    assert result.status == JobStatus.DONE and result.analysis is not None
    assert result.analysis.verdict == Verdict.POOR_IMAGE
