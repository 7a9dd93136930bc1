"""Demo question banks and blueprints for ``dingkao demo`` (original content, in Chinese).

Each fact (a stem a correct answer completes, plus four wrong answers) yields four distinct
questions: one A1 single best answer and three true/false statements (one true, two false).
Each bank also has hand-written X (multiple answer) items, one A3 case group and one B1
matching set. Everything is built on call (no work at import time) and is deterministic.

Every question has a code (试题编号: ``RW-007-A`` is fact 7's A1 question, ``-T`` its true
statement, ``-F1``/``-F2`` its false ones; ``RW-X03``, ``RW-A3-2``, ``RW-B1-4``). A fact's four
questions give each other away, so they are enemies (互斥题), as are the pairs across facts that
reading the banks found (:mod:`question_bank.demo._cueing_review`): no drawn paper cues itself.
"""

from __future__ import annotations

import hashlib

from ..blueprint import Blueprint, PaperKind, PracticeCategory, Section
from dataclasses import replace

from ..model import OPTION_LABELS, TF_OPTIONS, Group, Option, Question, QuestionType

__all__ = ["demo_banks", "demo_blueprints", "HUMANITIES", "CLINICAL", "STOMATOLOGY", "PREFIXES"]

HUMANITIES = "医学人文"
CLINICAL = "临床"
STOMATOLOGY = "口腔"
PREFIXES = {HUMANITIES: "RW", CLINICAL: "LC", STOMATOLOGY: "KQ"}


