"""The pre-exam identity check's decisions (rule 9) as plain functions of what was read: whether a
check is locked or timed out, which passed check still opens a paper, whether the attempt may
start, and what the page's frames are. :mod:`.checks` and :mod:`.gate` read and write the database
around them; the start's single statement (:mod:`exam_server.exam.start_sql`) calls the same ones."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence, TypeVar

from proctoring.challenge import MAX_FRAMES
from question_bank import PaperKind
from registry.errors import IllegalTransition, InvalidInput

MAX_FAILURES = 3  # failed live checks in a row before only a manual verification opens the paper
CHECK_SECONDS = 180  # an open challenge must be answered within this
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
