"""The one-row-per-option layout (题目序号 / 题目类型 / 是否正确项), in CSV and XLSX: questions read
right, every problem named by row and field in Chinese, and thousands of damaged sheets never let
an exception out."""

from __future__ import annotations

import io
import random

import openpyxl
import pytest

from question_bank import ImportFormatError, QuestionType, read_file

HEADER = ["题目序号", "题目类型", "题目内容", "整体解析", "题目图片", "是否正确项", "选项内容", "选项解析"]
ROWS = [
    ["1", "1", "高血压的诊断标准是", "", "", "0", "A. 130/80 mmHg", ""],
    ["1", "", "", "", "", "1", "B. 140/90 mmHg", "对"],
    ["2", "3", "阿司匹林属于非甾体抗炎药", "", "", "1", "正确", ""],
    ["2", "", "", "", "", "0", "错误", ""],
    ["3", "2", "属于医师义务的有", "见执业医师法", "", "1", "如实记载病历", ""],
    ["3", "", "", "", "", "0", "拒绝急救", ""],
    ["3", "", "", "", "", "1", "保护患者隐私", ""],
    ["4", "单选题", "类型写成文字也可以", "", "", "是", "甲", ""],
    ["4", "", "", "", "", "否", "乙", ""],
]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    import csv

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["试题数据"])
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "试题"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("make", [_csv, _xlsx])
def test_questions_are_read_in_order_with_their_keys(make) -> None:  # type: ignore[no-untyped-def]
    r = read_file(make(ROWS), filename="题库.csv" if make is _csv else "题库.xlsx")
    assert r.problems == []
    assert [q.type for q in r.questions] == [QuestionType.A1, QuestionType.TF, QuestionType.X, QuestionType.A1]
    a1, tf, x, words = r.questions
    assert [o.text for o in a1.options] == ["130/80 mmHg", "140/90 mmHg"] and a1.key == ("B",)
    assert tf.key == ("T",)
    assert x.key == ("A", "C") and x.explanation == "见执业医师法"
    assert words.key == ("A",)
    assert a1.source_ref.startswith("第 ")


def test_xlsx_numbers_typed_as_numbers() -> None:
    rows = [[1, 1, "数字单元格", None, None, 0, "甲", None], [1, None, None, None, None, 1.0, "乙", None]]
    r = read_file(_xlsx(rows), filename="a.xlsx")
    assert r.problems == [] and r.questions[0].key == ("B",)


def test_each_problem_is_named_by_row_and_field() -> None:
    rows = [
        ["1", "4", "简述医患沟通的要点", "", "", "", "", ""],           # subjective
        ["2", "1", "没有正确项", "", "", "0", "甲", ""],
        ["2", "", "", "", "", "0", "乙", ""],
        ["3", "1", "标记无法识别", "", "", "也许", "甲", ""],
        ["4", "3", "判断题写了两个正确", "", "", "1", "正确", ""],
        ["4", "", "", "", "", "1", "错误", ""],
        ["5", "1", "带图片", "", "http://x/1.png", "1", "甲", ""],
        ["5", "", "", "", "", "0", "乙", ""],
        ["6", "9", "类型未知", "", "", "1", "甲", ""],
        ["7", "1", "", "", "", "1", "甲", ""],
        ["8", "1", "正常的题", "", "", "1", "甲", ""],
        ["8", "", "", "", "", "0", "乙", ""],
        ["2", "", "", "", "", "1", "丙", ""],                            # 2 again, apart from its rows
    ]
    r = read_file(_csv(rows), filename="a.csv")
    assert [q.stem for q in r.questions] == ["正常的题"]
    found = {(p.line_or_row, p.field): p.message_zh for p in r.problems}
    assert "主观题" in found[(3, "题目类型")]
    assert "没有标记正确项" in found[(4, "是否正确项")]
    assert "也许" in found[(6, "是否正确项")]
    assert "判断题应有且只有一个正确项" in found[(7, "是否正确项")]
    assert "图片" in found[(9, "题目图片")]
    assert "无法识别" in found[(11, "题目类型")]
    assert "题目内容为空" in found[(12, "题目内容")]
    assert "已在第 4 行用过" in found[(15, "题目序号")]
    assert all(p.message_zh.startswith("第 ") for p in r.problems)


def test_a_header_missing_a_column_is_refused_whole() -> None:
    header = [c for c in HEADER if c != "选项内容"]
    r = read_file(_csv([["1", "1", "题", "", "", "1"]], header=header), filename="a.csv")
    assert r.questions == [] and r.problems[0].whole_file and "选项内容" in r.problems[0].message_zh


def _damage(rng: random.Random, rows: list[list[str]]) -> list[list[str]]:
    rows = [list(r) for r in rows]
    pool = ["", "1", "2", "3", "4", "0", "是", "否", "x", "正确", "错误", "单选题", "共用题干", "B1", "说明行",
            "1.0", "９", "\x07\x1f", "A." * 50, "题" * 3000, "=1+1", "-1", "  ", "\n", "1,2", "None"]
    for _ in range(rng.randrange(1, 12)):
        kind = rng.randrange(6)
        if kind == 0 and rows:
            row = rows[rng.randrange(len(rows))]
            if row:
                row[rng.randrange(len(row))] = rng.choice(pool)
        elif kind == 1 and rows:
            del rows[rng.randrange(len(rows))]
        elif kind == 2 and rows:
            rows.insert(rng.randrange(len(rows) + 1), list(rng.choice(rows)))
        elif kind == 3 and rows:
            i = rng.randrange(len(rows))
            rows[i] = rows[i][: rng.randrange(len(rows[i]) + 1)]
        elif kind == 4:
            rows.append([rng.choice(pool) for _ in range(rng.randrange(12))])
        else:
            rows.extend([["99", "", "", "", "", "1", f"选项{k}", ""] for k in range(rng.randrange(60))])
    return rows


def test_thousands_of_damaged_sheets_never_raise() -> None:
    """Fuzz: 3,000 damaged option-row sheets (cells replaced, rows dropped, duplicated, cut short,
    appended, a question with 60 options), as CSV and some as XLSX: a result every time, each
    problem a Chinese message naming its row; no exception gets out."""
    rng = random.Random(20)
    for n in range(3000):
        rows = _damage(rng, ROWS)
        # openpyxl refuses control characters in cells, so the XLSX sheets go without them.
        data = _xlsx([[c.replace("\x07\x1f", "") for c in r] for r in rows]) if n % 10 == 0 else _csv(rows)
        try:
            r = read_file(data, filename="f.xlsx" if n % 10 == 0 else "f.csv")
        except ImportFormatError:
            continue
        for p in r.problems:
            assert p.message_zh and any("\u4e00" <= ch <= "\u9fff" for ch in p.message_zh), p
        for q in r.questions:
            assert q.key and q.stem
