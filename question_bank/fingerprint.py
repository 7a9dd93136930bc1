"""Content fingerprints: recognise the same question across imports.

The hash covers the answer-relevant content only, normalised: the item family (single answer
A1/A2, multiple X, true/false, case group A3/A4, matching B1), the stem, the option texts as a
set (so re-ordered options are the same question), the correct option texts, and for group
members the shared stem and shared options. Points, category, difficulty, explanation, images
and ids are deliberately left out: editing those is not a new question.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .model import Question

__all__ = ["fingerprint_of", "normalise_for_fingerprint"]

_WS = re.compile(r"\s+")
_FAMILY = {"A1": "single", "A2": "single", "X": "multi", "TF": "tf", "A3": "case", "A4": "case", "B1": "match"}


def normalise_for_fingerprint(text: str) -> str:
    return _WS.sub(" ", text).strip().casefold()


def fingerprint_of(q: "Question") -> str:
    n = normalise_for_fingerprint
    opts = q.choices
    texts = sorted(n(o.text) for o in opts)
    keyset = set(q.key)
    correct = sorted(n(o.text) for o in opts if o.label in keyset)
    if q.type.value == "TF":
        correct = sorted(q.key)
    parts = [_FAMILY[q.type.value], n(q.stem), "\x1e".join(texts), "\x1e".join(correct)]
    if q.group is not None:
        parts.append(n(q.group.stem))
        parts.append("\x1e".join(sorted(n(o.text) for o in q.group.options)))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
