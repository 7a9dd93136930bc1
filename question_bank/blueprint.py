"""Paper blueprints: what a paper contains and the rules of taking it.

A :class:`Blueprint` is plain data the exam engine stores per paper. :func:`check_pool` says,
section by section, whether a :class:`~question_bank.pool.Pool` can fill it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .errors import BlueprintError, PoolShortfallError, Shortfall
from .fill import draw_order, find_fill, groups_nest, reachable as _subset_sum_reachable, within as _within
from .model import QuestionType
from .normalise import normalise_category

if TYPE_CHECKING:  # pragma: no cover
    from .pool import Pool, PoolCounts

__all__ = [
    "PaperKind",
    "PracticeCategory",
    "OverduePolicy",
    "Section",
    "Blueprint",
    "check_pool",
    "require_fillable",
]


class PaperKind(StrEnum):
    HUMANITIES = "humanities"  # 医学人文测评
    PROFESSIONAL = "professional"  # 业务水平测评

    @property
    def label_zh(self) -> str:
        return {"humanities": "医学人文测评", "professional": "业务水平测评"}[self.value]


class PracticeCategory(StrEnum):
    CLINICAL = "临床"
    STOMATOLOGY = "口腔"
    PUBLIC_HEALTH = "公共卫生"
    TCM = "中医"


class OverduePolicy(StrEnum):
    """What the exam engine does with an attempt whose time or window runs out.

    ``auto_submit`` (default, domain rule 8): submit with the answers saved so far.
    ``void``: the overdue attempt is recorded as not passed with score 0."""

    AUTO_SUBMIT = "auto_submit"
    VOID = "void"


@dataclass(frozen=True)
class Section:
    """Draw ``count`` questions of ``type`` whose category starts with ``category_prefix``
    (whole path segments: ``临床`` matches ``临床/内科``, not ``临床医学``), ``points_each`` each.
    For A3/A4/B1 the count is of sub-questions; whole groups are drawn."""

    title: str
    type: QuestionType
    category_prefix: str
    count: int
    points_each: float

    @property
    def points(self) -> float:
        return self.count * self.points_each


@dataclass(frozen=True)
class Blueprint:
    title: str
    kind: PaperKind
    sections: tuple[Section, ...]
    time_limit_minutes: int
    pass_mark: float
    practice_category: PracticeCategory | None = None
    attempts_allowed: int = 1
    window_start: datetime | None = None
    window_end: datetime | None = None
    overdue_policy: OverduePolicy = OverduePolicy.AUTO_SUBMIT
    partial_credit: bool = False
    shuffle_options: bool = True
    notes: str = field(default="", compare=False)

    @property
    def total_points(self) -> float:
        return round(sum(s.points for s in self.sections), 4)

    @property
    def question_count(self) -> int:
        return sum(s.count for s in self.sections)

    def problems(self) -> list[str]:
        """Every inconsistency, in Chinese; empty when the blueprint is usable."""
        out: list[str] = []
        if not self.title.strip():
            out.append("试卷名称为空")
        if not self.sections:
            out.append("试卷没有任何题目部分")
        for i, s in enumerate(self.sections, start=1):
            name = f"第 {i} 部分（{s.title}）"
            if s.count <= 0:
                out.append(f"{name}：题量必须大于 0")
            if not (s.points_each > 0):
                out.append(f"{name}：每题分值必须大于 0")
            elif round(s.points_each, 2) != s.points_each:
                # Item scores are kept to 2 decimals: a right answer worth 0.125 would score 0.12.
                out.append(f"{name}：每题分值最多保留两位小数")
            if normalise_category(s.category_prefix) != s.category_prefix:
                out.append(f"{name}：分类前缀 \"{s.category_prefix}\" 格式不规范")
        if self.time_limit_minutes <= 0:
            out.append("考试时长必须大于 0 分钟")
        if self.sections and not (0 < self.pass_mark <= self.total_points):
            out.append(f"及格分 {self.pass_mark} 应大于 0 且不超过总分 {self.total_points}")
        if self.attempts_allowed < 1:
            out.append("允许考试次数至少为 1")
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            out.append("开放时间的结束时间必须晚于开始时间")
        if self.kind is PaperKind.PROFESSIONAL and self.practice_category is None:
            out.append("业务水平测评必须指定执业类别")
        return out

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise BlueprintError(problems)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["practice_category"] = self.practice_category.value if self.practice_category else None
        d["overdue_policy"] = self.overdue_policy.value
        d["window_start"] = self.window_start.isoformat() if self.window_start else None
        d["window_end"] = self.window_end.isoformat() if self.window_end else None
        d["sections"] = [{**asdict(s), "type": s.type.value} for s in self.sections]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Blueprint":
        return cls(
            title=d["title"],
            kind=PaperKind(d["kind"]),
            sections=tuple(
                Section(s["title"], QuestionType(s["type"]), s["category_prefix"], int(s["count"]), float(s["points_each"]))
                for s in d["sections"]
            ),
            time_limit_minutes=int(d["time_limit_minutes"]),
            pass_mark=float(d["pass_mark"]),
            practice_category=PracticeCategory(d["practice_category"]) if d.get("practice_category") else None,
            attempts_allowed=int(d.get("attempts_allowed", 1)),
            window_start=datetime.fromisoformat(d["window_start"]) if d.get("window_start") else None,
            window_end=datetime.fromisoformat(d["window_end"]) if d.get("window_end") else None,
            overdue_policy=OverduePolicy(d.get("overdue_policy", "auto_submit")),
            partial_credit=bool(d.get("partial_credit", False)),
            shuffle_options=bool(d.get("shuffle_options", True)),
            notes=d.get("notes", ""),
        )


def check_pool(blueprint: Blueprint, pool: "Pool | PoolCounts") -> list[Shortfall]:
    """Sections the pool cannot fill, with Chinese messages naming section and shortfall.

    Only counts are read, so a :class:`~question_bank.pool.CountedPool` built from database
    aggregates answers the same as a :class:`~question_bank.pool.Pool` of every question. When
    the pool has enemies (互斥题), or two group sections of one type share groups (nested
    categories), a paper that fits by counts must also be proved drawable with no two enemies and
    no group twice in it (:func:`~question_bank.fill.find_fill`); the reason it is not is given."""
    out: list[Shortfall] = []
    secs = blueprint.sections
    taken: list[int] = []
    for i in draw_order(secs):
        s = secs[i]
        name = f"第 {i + 1} 部分（{s.title}）"
        where = s.category_prefix or "全部分类"
        used = sum(secs[j].count for j in taken if secs[j].type is s.type and _within(secs[j].category_prefix, s.category_prefix))
        taken.append(i)
        if s.type.is_group:
            sizes = pool.group_sizes(s.type, s.category_prefix)
            available = sum(sizes) - used
            if available < s.count:
                out.append(Shortfall(i, s.title, s.count, max(available, 0),
                                     f"{name}：需要 {s.count} 道 {s.type.label_zh}（{where}），题库只有 {max(available, 0)} 道，缺 {s.count - max(available, 0)} 道"))
            elif not _subset_sum_reachable(sizes, s.count + used):
                out.append(Shortfall(i, s.title, s.count, available,
                                     f"{name}：题库中 {s.type.label_zh}（{where}）各组小题数无法恰好凑成 {s.count} 道，请调整题量"))
        else:
            available = pool.count(s.type, s.category_prefix) - used
            if available < s.count:
                out.append(Shortfall(i, s.title, s.count, max(available, 0),
                                     f"{name}：需要 {s.count} 道 {s.type.label_zh}（{where}），题库只有 {max(available, 0)} 道，缺 {s.count - max(available, 0)} 道"))
    out.sort(key=lambda s: s.section_index)
    if not out and getattr(pool, "has_enemies", False):
        out = find_fill(secs, pool).shortfalls  # type: ignore[arg-type]
    elif not out and groups_nest(secs):
        out = _shared_groups(secs, pool)
    return out


def _shared_groups(secs: tuple[Section, ...], pool: "Pool | PoolCounts") -> list[Shortfall]:
    """Group sections of one type with nested categories share groups: the counts above hold for
    each alone, the search proves a paper holds both with no group twice (no enemies here, so the
    reason is worded without them)."""
    fill = find_fill(secs, pool)  # type: ignore[arg-type]
    out: list[Shortfall] = []
    for f in fill.shortfalls:
        s = secs[f.section_index]
        name = f"第 {f.section_index + 1} 部分（{s.title}）"
        where = s.category_prefix or "全部分类"
        why = (f"{name}：{s.type.label_zh}（{where}）与其他部分共用题组，未能在限定步数内确认各部分能同时抽足，请调整题量或分类"
               if fill.exhausted else
               f"{name}：题库中 {s.type.label_zh}（{where}）的题组已被其他部分占用后，各组小题数无法恰好凑成 {s.count} 道"
               "（同一组不能同时用于两个部分），请调整题量或补充题组")
        out.append(Shortfall(f.section_index, s.title, s.count, f.available, why))
    return out


def require_fillable(blueprint: Blueprint, pool: "Pool") -> None:
    """Raise :class:`BlueprintError` or :class:`PoolShortfallError` when the paper can't be drawn."""
    blueprint.validate()
    shortfalls = check_pool(blueprint, pool)
    if shortfalls:
        raise PoolShortfallError(shortfalls)
