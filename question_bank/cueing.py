"""The cueing check: questions that give other questions away, as likely enemy pairs.

A 判断 statement such as “《处方管理办法》规定，儿科处方的印刷用纸颜色为淡绿色。” next to the A1
question “……儿科处方的印刷用纸颜色为（ ）” answers it outright; a false statement with another
colour rules that option out. :func:`find_cues` lists such pairs for the admin to confirm as
enemies (:mod:`question_bank.enemies`). It compares characters, not meaning:

* Texts are normalised (case, full-width letters, spaces and punctuation dropped) and cut into
  character bigrams, which suit Chinese without a word segmenter.
* A *teller* (a 判断 statement or an A1 stem) gives a *told* question away when it holds at
  least :data:`STEM_COVER` of the told stem's bigrams and, outside the part that matches that
  stem, one of its options: the key (``kind="key"``) or a distractor (``"distractor"``).
* A told 判断 statement is given away by a teller that restates it (:data:`STATEMENT_COVER`
  of its bigrams), or by another 判断 statement that says the same thing with one part
  replaced (``"statement"``: “……为淡绿色。” and “……为淡黄色。”; the two differ in one place
  and share :data:`SAME_STATEMENT_SHARE` of each text).
* Candidates come from an index of each stem's rarest bigrams (enough of them that any stem
  covered to the threshold shares at least one), so a bank is not compared pair by pair.

Sub-questions of one group are never reported (they always appear together anyway). The
figures on the demo banks, and how they were measured, are in the README.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Iterable, Sequence

from .model import Question, QuestionType

__all__ = ["CueItem", "Cue", "find_cues", "normalise_for_cues", "STEM_COVER", "STATEMENT_COVER",
           "SAME_STATEMENT_SHARE"]

STEM_COVER = 0.8
STATEMENT_COVER = 0.9
SAME_STATEMENT_SHARE = 0.6
_INDEX_COVER = min(STEM_COVER, SAME_STATEMENT_SHARE)
_TELLERS = frozenset({QuestionType.TF, QuestionType.A1})
_KIND_RANK = {"key": 0, "statement": 1, "distractor": 2}
_SHOWN = 60


def normalise_for_cues(text: str) -> str:
    """Lower case, half-width letters and digits, no spaces, punctuation or control characters."""
    out = []
    for ch in text:
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E:
            ch = chr(o - 0xFEE0)
        if unicodedata.category(ch)[0] in "PZC":
            continue
        out.append(ch.casefold())
    return "".join(out)


def _bigrams(s: str) -> frozenset[str]:
    if len(s) < 2:
        return frozenset({s}) if s else frozenset()
    return frozenset(s[i:i + 2] for i in range(len(s) - 1))


@dataclass(frozen=True, slots=True)
class CueItem:
    """What the check reads of one question (kept small: a large import holds one per question).

    ``ref`` is how the caller names the question (fingerprint, row, stored id); ``options`` are
    normalised choice texts and ``shown`` the same, as written (cut to 60 characters)."""

    ref: str
    type: QuestionType
    stem: str
    options: tuple[str, ...]
    shown: tuple[str, ...]
    key: tuple[int, ...]
    group: str | None = None

    @classmethod
    def of(cls, q: Question, ref: str | None = None) -> "CueItem":
        return cls.parts(ref if ref is not None else q.fingerprint, q.type, q.stem,
                         [(o.label, o.text) for o in q.choices], q.key, q.group_key)

    @classmethod
    def parts(cls, ref: str, type: QuestionType, stem: str, choices: Sequence[tuple[str, str]], key: Sequence[str],
              group: str | None = None) -> "CueItem":
        """From stored parts: ``choices`` are ``(label, text)`` (a B1 question's are its group's)."""
        if type is QuestionType.TF:
            choices = ()
        keyset = set(key)
        return cls(ref, type, normalise_for_cues(stem), tuple(normalise_for_cues(t) for _, t in choices),
                   tuple(t[:_SHOWN] for _, t in choices), tuple(i for i, (lab, _) in enumerate(choices) if lab in keyset),
                   group)


@dataclass(frozen=True, slots=True)
class Cue:
    """``teller`` gives ``told`` away. ``kind``: ``"key"`` (states its stem and its answer),
    ``"distractor"`` (states its stem and a wrong option), ``"statement"`` (restates a 判断
    statement, or says the same with one part replaced). ``option`` is the option stated."""

    teller: str
    told: str
    kind: str
    option: str
    score: float

    @property
    def reason_zh(self) -> str:
        if self.kind == "key":
            return f"陈述了题干和正确答案“{self.option}”"
        if self.kind == "distractor":
            return f"陈述了题干和干扰项“{self.option}”"
        return "陈述的是同一内容（一方可推出另一方的答案）"


def _covered(told: frozenset[str], teller: frozenset[str]) -> float:
    return len(told & teller) / len(told) if told else 0.0


def _rest_of(teller: str, told: str) -> list[str]:
    """The parts of ``teller`` outside what matches ``told`` (blocks of two characters or more)."""
    matcher = SequenceMatcher(None, told, teller, autojunk=False)
    rest: list[str] = []
    at = 0
    for block in matcher.get_matching_blocks():
        if block.size < 2 and block.size != 0:
            continue
        if block.b > at:
            rest.append(teller[at:block.b])
        at = max(at, block.b + block.size)
    if at < len(teller):
        rest.append(teller[at:])
    return rest


def _stated_option(rest: list[str], options: Sequence[str]) -> int | None:
    """The option ``rest`` states (the longest one found), or None."""
    best: tuple[int, int] | None = None
    for i, o in enumerate(options):
        if not o:
            continue
        hit = any(o in part for part in rest)
        if not hit and len(o) >= 6:
            grams = _bigrams(o)
            hit = any(_covered(grams, _bigrams(part)) >= STEM_COVER for part in rest)
        if hit and (best is None or len(o) > best[1]):
            best = (i, len(o))
    return None if best is None else best[0]


def _one_place_apart(a: str, b: str) -> bool:
    """``a`` and ``b`` share most of their text and differ in a single place."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    same = sum(op[2] - op[1] for op in matcher.get_opcodes() if op[0] == "equal")
    return (len(changes) == 1 and same >= SAME_STATEMENT_SHARE * len(a) and same >= SAME_STATEMENT_SHARE * len(b))