def _spot(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % n


def _choice(category: str, stem: str, correct: str, wrong: tuple[str, ...]) -> tuple[tuple[Option, ...], str]:
    texts = list(wrong)
    pos = _spot(stem, len(texts) + 1)
    texts.insert(pos, correct)
    return tuple(Option(OPTION_LABELS[i], t) for i, t in enumerate(texts)), OPTION_LABELS[pos]


def _from_facts(facts, prefix: str) -> list[Question]:
    out: list[Question] = []
    for n, (category, stem, correct, wrong) in enumerate(facts, start=1):
        base = f"{prefix}-{n:03d}"
        options, key = _choice(category, stem, correct, wrong)
        out.append(Question(QuestionType.A1, f"{stem}（　　）", options, (key,), 1, category, 2,
                            f"{stem}{correct}。", code=f"{base}-A"))
        out.append(Question(QuestionType.TF, f"{stem}{correct}。", TF_OPTIONS, ("T",), 1, category, 1,
                            code=f"{base}-T", enemies=(f"{base}-A",)))
        for i, w in enumerate(wrong[:2], start=1):
            earlier = (f"{base}-A", f"{base}-T") + ((f"{base}-F1",) if i == 2 else ())
            out.append(Question(QuestionType.TF, f"{stem}{w}。", TF_OPTIONS, ("F",), 1, category, 2,
                                f"错误。正确说法：{stem}{correct}。", code=f"{base}-F{i}", enemies=earlier))
    return out


def _x_items(items, prefix: str) -> list[Question]:
    out = []
    for n, (category, stem, right, wrong) in enumerate(items, start=1):
        texts = list(right) + list(wrong)
        order = sorted(range(len(texts)), key=lambda i: _spot(stem + texts[i], 1 << 30))
        options = tuple(Option(OPTION_LABELS[i], texts[j]) for i, j in enumerate(order))
        key = tuple(sorted(OPTION_LABELS[i] for i, j in enumerate(order) if j < len(right)))
        out.append(Question(QuestionType.X, f"{stem}（　　）", options, key, 1, category, 3,
                            "正确答案：" + "、".join(right) + "。", code=f"{prefix}-X{n:02d}"))
    return out


def _a3(spec, key_name: str, prefix: str) -> list[Question]:
    category, case, subs = spec
    group = Group(key_name, QuestionType.A3, case)
    out = []
    for n, (stem, correct, wrong) in enumerate(subs, start=1):
        options, key = _choice(category, case + stem, correct, wrong)
        out.append(Question(QuestionType.A3, f"{stem}（　　）", options, (key,), 1, category, 3, group=group,
                            code=f"{prefix}-A3-{n}"))
    return out


def _b1(spec, key_name: str, prefix: str) -> list[Question]:
    category, shared, subs = spec
    options = tuple(Option(OPTION_LABELS[i], t) for i, t in enumerate(shared))
    group = Group(key_name, QuestionType.B1, "（共用备选答案）", options)
    return [Question(QuestionType.B1, stem, (), (OPTION_LABELS[shared.index(ans)],), 1, category, 3, group=group,
                     code=f"{prefix}-B1-{n}")
            for n, (stem, ans) in enumerate(subs, start=1)]


def _with_enemies(questions: list[Question], pairs) -> list[Question]:
    """The questions with each reviewed pair (teller code, told code, why) added as enemies."""
    extra: dict[str, list[str]] = {}
    for teller, told, _why in pairs:
        extra.setdefault(teller, []).append(told)
    return [replace(q, enemies=q.enemies + tuple(c for c in extra.get(q.code, ()) if c not in q.enemies))
            if q.code in extra else q for q in questions]


def demo_banks() -> dict[str, list[Question]]:
    """``{"医学人文": [...], "临床": [...], "口腔": [...]}``, each well over 150 questions."""
    from . import _cueing_review as r
    from . import _facts_humanities as h
    from . import _facts_professional as p

    banks = {
        HUMANITIES: _from_facts(h.FACTS, "RW") + _x_items(h.X_ITEMS, "RW") + _a3(h.A3, "人文-A3-1", "RW")
        + _b1(h.B1, "人文-B1-1", "RW"),
        CLINICAL: _from_facts(p.CLINICAL, "LC") + _x_items(p.CLINICAL_X, "LC") + _a3(p.CLINICAL_A3, "临床-A3-1", "LC")
        + _b1(p.CLINICAL_B1, "临床-B1-1", "LC"),
        STOMATOLOGY: _from_facts(p.DENTAL, "KQ") + _x_items(p.DENTAL_X, "KQ") + _a3(p.DENTAL_A3, "口腔-A3-1", "KQ")
        + _b1(p.DENTAL_B1, "口腔-B1-1", "KQ"),
    }
    return {name: _with_enemies(qs, r.CUEING.get(name, ())) for name, qs in banks.items()}


def _professional(category: PracticeCategory, prefix: str) -> Blueprint:
    return Blueprint(
        title=f"业务水平测评（{category.value}）",
        kind=PaperKind.PROFESSIONAL,
        practice_category=category,
        sections=(
            Section("A1型题", QuestionType.A1, prefix, 30, 1),
            Section("X型题", QuestionType.X, prefix, 5, 1),
            Section("判断题", QuestionType.TF, prefix, 58, 1),
            Section("A3型题", QuestionType.A3, prefix, 3, 1),
            Section("B1型题", QuestionType.B1, prefix, 4, 1),
        ),
        time_limit_minutes=90,
        pass_mark=60,
        attempts_allowed=1,
        partial_credit=True,
    )


def demo_blueprints() -> dict[str, Blueprint]:
    """Default papers: humanities (50 questions x 2 points, 60 min, pass 60, 3 attempts) and a
    professional paper per demo practice category (100 x 1 point, 90 min, pass 60, 1 attempt,
    partial credit for X). Windows are left open (None) for the caller to set per cycle."""
    humanities = Blueprint(
        title="医学人文测评",
        kind=PaperKind.HUMANITIES,
        sections=(
            Section("A1型题", QuestionType.A1, "医学人文", 24, 2),
            Section("X型题", QuestionType.X, "医学人文", 4, 2),
            Section("判断题", QuestionType.TF, "医学人文", 15, 2),
            Section("A3型题", QuestionType.A3, "医学人文", 3, 2),
            Section("B1型题", QuestionType.B1, "医学人文", 4, 2),
        ),
        time_limit_minutes=60,
        pass_mark=60,
        attempts_allowed=3,
    )
    return {
        HUMANITIES: humanities,
        CLINICAL: _professional(PracticeCategory.CLINICAL, "临床"),
        STOMATOLOGY: _professional(PracticeCategory.STOMATOLOGY, "口腔"),
    }
