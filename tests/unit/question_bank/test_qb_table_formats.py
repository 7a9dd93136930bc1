"""XLSX/CSV template: round trips, the blank template, encodings and every validator message."""

from __future__ import annotations

import io

import openpyxl
import pytest

from question_bank import ImportFormatError, blank_template, read_file, read_file_strict, write_questions
from question_bank.formats._table import COLUMNS
from question_bank.formats.csv_template import read_csv, write_csv
from question_bank.formats.xlsx_template import example_questions, read_xlsx, write_xlsx


def _strip(qs):
    return [(q.type, q.stem, q.options, q.key, float(q.points), q.category, q.difficulty, q.explanation, q.group)
            for q in qs]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_keeps_every_question(fmt, mixed_questions):
    data = write_questions(mixed_questions, format=fmt)
    result = read_file(data)
    assert result.format == fmt
    assert result.ok, result.problems
    assert _strip(result.questions) == _strip(mixed_questions)
    assert [q.fingerprint for q in result.questions] == [q.fingerprint for q in mixed_questions]
    again = read_file(write_questions(result.questions, format=fmt))
    assert _strip(again.questions) == _strip(mixed_questions)


def test_blank_template_has_instructions_examples_and_imports_nothing():
    data = blank_template()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["试题", "填写说明", "示例"]
    assert [c.value for c in wb["试题"][1]] == list(COLUMNS)
    text = " ".join(str(c.value) for row in wb["填写说明"].iter_rows() for c in row)
    assert "共用题干" in text and "共用选项" in text and "共用题干组号" in text
    result = read_xlsx(data)
    assert result.ok and result.questions == []
    # The example sheet, saved on its own, imports cleanly and shows every type.
    examples = read_xlsx(write_xlsx(example_questions()))
    assert examples.ok and {q.type.value for q in examples.questions} == {"A1", "X", "TF", "A3", "B1"}


def _csv(*rows: str, encoding="utf-8", bom=False) -> bytes:
    text = "\r\n".join(("题型,题干,选项A,选项B,选项C,选项D,答案,分值,分类,难度,解析,共用题干组号",) + rows) + "\r\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("gb18030", False)])
def test_csv_encodings(encoding, bom):
    data = _csv("单选,医师节是每年的,8月19日,5月12日,3月1日,9月10日,A,2,医学人文/法律法规,易,,", encoding=encoding, bom=bom)
    r = read_csv(data)
    assert r.ok, r.problems
    q = r.questions[0]
    assert q.stem == "医师节是每年的" and q.key == ("A",) and q.difficulty == 1 and q.points == 2


def test_word_and_excel_artefacts_are_normalised():
    data = _csv("Ａ１,\u00a0 下列说法正确的是\u3000 ,Ａ、甲,B．乙,（C）丙,d.丁,ｂ,,临床 ／ 内科,3,,",
                "多选,下列属于甲类传染病的是,A.鼠疫,B.霍乱,C.艾滋病,D.麻疹,\"Ａ，ｂ\",,,,,",
                "判断,\"甲类传染病包括鼠疫\r\n和霍乱。\",,,,,√,,,,,")
    r = read_csv(data)
    assert r.ok, r.problems
    a1, x, tf = r.questions
    assert a1.stem == "下列说法正确的是" and [o.text for o in a1.options] == ["甲", "乙", "丙", "丁"]
    assert a1.key == ("B",) and a1.category == "临床/内科"
    assert x.key == ("A", "B")
    assert tf.key == ("T",) and tf.stem == "甲类传染病包括鼠疫\n和霍乱。"


BROKEN = [
    ("单选,题干,甲,乙,,,E,,,,,", "第 2 行：答案 \"E\" 不在选项中"),
    ("单选,题干,甲,乙,,,,,,,,", "第 2 行：答案为空"),
    ("单选,题干,甲,乙,,,AB,,,,,", "第 2 行：A1 型题只能有一个正确答案"),
    ("多选,题干,甲,乙,丙,,A,,,,,", "第 2 行：X 型题（多选）至少应有两个正确答案"),
    ("单选,,甲,乙,,,A,,,,,", "第 2 行：题干为空"),
    ("单选,题干,甲,,,,A,,,,,", "第 2 行：选项不足"),
    ("单选,题干,甲,,丙,,A,,,,,", "第 2 行：选项B为空，但后面的选项C有内容"),
    ("单选,题干,甲,甲,,,A,,,,,", "第 2 行：选项B与选项A内容重复"),
    ("填空,题干,甲,乙,,,A,,,,,", "第 2 行：题型 \"填空\" 无法识别"),
    (",题干,甲,乙,,,A,,,,,", "第 2 行：题型为空"),
    ("单选,题干,甲,乙,,,A,零,,,,", "第 2 行：分值 \"零\" 不是大于 0 的数字"),
    ("单选,题干,甲,乙,,,A,,,很难,,", "第 2 行：难度 \"很难\" 无法识别"),
    ("单选,题干,甲,乙,,,A?,,,,,", "第 2 行：答案 \"A?\" 无法识别"),
    ("判断,题干,,,,,也许,,,,,", "第 2 行：判断题答案 \"也许\" 无法识别"),
    ("判断,题干,甲,,,,对,,,,,", "第 2 行：判断题不应填写选项"),
    ("单选,题干,甲,乙,,,A,,,,,G1", "第 2 行：A1 型题不属于共用题干组"),
    ("A3,题干,甲,乙,,,A,,,,,", "第 2 行：A3 型题必须填写共用题干组号"),
    ("A3,题干,甲,乙,,,A,,,,,G9", "第 2 行：共用题干组号 \"G9\" 没有对应的共用题干/共用选项行"),
    ("共用题干,,,,,,,,,,,G1", "第 2 行：共用题干行的题干（病例摘要）为空"),
    ("共用题干,病例,,,,,A,,,,,G1", "第 2 行：共用题干行不填答案"),
    ("共用选项,,甲,,,,,,,,,G1", "第 2 行：共用选项行至少需要 2 个选项"),
    ("共用题干,病例,,,,,,,,,,", "第 2 行：共用题干行必须填写共用题干组号"),
    ("共用题干,病例,,,,,,,,,,G1", "第 2 行：组 \"G1\" 没有任何小题"),
]