def _cue(teller: CueItem, told: CueItem, tg: frozenset[str], dg: frozenset[str]) -> Cue | None:
    cover = _covered(dg, tg)
    if told.type is QuestionType.TF:
        if teller.stem == told.stem:
            return None  # the same statement twice is a duplicate, not a cue
        if cover >= STATEMENT_COVER and len(teller.stem) >= len(told.stem):
            return Cue(teller.ref, told.ref, "statement", "", round(cover, 3))
        if teller.type is QuestionType.TF and cover >= SAME_STATEMENT_SHARE and _one_place_apart(told.stem, teller.stem):
            return Cue(teller.ref, told.ref, "statement", "", round(cover, 3))
        return None
    if cover < STEM_COVER or not told.options:
        return None
    i = _stated_option(_rest_of(teller.stem, told.stem), told.options)
    if i is None:
        return None
    return Cue(teller.ref, told.ref, "key" if i in told.key else "distractor", told.shown[i], round(cover, 3))


def find_cues(items: Iterable[CueItem], *, among: Iterable[CueItem] = ()) -> list[Cue]:
    """Likely cueing pairs, each pair once (the strongest cue, a key before a statement before a
    distractor), strongest and then in input order first.

    ``among``: questions already stored; pairs between two of them are not reported (they were
    checked before), pairs between them and ``items`` are."""
    new = list(items)
    old = list(among)
    every = new + old
    is_new = [True] * len(new) + [False] * len(old)
    grams = [_bigrams(it.stem) for it in every]
    df: dict[str, int] = {}
    for g in grams:
        for b in g:
            df[b] = df.get(b, 0) + 1
    # Index each stem under its rarest bigrams: any text covering it to the threshold shares one.
    index: dict[str, list[int]] = {}
    for i, g in enumerate(grams):
        if not g:
            continue
        keep = len(g) - int(_INDEX_COVER * len(g) + 1e-9) + 1
        for b in sorted(g, key=lambda b: (df[b], b))[:keep]:
            index.setdefault(b, []).append(i)
    found: dict[tuple[int, int], tuple[Cue, int, int]] = {}
    for t, teller in enumerate(every):
        if teller.type not in _TELLERS or not grams[t]:
            continue
        seen: set[int] = set()
        for b in grams[t]:
            for d in index.get(b, ()):
                if d == t or d in seen or not (is_new[t] or is_new[d]):
                    continue
                seen.add(d)
                told = every[d]
                if teller.group is not None and teller.group == told.group:
                    continue
                cue = _cue(teller, told, grams[t], grams[d])
                if cue is None:
                    continue
                pair = (min(t, d), max(t, d))
                rank = (_KIND_RANK[cue.kind], -cue.score)
                best = found.get(pair)
                if best is None or rank < (_KIND_RANK[best[0].kind], -best[0].score):
                    found[pair] = (cue, t, d)
    ordered = sorted(found.items(), key=lambda kv: (_KIND_RANK[kv[1][0].kind], -kv[1][0].score, kv[0]))
    return [cue for _, (cue, _, _) in ordered]
