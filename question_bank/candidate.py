"""What the browser may see of a drawn paper: no keys, no explanations, no fingerprints.

The key never leaves the server before submission; :func:`candidate_view` builds the JSON-able
dict sent to the candidate from display data only (stem, shown options, points)."""

from __future__ import annotations

from typing import Any

from .drawing import DrawnPaper
from .model import Image, QuestionType

__all__ = ["candidate_view"]


def _images(images: tuple[Image, ...], prefix: str) -> list[dict[str, Any]]:
    # Embedded bytes are served by the web layer under an id it chooses; we give a stable slot.
    return [{"slot": f"{prefix}-{i}", "mime": img.mime, "ref": img.ref if img.data is None else None}
            for i, img in enumerate(images)]


def candidate_view(paper: DrawnPaper) -> dict[str, Any]:
    sections = []
    for si, s in enumerate(paper.sections):
        sections.append({"index": si, "title": s.title, "type": s.type.value, "type_label": s.type.label_zh,
                         "count": s.count, "points_each": s.points_each})
    groups = [
        {"index": g.index, "type": g.type.value, "stem": g.stem,
         "options": [{"label": o.label, "text": o.text} for o in g.options],
         "images": _images(g.images, f"g{g.index}"), "items": list(g.item_numbers)}
        for g in paper.groups
    ]
    items = [
        {"number": it.number, "section": it.section_index, "type": it.question.type.value,
         "multiple": it.question.type is QuestionType.X, "stem": it.question.stem,
         "options": [] if it.question.type is QuestionType.B1 else [{"label": o.label, "text": o.text} for o in it.options],
         "images": _images(it.question.images, f"q{it.number}"),
         "points": it.points, "group": it.group_index}
        for it in paper.items
    ]
    return {"title": paper.title, "time_limit_minutes": paper.time_limit_minutes,
            "total_points": paper.total_points, "pass_mark": paper.pass_mark,
            "sections": sections, "groups": groups, "items": items}
