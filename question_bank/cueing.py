"""The cueing check: questions that give other questions away, as likely enemy pairs.

A 判断 statement such as “《处方管理办法》规定，儿科处方的印刷用纸颜色为淡绿色。” next to the A1
question “……儿科处方的印刷用纸颜色为（ ）” answers it outright; a false statement with another
colour rules that option out. :func:`find_cues` lists such pairs for the admin to confirm as
enemies (:mod:`question_bank.enemies`). It compares characters, not meaning:

* Texts are normalised (case, full-width letters, spaces and punctuation dropped) and cut into
  character bigrams, which suit Chinese without a word segmenter.
* A *teller* (a 判断 statement or an A1 stem) gives a *told* question away when it holds, in
  order, at least :data:`STEM_COVER` of the told stem's characters, and its :data:`RAREST`
  rarest bigrams in the bank (what names its subject: “儿科” of “……儿科处方的印刷用纸颜色为”, so
  that “急诊处方的印刷用纸颜色为淡黄色。” does not count), and, outside the part that matches that
  stem, one of its options: the key (``kind="key"``) or a distractor (``"distractor"``).
* A told 判断 statement is given away by a teller that restates it (every bigram of it), or by
  another 判断 statement that says the same thing with its completion replaced (``"statement"``:
  “……为淡绿色。” and “……为淡黄色。”: the two start alike for at least
  :data:`SAME_STATEMENT_SHARE` of the shorter one, and what follows holds no 为 or 是, which
  would mean the stems themselves differ).
* Candidates come from an index of each stem's rarest bigram (which a teller must hold) and of
  each statement's first characters, so a bank is not compared pair by pair.

Sub-questions of one group are never reported (they always appear together anyway). The
figures on the demo banks, and how they were measured, are in docs/question-formats.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from os.path import commonprefix
from typing import Iterable, Sequence

from .model import Question, QuestionType

__all__ = ["CueItem", "Cue", "find_cues", "normalise_for_cues", "STEM_COVER", "STATEMENT_COVER",
           "SAME_STATEMENT_SHARE", "RAREST"]

STEM_COVER = 0.8
STATEMENT_COVER = 1.0
SAME_STATEMENT_SHARE = 0.5
RAREST = 2
_MIN_PREFIX = 4
_STEM_ENDS = frozenset("为是")
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


_GAP = "|"  # never in a normalised text (punctuation is dropped)
_ASKING = re.compile(r"下列|以下|哪些|哪一项|哪项")
_ASKING_END = re.compile(r"(的有|包括|可以是|的是|是|为|有)$")


def _question_words(text: str) -> str:
    """A question's stem without the words that only ask (下列……的有, ……包括, ……是): what is
    left is what a statement that answers it would say too. A gap (``|``) stands where words
    were taken out, so no bigram spans it."""
    return _ASKING_END.sub("", _ASKING.sub(_GAP, text)).strip(_GAP) or text


def _bigrams(s: str) -> frozenset[str]:
    out: set[str] = set()
    for part in s.split(_GAP):
        if len(part) == 1:
            out.add(part)
        out.update(part[i:i + 2] for i in range(len(part) - 1))
    return frozenset(out)


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
        text = normalise_for_cues(stem)
        if type is QuestionType.TF:
            choices = ()
        else:
            text = _question_words(text)
        keyset = set(key)
        return cls(ref, type, text, tuple(normalise_for_cues(t) for _, t in choices),
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


def _aligned(teller: str, told: str) -> tuple[float, list[str]]:
    """How much of ``told`` appears in ``teller`` in order (a share of its characters), and the
    parts of ``teller`` outside the matching runs of two characters or more."""
    blocks = SequenceMatcher(None, told, teller, autojunk=False).get_matching_blocks()
    cover = sum(b.size for b in blocks) / len(told) if told else 0.0
    rest: list[str] = []
    at = 0
    for block in blocks:
        if block.size < 2 and block.size != 0:
            continue
        if block.b > at:
            rest.append(teller[at:block.b])
        at = max(at, block.b + block.size)
    if at < len(teller):
        rest.append(teller[at:])
    return cover, rest


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


def _ending_apart(a: str, b: str) -> bool:
    """``a`` and ``b`` state one subject and differ only in how they complete it: they start
    alike for at least half of the shorter one, and what follows in each is a completion, not
    the rest of another stem (no 为/是 in it: “……急诊处方的印刷用纸颜色为淡黄色” and “……急诊处方一般
    不得超过的用量为3日用量” part before the subject ends)."""
    n = len(commonprefix([a, b]))
    if not (_MIN_PREFIX <= n < min(len(a), len(b)) and n >= SAME_STATEMENT_SHARE * min(len(a), len(b))):
        return False
    return not any(c in _STEM_ENDS for c in a[n:-1] + b[n:-1])


def _cue(teller: CueItem, told: CueItem, tg: frozenset[str], dg: frozenset[str], rare: frozenset[str]) -> Cue | None:
    if told.type is QuestionType.TF:
        cover = _covered(dg, tg)
        if teller.stem == told.stem:
            return None  # the same statement twice is a duplicate, not a cue
        if cover >= STATEMENT_COVER and rare <= tg and len(teller.stem) >= len(told.stem):
            return Cue(teller.ref, told.ref, "statement", "", round(cover, 3))
        if teller.type is QuestionType.TF and _ending_apart(told.stem, teller.stem):
            return Cue(teller.ref, told.ref, "statement", "", round(cover, 3))
        return None
    if not told.options or not rare <= tg:
        return None
    cover, rest = _aligned(teller.stem, told.stem.replace(_GAP, ""))
    if cover < STEM_COVER:
        return None
    i = _stated_option(rest, told.options)
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
    # A teller must hold a told stem's rarest bigrams (the rule below), so indexing each stem
    # under its rarest one finds every candidate, and only those that share a rare word.
    index: dict[str, list[int]] = {}
    rarest: list[frozenset[str]] = []
    for i, g in enumerate(grams):
        by_rarity = sorted(g, key=lambda b: (df[b], b))[:RAREST]
        rarest.append(frozenset(by_rarity))
        if by_rarity:
            index.setdefault(by_rarity[0], []).append(i)
    starts: dict[str, list[int]] = {}
    for i, it in enumerate(every):
        if it.type is QuestionType.TF and len(it.stem) >= _MIN_PREFIX:
            starts.setdefault(it.stem[:_MIN_PREFIX], []).append(i)
    found: dict[tuple[int, int], Cue] = {}
    for t, teller in enumerate(every):
        if teller.type not in _TELLERS or not grams[t]:
            continue
        candidates: set[int] = set()
        for b in grams[t]:
            candidates.update(index.get(b, ()))
        if teller.type is QuestionType.TF:
            candidates.update(starts.get(teller.stem[:_MIN_PREFIX], ()))
        for d in sorted(candidates):
            told = every[d]
            if d == t or not (is_new[t] or is_new[d]) or (teller.group is not None and teller.group == told.group):
                continue
            cue = _cue(teller, told, grams[t], grams[d], rarest[d])
            if cue is None:
                continue
            pair = (min(t, d), max(t, d))
            best = found.get(pair)
            if best is None or (_KIND_RANK[cue.kind], -cue.score) < (_KIND_RANK[best.kind], -best.score):
                found[pair] = cue
    ordered = sorted(found.items(), key=lambda kv: (_KIND_RANK[kv[1].kind], -kv[1].score, kv[0]))
    return [cue for _, cue in ordered]
