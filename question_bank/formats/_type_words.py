"""The words a spreadsheet may use for a question type, shared by both table layouts
(one question per row, and one option per row)."""

from __future__ import annotations

from ..model import QuestionType
from ..normalise import clean_text, normalise_label

GROUP_STEM = "共用题干"
GROUP_OPTIONS = "共用选项"

_TYPE_WORDS: dict[str, QuestionType | str] = {}
for _words, _t in (
    (("A1", "单选", "单选题", "单项选择题", "最佳选择题", "A1型", "A1型题"), QuestionType.A1),
    (("A2", "A2型", "A2型题", "病例摘要型最佳选择题"), QuestionType.A2),
    (("X", "X型", "X型题", "多选", "多选题", "多项选择题"), QuestionType.X),
    (("判断", "判断题", "是非题", "TF"), QuestionType.TF),
    (("A3", "A3型", "A3型题"), QuestionType.A3),
    (("A4", "A4型", "A4型题"), QuestionType.A4),
    (("B1", "B1型", "B1型题", "B型题", "配伍题"), QuestionType.B1),
    (("共用题干", "共用题干行"), GROUP_STEM),
    (("共用选项", "共用备选答案", "共用选项行"), GROUP_OPTIONS),
):
    for _w in _words:
        _TYPE_WORDS[_w] = _t


def parse_type(value: object) -> QuestionType | str | None:
    s = normalise_label(clean_text(value)).replace(" ", "")
    return _TYPE_WORDS.get(s)
