from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import RESULT_COLUMNS, Column, bar_chart, histogram, line_chart, write_xlsx
from reports.textwrap_zh import wrap

SVG = "{http://www.w3.org/2000/svg}"


def test_charts_are_well_formed_svg_with_escaped_labels():
    hostile = "<script>alert(1)</script>&\"'"
    for svg in (
        bar_chart([(hostile, 3), ("乙医院", 0.5)], title=hostile, percent=True),
        bar_chart([], title="空"),
        histogram([("0-10", 0), ("10-20", 4)], title="成绩分布"),
        line_chart(["3-1", "3-2", "3-3"], {"已提交": [1, 2, 5], hostile: [0, 0, 1]}, title="进度"),
        line_chart([], {}, title="无数据"),
    ):
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg" and "<script>" not in svg
    assert "暂无数据" in bar_chart([], title="空")
    assert "50.0%" in bar_chart([("甲", 0.5)], title="合格率", percent=True, max_value=1)


def test_xlsx_export_has_chinese_headers_and_neutralises_formulas():
    rows = [{c.key: f"值{i}" for c in RESULT_COLUMNS} for i in range(3)]
    rows[0]["name"] = "=HYPERLINK(\"http://evil\",\"点我\")"
    rows[1]["name"] = "控制\x00字符\x1f"
    rows[2]["published"] = True
    out = io.BytesIO()
    assert write_xlsx(out, [("考核结果", RESULT_COLUMNS, rows)]) == 3
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["考核结果"]
    values = list(ws.values)
    assert values[0] == tuple(c.header for c in RESULT_COLUMNS)
    assert values[1][0].startswith("'=")
    assert values[2][0] == "控制字符"
    assert values[3][RESULT_COLUMNS.index(next(c for c in RESULT_COLUMNS if c.key == "published"))] == "是"


def test_xlsx_columns_can_compute_values_and_sheets_stream_generators():
    cols = (Column("序号", lambda r: r + 1), Column("平方", lambda r: r * r))
    out = io.BytesIO()
    assert write_xlsx(out, [("数字", cols, (i for i in range(1000)))]) == 1000
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True)["数字"]
    assert list(ws.iter_rows(min_row=1001, values_only=True)) == [(1000, 998001)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_text_exports(values):
    out = io.BytesIO()
    write_xlsx(out, [("x", (Column("值", lambda r: r),), values)])
    got = [r[0] for r in openpyxl.load_workbook(io.BytesIO(out.getvalue()))["x"].iter_rows(min_row=2, values_only=True)]
    assert len(got) == len(values)


def test_chinese_wrap_keeps_punctuation_off_line_starts():
    lines = wrap("兹证明该医师参加考核，经考核合格，特发此证。", 10, lambda s: len(s))
    assert all(line and line[0] not in "，。" for line in lines)
    assert "".join(lines) == "兹证明该医师参加考核，经考核合格，特发此证。"
    assert wrap("（括号）在行尾", 3, len)[0][-1] != "（"


def _font_sizes(svg: str) -> list[float]:
    return [float(e.get("font-size")) for e in ET.fromstring(svg).iter(f"{SVG}text")]


def test_charts_are_drawn_phone_wide_with_no_label_below_12px():
    """Drawn 320 units wide, a chart is never scaled down in a phone's ~330 px box (app.css keeps
    desktop columns at least that wide), so each label paints at least at its font size."""
    from reports.charts import MIN_FONT, WIDTH

    assert WIDTH <= 330
    for svg in (
        bar_chart([("滨海市第一人民医院附属口腔医院", 0.75), ("乙", 0.5)], title="各机构合格率", percent=True, max_value=1),
        bar_chart([], title="空"),
        histogram([(f"{a}-{a + 10}", a % 7) for a in range(0, 100, 10)], title="成绩分布"),
        line_chart([f"12-{d:02d}" for d in range(1, 15)], {"已提交": list(range(14)), "已复核": [0] * 13 + [5],
                                                          "已公布": [0] * 14}, title="考核周期进度"),
        line_chart([], {}, title="无数据"),
    ):
        root = ET.fromstring(svg)
        assert root.get("viewBox").split()[2] == str(WIDTH)
        sizes = _font_sizes(svg)
        assert sizes and min(sizes) >= MIN_FONT, sizes


def test_histogram_labels_the_bin_bounds_and_the_value_axis():
    svg = histogram([(f"{a}-{a + 10}", 7) for a in range(0, 100, 10)], title="成绩分布")
    texts = [e.text for e in ET.fromstring(svg).iter(f"{SVG}text")]
    assert {"0", "4", "8", "50", "100", "分数", "人数"} <= set(texts), texts  # value axis 0-4-8, bin bounds
    assert texts.count("7") == 10  # each column's count


def test_line_chart_has_a_value_axis_with_the_top_and_the_days():
    svg = line_chart(["12-01", "12-02", "12-03"], {"已提交": [0, 2, 8]}, title="进度")
    texts = [e.text for e in ET.fromstring(svg).iter(f"{SVG}text")]
    assert {"0", "4", "8", "12-01", "12-02", "12-03", "已提交", "人数"} <= set(texts), texts
    assert len(list(ET.fromstring(svg).iter(f"{SVG}circle"))) == 3
