"""Scoring a submitted attempt against its drawn paper.

Rules (per item, points from the paper's section):

* single answer (A1/A2/A3/A4/B1) and true/false: all or nothing; choosing more than one option
  scores 0;
* multiple answer (X), default: all or nothing (exactly the correct set);
* multiple answer with ``partial_credit`` on the paper: any wrong option chosen -> 0; otherwise
  ``points * chosen_correct / total_correct`` (so the full set earns full points and an empty
  answer earns 0).

Per-item scores are rounded to 2 decimals; the total is the sum of item scores; the attempt
passes when ``total >= pass_mark``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping

from .drawing import DrawnItem, DrawnPaper
from .errors import ScoringError
from .model import QuestionType

__all__ = ["ItemScore", "ScoreReport", "score_item", "score_paper"]


@dataclass(frozen=True, slots=True)
class ItemScore:
    number: int
    chosen: tuple[str, ...]
    key: tuple[str, ...]
    awarded: float
    max_points: float

    @property
    def correct(self) -> bool:
        return self.chosen == self.key


@dataclass(frozen=True)
class ScoreReport:
    total: float
    max_total: float
    pass_mark: float
    passed: bool
    answered: int
    items: tuple[ItemScore, ...]


def _normalise_choice(item: DrawnItem, chosen: Collection[str]) -> tuple[str, ...]:
    if isinstance(chosen, str):  # "AC": one label per character (true/false items are labelled T and F)
        chosen = list(chosen)
    labels = {o.label for o in item.options}
    out = set()
    for c in chosen:
        c2 = str(c).strip().upper()
        if c2 not in labels:
            raise ScoringError(f"第 {item.number} 题的答案 \"{c}\" 不是该题的选项")
        out.add(c2)
    return tuple(sorted(out))


def score_item(item: DrawnItem, chosen: Collection[str], *, partial_credit: bool) -> ItemScore:
    picks = _normalise_choice(item, chosen)
    key = item.key
    pts = item.points
    if item.question.type is QuestionType.X:
        if picks == key:
            awarded = pts
        elif partial_credit and picks and set(picks) <= set(key):
            awarded = pts * len(picks) / len(key)
        else:
            awarded = 0.0
    else:
        awarded = pts if picks == key else 0.0
    return ItemScore(item.number, picks, key, round(awarded, 2), pts)


def score_paper(paper: DrawnPaper, answers: Mapping[int, Collection[str]]) -> ScoreReport:
    """``answers`` maps item number -> chosen display labels (missing = unanswered).

    Raises :class:`ScoringError` for an unknown item number or an option label that is not on
    the item (the browser sent something the paper never showed)."""
    numbers = {it.number for it in paper.items}
    for n in answers:
        if n not in numbers:
            raise ScoringError(f"试卷中没有第 {n} 题")
    scores = tuple(score_item(it, answers.get(it.number, ()), partial_credit=paper.partial_credit)
                   for it in paper.items)
    total = round(sum(s.awarded for s in scores), 2)
    max_total = round(sum(it.points for it in paper.items), 2)
    # The total is the float nearest its 2-place decimal, as a typed pass mark is: they compare exactly.
    return ScoreReport(total, max_total, paper.pass_mark, total >= paper.pass_mark,
                       sum(1 for s in scores if s.chosen), scores)
