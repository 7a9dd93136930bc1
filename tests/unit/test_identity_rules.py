"""The pre-exam identity check's decisions (exam_server.identity.rules): the lock after failed checks,
the challenge's time limit and a pass's validity to the microsecond, who may start, and each
frame's problem named."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

import pytest

from exam_server.identity.rules import (
    CHECK_SECONDS,
    KINDS,
    MAX_FAILURES,
    MAX_FRAME_BYTES,
    VALID_SECONDS,
    IdentityCheckRequired,
    SubmittedFrame,
    admit,
    decode_frames,
    failures_left,
    first_valid,
    is_locked,
    paper_kind,
    timed_out,
)
from proctoring.challenge import MAX_FRAMES
from registry.errors import IllegalTransition, InvalidInput

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.timezone.utc)
US = dt.timedelta(microseconds=1)
JPEG = b"\xff\xd8\xff\xe0" + bytes(40)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def test_the_rule_constants_are_the_documented_ones():
    # The README's rule 9: after 3 failures only the body can verify by hand; a pass opens the paper for 15 minutes.
    assert (MAX_FAILURES, CHECK_SECONDS, VALID_SECONDS, MAX_FRAME_BYTES) == (3, 180, 900, 400_000)
    assert KINDS == ("humanities", "professional")


@pytest.mark.parametrize("kind", ["humanities", "professional"])
def test_a_paper_kind_is_returned_as_given(kind: str):
    assert paper_kind(kind) == kind


@pytest.mark.parametrize("kind", ["", "Humanities", "practice", "humanities "])
def test_any_other_kind_is_named_as_the_wrong_field(kind: str):
    with pytest.raises(InvalidInput) as exc:
        paper_kind(kind)
    assert exc.value.message == "试卷类型的取值无效" and exc.value.fields == {"kind": "试卷类型的取值无效"}


@pytest.mark.parametrize("failures, locked, left", [(0, False, 3), (2, False, 1), (3, True, 0), (4, True, 0)])
def test_the_third_failure_locks_the_live_check(failures: int, locked: bool, left: int):
    assert is_locked(failures) is locked
    assert failures_left(failures) == left


def test_a_challenge_may_be_answered_until_its_last_microsecond():
    start = NOW - dt.timedelta(seconds=CHECK_SECONDS)
    assert not timed_out(start, NOW)
    assert timed_out(start - US, NOW)
    assert not timed_out(NOW, NOW)


@dataclass
class Check:
    id: int
    manual_by: int | None = None
    decided_at: dt.datetime | None = None


def test_a_live_pass_opens_the_paper_for_exactly_fifteen_minutes():
    edge = Check(1, decided_at=NOW - dt.timedelta(seconds=VALID_SECONDS))
    assert first_valid([edge], now=NOW) is edge
    assert first_valid([Check(2, decided_at=edge.decided_at - US)], now=NOW) is None  # type: ignore[operator]
    assert first_valid([Check(3, decided_at=NOW)], now=NOW) is not None


def test_a_manual_verification_stays_valid_whatever_its_age():
    old = Check(1, manual_by=7, decided_at=NOW - dt.timedelta(hours=20))
    assert first_valid([old], now=NOW) is old


def test_the_newest_valid_check_is_taken_and_stale_ones_are_skipped():
    stale = Check(5, decided_at=NOW - dt.timedelta(minutes=16))
    fresh = Check(4, decided_at=NOW - dt.timedelta(minutes=3))
    older = Check(3, decided_at=NOW - dt.timedelta(minutes=5))
    assert first_valid([stale, fresh, older], now=NOW) is fresh
    assert first_valid(iter([stale]), now=NOW) is None
    assert first_valid([], now=NOW) is None
    undecided = Check(6)  # decided_at not yet stored: counts as decided now
    assert first_valid([undecided], now=NOW) is undecided


CONSENT_FIRST = "开考前须同意《人脸信息采集授权》并通过身份核验（或由考核机构人工核验）"
CHECK_FIRST = "开考前须通过人脸身份核验"


def test_who_may_start_the_paper():
    assert admit(9, manual=True, consented=False) == 9  # the body verified the person by hand
    assert admit(9, manual=True, consented=True) == 9
    assert admit(9, manual=False, consented=True) == 9
    for check_id, manual, consented, message in [(9, False, False, CONSENT_FIRST), (None, False, False, CONSENT_FIRST),
                                                 (None, True, False, CONSENT_FIRST), (None, False, True, CHECK_FIRST),
                                                 (None, True, True, CHECK_FIRST)]:
        with pytest.raises(IdentityCheckRequired) as exc:
            admit(check_id, manual=manual, consented=consented)
        assert exc.value.message == message
        assert isinstance(exc.value, IllegalTransition)  # a 409, never a 5xx


# ---------------------------------------------------------------- frames


def frame(phase: object, data: bytes = JPEG, *, url: bool = True) -> dict[str, object]:
    text = base64.b64encode(data).decode()
    return {"phase": phase, "image": ("data:image/jpeg;base64," + text) if url else text}


def refused(raw: object, phases: int = 3) -> tuple[str, dict[str, str]]:
    with pytest.raises(InvalidInput) as exc:
        decode_frames(raw, phases)  # type: ignore[arg-type]
    return exc.value.message, exc.value.fields


def test_frames_are_decoded_in_order_with_their_phase():
    out = decode_frames([frame(0), frame(2, PNG, url=False), frame(1)], 3)
    assert out == [SubmittedFrame(0, JPEG), SubmittedFrame(2, PNG), SubmittedFrame(1, JPEG)]


def test_no_frames_and_too_many_frames_are_refused():
    assert refused([]) == ("没有收到摄像头画面", {"frames": "没有收到摄像头画面"})
    assert len(decode_frames([frame(0)] * MAX_FRAMES, 3)) == MAX_FRAMES
    assert refused([frame(0)] * (MAX_FRAMES + 1)) == (f"画面最多 {MAX_FRAMES} 张", {"frames": f"画面最多 {MAX_FRAMES} 张"})


def test_a_phase_must_be_one_of_the_challenge():
    assert [f.phase for f in decode_frames([frame(0), frame(2)], 3)] == [0, 2]
    assert refused([frame(0), frame(3)]) == ("第 2 张画面的阶段编号无效", {"frames": "第 2 张画面的阶段编号无效"})
    assert refused([frame(-1)])[0] == "第 1 张画面的阶段编号无效"


@pytest.mark.parametrize("item", [None, [], "x", {"image": "AAAA"}, {"phase": 0}, {"phase": True, "image": "AAAA"},
                                  {"phase": 1.0, "image": "AAAA"}, {"phase": "1", "image": "AAAA"}, {"phase": 0, "image": b"AAAA"}])
def test_a_malformed_frame_is_named(item: object):
    assert refused([frame(0), item]) == ("第 2 张画面格式不正确", {"frames": "第 2 张画面格式不正确"})


def test_a_frame_over_the_size_limit_is_refused_before_decoding():
    limit = MAX_FRAME_BYTES * 4 // 3 + 4  # the base64 of MAX_FRAME_BYTES, with room for padding
    at_limit = {"phase": 0, "image": "data:image/jpeg;base64," + "A" * limit}
    assert refused([at_limit])[0] == "第 1 张画面不是有效的图片数据"  # not refused for its size
    over = {"phase": 0, "image": "A" * (limit + 1)}
    assert refused([over]) == ("第 1 张画面过大", {"frames": "第 1 张画面过大"})
    biggest = JPEG + bytes(MAX_FRAME_BYTES - len(JPEG))
    assert decode_frames([frame(0, biggest)], 1) == [SubmittedFrame(0, biggest)]


def test_only_the_part_after_the_first_comma_is_the_image():
    text = base64.b64encode(JPEG).decode()
    assert decode_frames([{"phase": 0, "image": "data:x," + text}], 1)[0].image == JPEG
    assert refused([{"phase": 0, "image": "a,b," + text}])[0] == "第 1 张画面不是有效的图片数据"


@pytest.mark.parametrize("image", ["%%%%", "QUJD\nRA==", "QUJDRA", "QUJDRA=="[:-1]])
def test_damaged_base64_is_named(image: str):
    assert refused([{"phase": 0, "image": image}]) == ("第 1 张画面不是有效的图片数据",
                                                        {"frames": "第 1 张画面不是有效的图片数据"})


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xfe" + bytes(8), b"GIF89a" + bytes(8),
                                  b"\x89PNG\r\n\x1a" + bytes(8), b"x\xff\xd8\xff"])
def test_only_jpeg_and_png_are_taken(data: bytes):
    assert refused([frame(0, data)]) == ("第 1 张画面不是 JPEG 或 PNG 图片", {"frames": "第 1 张画面不是 JPEG 或 PNG 图片"})


# ---------------------------------------------------------------- issue 19: the phases of a check

from exam_server.identity.rules import (  # noqa: E402
    MAX_FRAMES_PER_PHASE, PHASE_SECONDS, Progress, expected_phase, one_phase, phase_late,
)


def test_a_phase_is_late_only_past_its_time_limit():
    assert PHASE_SECONDS == 10.0
    assert not phase_late(100.0, 100.0 + PHASE_SECONDS)
    assert phase_late(100.0, 100.0 + PHASE_SECONDS + 1e-6)
    assert not phase_late(100.0, 100.0)


def test_progress_survives_live_state_and_a_broken_value_means_no_open_phase():
    p = Progress(3, 1234.5)
    assert Progress.from_json(p.to_json()) == p
    for broken in (None, "", "[]", "{}", '{"phase": "x", "shown_at": 1}', "not json"):
        assert Progress.from_json(broken) is None


def test_frames_must_be_those_of_the_phase_asked_last():
    expected_phase(Progress(2, 0.0), 2)
    for asked, sent in ((2, 1), (2, 3)):
        with pytest.raises(InvalidInput) as e:
            expected_phase(Progress(asked, 0.0), sent)
        assert e.value.fields == {"phase": "画面的阶段与当前提示不符"}
    with pytest.raises(IllegalTransition):
        expected_phase(None, 0)


def test_one_request_carries_one_phase_and_at_most_six_frames():
    assert MAX_FRAMES_PER_PHASE == 6
    assert one_phase([SubmittedFrame(4, JPEG)] * MAX_FRAMES_PER_PHASE) == 4
    with pytest.raises(InvalidInput) as e:
        one_phase([SubmittedFrame(4, JPEG)] * (MAX_FRAMES_PER_PHASE + 1))
    assert e.value.fields == {"frames": "每个阶段的画面最多 6 张"}
    with pytest.raises(InvalidInput) as e:
        one_phase([SubmittedFrame(4, JPEG), SubmittedFrame(5, JPEG)])
    assert e.value.fields == {"frames": "一次只能提交当前阶段的画面"}


def test_phase_refusals_carry_their_words_as_the_message_too():
    with pytest.raises(IllegalTransition) as ended:
        expected_phase(None, 0)
    assert ended.value.message == "本次核验已结束，请重新开始"
    with pytest.raises(InvalidInput) as wrong:
        expected_phase(Progress(1, 0.0), 0)
    assert wrong.value.message == "画面的阶段与当前提示不符"
    for frames, words in (([SubmittedFrame(4, JPEG), SubmittedFrame(5, JPEG)], "一次只能提交当前阶段的画面"),
                          ([SubmittedFrame(4, JPEG)] * (MAX_FRAMES_PER_PHASE + 1), "每个阶段的画面最多 6 张")):
        with pytest.raises(InvalidInput) as e:
            one_phase(frames)
        assert e.value.message == words
    assert one_phase([SubmittedFrame(2, PNG)]) == 2  # a single frame is a phase too
