"""Questions to and from JSON-able dicts (for storage and admin pages)."""

from __future__ import annotations

import base64
from typing import Any

from .model import Group, Image, Option, Question, QuestionType

__all__ = ["question_to_dict", "question_from_dict"]


def _image_to_dict(img: Image, embed: bool) -> dict[str, Any]:
    d: dict[str, Any] = {"mime": img.mime, "name": img.name, "ref": img.ref}
    if img.data is not None:
        d["size"] = len(img.data)
        if embed:
            d["data_base64"] = base64.b64encode(img.data).decode("ascii")
    return d


def _image_from_dict(d: dict[str, Any]) -> Image:
    data = d.get("data_base64")
    return Image(
        mime=d["mime"],
        data=base64.b64decode(data) if data else None,
        ref=d.get("ref"),
        name=d.get("name", ""),
    )


def question_to_dict(q: Question, *, embed_images: bool = True) -> dict[str, Any]:
    """Everything about a question, keys included (server side only)."""
    d: dict[str, Any] = {
        "id": q.id,
        "fingerprint": q.fingerprint,
        "type": q.type.value,
        "stem": q.stem,
        "options": [{"label": o.label, "text": o.text} for o in q.options],
        "key": list(q.key),
        "points": q.points,
        "category": q.category,
        "difficulty": q.difficulty,
        "explanation": q.explanation,
        "images": [_image_to_dict(i, embed_images) for i in q.images],
        "group": None,
        "source_ref": q.source_ref,
    }
    # Only when set: the dicts (and the snapshot keys hashed from them) of other questions stay as they were.
    if q.code:
        d["code"] = q.code
    if q.enemies:
        d["enemies"] = list(q.enemies)
    if q.group is not None:
        g = q.group
        d["group"] = {
            "key": g.key,
            "type": g.type.value,
            "stem": g.stem,
            "options": [{"label": o.label, "text": o.text} for o in g.options],
            "images": [_image_to_dict(i, embed_images) for i in g.images],
        }
    return d


def question_from_dict(d: dict[str, Any]) -> Question:
    g = d.get("group")
    group = None
    if g:
        group = Group(
            key=g["key"],
            type=QuestionType(g["type"]),
            stem=g.get("stem", ""),
            options=tuple(Option(o["label"], o["text"]) for o in g.get("options", [])),
            images=tuple(_image_from_dict(i) for i in g.get("images", [])),
        )
    return Question(
        type=QuestionType(d["type"]),
        stem=d["stem"],
        options=tuple(Option(o["label"], o["text"]) for o in d.get("options", [])),
        key=tuple(d["key"]),
        points=float(d.get("points", 1.0)),
        category=d.get("category", ""),
        difficulty=d.get("difficulty"),
        explanation=d.get("explanation", ""),
        images=tuple(_image_from_dict(i) for i in d.get("images", [])),
        group=group,
        id=d.get("id"),
        source_ref=d.get("source_ref"),
        code=d.get("code") or "",
        enemies=tuple(d.get("enemies") or ()),
    )