@pytest.mark.parametrize("row,message", BROKEN)
def test_every_validator_message_names_row_and_field(row, message):
    r = read_csv(_csv(row))
    assert not r.ok
    assert any(p.message_zh.startswith(message) for p in r.problems), [p.message_zh for p in r.problems]
    assert all(p.line_or_row == 2 for p in r.problems)
    with pytest.raises(ImportFormatError) as exc:
        read_file_strict(_csv(row))
    assert exc.value.problems


def test_group_errors():
    r = read_csv(_csv("共用题干,病例,,,,,,,,,,G1", "A3,问1,甲,乙,,,A,,,,,G1", "A4,问2,甲,乙,,,A,,,,,G1",
                      "共用题干,病例2,,,,,,,,,,G1"))
    msgs = [p.message_zh for p in r.problems]
    assert any("同一组（G1）的小题题型应一致" in m for m in msgs)
    assert any("共用题干组号 \"G1\" 已在第 2 行使用" in m for m in msgs)
    r = read_csv(_csv("共用题干,病例,,,,,,,,,,G1", "A3,问1,甲,乙,,,A,,,,,G1"))
    assert any("至少需要 2 道小题" in p.message_zh for p in r.problems)
    r = read_csv(_csv("共用题干,病例,,,,,,,,,,G1", "B1,问1,,,,,A,,,,,G1", "B1,问2,,,,,A,,,,,G1"))
    assert any("B1 型题的共用行题型应为“共用选项”" in p.message_zh for p in r.problems)
    r = read_csv(_csv("共用选项,,甲,乙,丙,,,,,,,G1", "B1,问1,甲,乙,,,A,,,,,G1", "B1,问2,,,,,B,,,,,G1"))
    assert any(p.line_or_row == 3 and "B1 型题的选项应写在共用选项行" in p.message_zh for p in r.problems)


def test_all_problems_reported_and_nothing_imported():
    r = read_csv(_csv("单选,题干,甲,乙,,,A,,,,,", "单选,题干2,甲,乙,,,Z,,,,,", "单选,,甲,乙,,,A,,,,,"))
    assert [p.line_or_row for p in r.problems] == [3, 4]
    with pytest.raises(ImportFormatError) as exc:
        r.raise_for_problems()
    assert len(exc.value.problems) == 2


def test_header_problems():
    r = read_csv("题目,内容\n1,2\n".encode())
    assert not r.ok and "找不到表头行" in r.problems[0].message_zh
    r = read_csv("题型,题干,选项A\n单选,x,y\n".encode())
    assert "表头缺少必填列 答案" in r.problems[0].message_zh


def test_title_rows_and_empty_rows_are_skipped():
    data = ("试题导入,,\n\n" + "题型,题干,选项A,选项B,答案\n,,,,\n单选,问,甲,乙,B\n").encode()
    r = read_csv(data)
    assert r.ok and r.questions[0].source_ref == "第 5 行"


def test_preview_counts_duplicates_and_existing(mixed_questions):
    data = write_csv(mixed_questions + mixed_questions[:1])
    r = read_csv(data)
    p = r.preview(limit=3, existing_fingerprints={mixed_questions[1].fingerprint})
    assert p.total == len(mixed_questions) + 1
    assert p.by_type["判断题"] == 2 and p.by_category["临床/内科"] == 5
    assert len(p.duplicates_in_file) == 1 and len(p.duplicates_in_file[0].source_refs) == 2
    assert p.already_in_bank == 1 and len(p.first) == 3
    assert p.to_dict()["ok"] is True
    assert len(r.new_questions({mixed_questions[1].fingerprint})) == len(mixed_questions) - 1


def test_fingerprint_ignores_option_order_and_metadata(mixed_questions):
    from dataclasses import replace

    from question_bank import Option

    q = mixed_questions[0]
    shuffled = replace(q, options=tuple(Option("ABCDE"[i], o.text) for i, o in enumerate(reversed(q.options))),
                       key=("C",), points=5, category="x", explanation="")
    assert shuffled.fingerprint == q.fingerprint
    assert replace(q, key=("A",)).fingerprint != q.fingerprint
