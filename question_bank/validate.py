"""Rules every question must satisfy, whatever format it came from.

:func:`question_problems` returns ``(field, message)`` pairs without a location; readers add
"第 N 行" (or the item name) and turn them into :class:`~question_bank.errors.Problem`.
"""

from __future__ import annotations

import re

from .model import IMAGE_MIME_TYPES, OPTION_LABELS, TF_OPTIONS, Question, QuestionType

__all__ = ["question_problems", "MAX_STEM_CHARS", "MAX_OPTION_CHARS"]

MAX_STEM_CHARS = 5000
MAX_OPTION_CHARS = 1000
# NUL and the other control characters no one types (a stem may run over lines and hold a tab): PostgreSQL
# cannot store NUL, and none of them belongs in an exam. The service refuses the same at its edge.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _text_problems(q: Question) -> list[tuple[str, str]]:
    texts: list[tuple[str, str, bool]] = [("题干", q.stem, True), ("解析", q.explanation, True),
                                          ("分类", q.category, False), ("编号", q.code, False)]
    texts += [(f"选项{o.label}", o.text, True) for o in q.options]
    if q.group is not None:
        texts += [("共用题干", q.group.stem, True), ("共用题干组号", q.group.key, False)]
        texts += [(f"共用选项{o.label}", o.text, True) for o in q.group.options]
    return [(name, f"{name}含有不允许的控制字符（如空字符）")
            for name, text, multiline in texts if (_CONTROL if multiline else _CONTROL_OR_BREAK).search(text)]


def question_problems(q: Question) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = _text_problems(q)
    t = q.type
    if not q.stem.strip():
        out.append(("题干", "题干为空"))
    elif len(q.stem) > MAX_STEM_CHARS:
        out.append(("题干", f"题干过长（{len(q.stem)} 字，最多 {MAX_STEM_CHARS} 字）"))
    if t is QuestionType.TF:
        if q.options != TF_OPTIONS:
            out.append(("选项", "判断题不应填写选项"))
        if len(q.key) != 1 or q.key[0] not in ("T", "F"):
            out.append(("答案", "判断题答案应为“对”或“错”"))
    else:
        if t is QuestionType.B1:
            if q.group is None:
                out.append(("共用题干组号", "B1 型题必须属于一个共用选项组"))
                return out
            if q.options:
                out.append(("选项", "B1 型题的选项应写在共用选项行，小题本身不填选项"))
            options = q.group.options
        else:
            options = q.options
        out.extend(_option_problems(options))
        labels = {o.label for o in options}
        if not q.key:
            out.append(("答案", "答案为空"))
        for k in q.key:
            if k not in labels:
                out.append(("答案", f"答案 \"{k}\" 不在选项中"))
        if t is QuestionType.X:
            if len(q.key) < 2:
                out.append(("答案", "X 型题（多选）至少应有两个正确答案"))
        elif len(q.key) > 1:
            out.append(("答案", f"{t.value} 型题只能有一个正确答案，却填写了 \"{''.join(q.key)}\""))
    if t in (QuestionType.A3, QuestionType.A4):
        if q.group is None:
            out.append(("共用题干组号", f"{t.value} 型题必须属于一个共用题干组"))
        elif not q.group.stem.strip():
            out.append(("题干", "共用题干为空"))
    if t not in (QuestionType.A3, QuestionType.A4, QuestionType.B1) and q.group is not None:
        out.append(("共用题干组号", f"{t.value} 型题不能属于共用题干组"))
    if not (q.points > 0):
        out.append(("分值", "分值必须大于 0"))
    if q.difficulty is not None and not (1 <= q.difficulty <= 5):
        out.append(("难度", "难度应为 1-5 或 易/较易/中/较难/难"))
    for img in q.images:
        if img.mime not in IMAGE_MIME_TYPES:
            out.append(("图片", f"不支持的图片类型 {img.mime}"))
    return out


def _option_problems(options) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if len(options) < 2:
        out.append(("选项", f"选项不足：至少需要 2 个，只有 {len(options)} 个"))
    if len(options) > len(OPTION_LABELS):
        out.append(("选项", f"选项过多：最多 {len(OPTION_LABELS)} 个"))
    seen: dict[str, str] = {}
    for o in options:
        if not o.text.strip():
            out.append((f"选项{o.label}", f"选项{o.label}为空"))
        elif len(o.text) > MAX_OPTION_CHARS:
            out.append((f"选项{o.label}", f"选项{o.label}过长"))
        norm = " ".join(o.text.split()).casefold()
        if norm and norm in seen:
            out.append((f"选项{o.label}", f"选项{o.label}与选项{seen[norm]}内容重复"))
        else:
            seen[norm] = o.label
    return out
