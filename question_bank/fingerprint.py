"""Content fingerprints: recognise the same question across imports.

The hash covers the answer-relevant content only, normalised: the item family (single answer
A1/A2, multiple X, true/false, case group A3/A4, matching B1), the stem, the option texts as a
set (so re-ordered options are the same question), the correct option texts, for group members
the shared stem and shared options, and the images (their bytes, or the reference when only a
reference is known): a question that differs only by its picture is another question, and one
whose picture was lost on the way is not the stored one. Points, category, difficulty,
explanation and ids are deliberately left out: editing those is not a new question.

This module reads questions through the small :class:`Fingerprintable` protocol, so it knows
nothing of :mod:`question_bank.model` (which calls it).
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol, Sequence

__all__ = ["fingerprint_of", "normalise_for_fingerprint", "Fingerprintable"]

_WS = re.compile(r"\s+")
_FAMILY = {"A1": "single", "A2": "single", "X": "multi", "TF": "tf", "A3": "case", "A4": "case", "B1": "match"}


class _Text(Protocol):
    label: str
    text: str


class _Picture(Protocol):
    data: bytes | None
    ref: str | None


class _Shared(Protocol):
    stem: str
    options: Sequence[_Text]
    images: Sequence[_Picture]


class Fingerprintable(Protocol):
    """What a fingerprint reads of a question."""

    stem: str
    key: Sequence[str]
    images: Sequence[_Picture]

    @property
    def type(self) -> object: ...  # an enum whose ``.value`` is the type code ("A1", ...)

    @property
    def choices(self) -> Sequence[_Text]: ...

    @property
    def group(self) -> _Shared | None: ...


def normalise_for_fingerprint(text: str) -> str:
    return _WS.sub(" ", text).strip().casefold()


def _image_marks(images: Sequence[_Picture]) -> str:
    marks = []
    for img in images:
        if img.data is not None:
            marks.append("data:" + hashlib.sha256(img.data).hexdigest())
        else:
            marks.append("ref:" + (img.ref or "").strip())
    return "\x1e".join(sorted(marks))


def fingerprint_of(q: Fingerprintable) -> str:
    n = normalise_for_fingerprint
    code = getattr(q.type, "value", q.type)
    opts = q.choices
    texts = sorted(n(o.text) for o in opts)
    keyset = set(q.key)
    correct = sorted(n(o.text) for o in opts if o.label in keyset)
    if code == "TF":
        correct = sorted(q.key)
    parts = [_FAMILY[str(code)], n(q.stem), "\x1e".join(texts), "\x1e".join(correct)]
    if q.group is not None:
        parts.append(n(q.group.stem))
        parts.append("\x1e".join(sorted(n(o.text) for o in q.group.options)))
    # Only questions with pictures get the extra part: fingerprints of picture-less questions
    # (everything stored so far) stay what they were.
    images = list(q.images) + (list(q.group.images) if q.group is not None else [])
    if images:
        parts.append("images:" + _image_marks(images))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
