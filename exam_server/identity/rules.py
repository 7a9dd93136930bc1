"""The pre-exam identity check's decisions (rule 9) as plain functions of what was read: whether a
check is locked or timed out, which passed check still opens a paper, whether the attempt may
start, and what the page's frames are. :mod:`.checks` and :mod:`.gate` read and write the database
around them; the start's single statement (:mod:`exam_server.exam.start_sql`) calls the same ones."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence, TypeVar

from proctoring.challenge import MAX_FRAMES
from question_bank import PaperKind
from registry.errors import IllegalTransition, InvalidInput

MAX_FAILURES = 3  # failed live checks in a row before only a manual verification opens the paper
CHECK_SECONDS = 180  # an open challenge must be answered within this
# Each phase's frames must reach the server within this many seconds of the server sending that
# phase's prompt (the page shows it at once and captures for PHASE_MS = 2.5 s, then sends): a
# recording made before the prompt cannot follow it, and frames held back to be sent as one batch
# at the end are too late. The slack over 2.5 s covers a slow upload on a phone network.
PHASE_SECONDS = 10.0
MAX_FRAMES_PER_PHASE = 6  # the page sends 3; every frame costs an identity encoding
VALID_SECONDS = 15 * 60  # a passed live check allows starting the paper within this
MAX_FRAME_BYTES = 400_000
KINDS = (PaperKind.HUMANITIES.value, PaperKind.PROFESSIONAL.value)


class IdentityCheckRequired(IllegalTransition):
    pass


class _CheckLike(Protocol):
    manual_by: int | None
    decided_at: dt.datetime | None


C = TypeVar("C", bound=_CheckLike)


def paper_kind(kind: str) -> str:
    """``kind`` when it names a paper; else the field's error."""
    if kind not in KINDS:
        raise InvalidInput("试卷类型的取值无效", fields={"kind": "试卷类型的取值无效"})
    return kind


def is_locked(failures: int) -> bool:
    """Failed live checks since the last pass that leave only a manual verification."""
    return failures >= MAX_FAILURES


def failures_left(failures: int) -> int:
    return max(0, MAX_FAILURES - failures)


def timed_out(created_at: dt.datetime, now: dt.datetime) -> bool:
    """An open challenge answered after CHECK_SECONDS (at exactly CHECK_SECONDS it still counts)."""
    return (now - created_at).total_seconds() > CHECK_SECONDS


def phase_late(shown_at: float, arrived: float) -> bool:
    """Frames that arrived more than PHASE_SECONDS after their prompt was sent (at exactly
    PHASE_SECONDS they still count). Both times are the server's own clock (epoch seconds)."""
    return arrived - shown_at > PHASE_SECONDS


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an open check stands between its requests: the phase whose frames are due next and
    when the server sent its prompt. Kept in live state, never sent to the page."""

    phase: int
    shown_at: float

    def to_json(self) -> str:
        return json.dumps({"phase": self.phase, "shown_at": self.shown_at})

    @classmethod
    def from_json(cls, text: str | None) -> Progress | None:
        try:
            data = json.loads(text or "")
            return cls(int(data["phase"]), float(data["shown_at"]))
        except (ValueError, KeyError, TypeError):
            return None


def expected_phase(progress: Progress | None, phase: int) -> None:
    """The frames sent must be those of the phase the server asked for last; else the field's error."""
    if progress is None:
        raise IllegalTransition("本次核验已结束，请重新开始")
    if phase != progress.phase:
        raise InvalidInput("画面的阶段与当前提示不符", fields={"phase": "画面的阶段与当前提示不符"})


def one_phase(frames: Sequence[SubmittedFrame]) -> int:
    """The phase that all ``frames`` (one request's) belong to; else the field's error."""
    if len({f.phase for f in frames}) != 1:
        raise InvalidInput("一次只能提交当前阶段的画面", fields={"frames": "一次只能提交当前阶段的画面"})
    if len(frames) > MAX_FRAMES_PER_PHASE:
        words = f"每个阶段的画面最多 {MAX_FRAMES_PER_PHASE} 张"
        raise InvalidInput(words, fields={"frames": words})
    return frames[0].phase


def first_valid(checks: Iterable[C], *, now: dt.datetime) -> C | None:
    """Of the passed, unused checks of the last day (newest first), the first still valid: a
    manual one, or a live one decided at most VALID_SECONDS ago."""
    for check in checks:
        age = (now - (check.decided_at or now)).total_seconds()
        if check.manual_by is not None or age <= VALID_SECONDS:
            return check
    return None


def admit(check_id: int | None, *, manual: bool, consented: bool) -> int:
    """The check that opens the attempt, or why there is none."""
    if check_id is not None and manual:
        return check_id  # the body verified the person by hand: consent is not needed for that
    if not consented:
        raise IdentityCheckRequired("开考前须同意《人脸信息采集授权》并通过身份核验（或由考核机构人工核验）")
    if check_id is None:
        raise IdentityCheckRequired("开考前须通过人脸身份核验")
    return check_id


@dataclass(frozen=True, slots=True)
class SubmittedFrame:
    phase: int
    image: bytes


def decode_frames(raw: Sequence[Any], phases: int) -> list[SubmittedFrame]:
    """``[{"phase": n, "image": "data:image/jpeg;base64,..."}]`` -> frames; every problem named."""
    if not raw:
        raise InvalidInput("没有收到摄像头画面", fields={"frames": "没有收到摄像头画面"})
    if len(raw) > MAX_FRAMES:
        raise InvalidInput(f"画面最多 {MAX_FRAMES} 张", fields={"frames": f"画面最多 {MAX_FRAMES} 张"})
    out: list[SubmittedFrame] = []
    for i, item in enumerate(raw, start=1):
        where = f"第 {i} 张画面"
        if not isinstance(item, dict) or type(item.get("phase")) is not int or not isinstance(item.get("image"), str):
            raise InvalidInput(f"{where}格式不正确", fields={"frames": f"{where}格式不正确"})
        if not 0 <= item["phase"] < phases:
            raise InvalidInput(f"{where}的阶段编号无效", fields={"frames": f"{where}的阶段编号无效"})
        text = item["image"].split(",", 1)[-1]
        if len(text) > MAX_FRAME_BYTES * 4 // 3 + 4:
            raise InvalidInput(f"{where}过大", fields={"frames": f"{where}过大"})
        try:
            data = base64.b64decode(text, validate=True)
        except ValueError:
            raise InvalidInput(f"{where}不是有效的图片数据", fields={"frames": f"{where}不是有效的图片数据"}) from None
        if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
            raise InvalidInput(f"{where}不是 JPEG 或 PNG 图片", fields={"frames": f"{where}不是 JPEG 或 PNG 图片"})
        out.append(SubmittedFrame(item["phase"], data))
    return out
