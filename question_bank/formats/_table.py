"""The Chinese spreadsheet template shared by the XLSX and CSV formats.

One question per row, columns (header row, Chinese)::

    题型 | 题干 | 选项A .. 选项H | 答案 | 分值 | 分类 | 难度 | 解析 | 共用题干组号 | 试题编号 | 互斥题

Groups: a *group row* has 题型 ``共用题干`` (A3/A4: 题干 holds the shared case) or ``共用选项``
(B1: 选项A.. hold the shared option list; 题干 may hold an instruction), a 共用题干组号 (any text,
e.g. ``G1``) and no 答案. Each sub-question is a normal row with 题型 A3/A4/B1 and the same
共用题干组号; A3/A4 sub-questions have their own options, B1 sub-questions leave the options
empty. Rows above the header (a title) are ignored; empty rows are skipped.

试题编号 (optional) is the question's code in its bank; 互斥题 (optional) lists the codes of
questions that must never share a paper with it (:mod:`question_bank.enemies`), in this file or
already in the bank. The reader checks each cell and that codes are unique in the file; what a
code names is resolved once the whole file is read (``EnemyLinks``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from ..enemies import code_problem, normalise_code, parse_enemy_codes
from ..errors import Problem
from ..model import OPTION_LABELS, TF_OPTIONS, Group, Option, Question, QuestionType
from ..normalise import (
    clean_text,
    normalise_category,
    normalise_label,
    parse_choice_key,
    parse_difficulty,
    parse_points,
    parse_true_false,
    strip_option_prefix,
)
from ..result import Event, ImportResult, collect, drain
from ..validate import question_problems
from ._option_rows import is_option_rows_header, iter_option_rows
from ._type_words import GROUP_OPTIONS, GROUP_STEM, parse_type

__all__ = ["COLUMNS", "read_rows", "iter_rows", "questions_to_rows", "GROUP_STEM", "GROUP_OPTIONS", "INSTRUCTIONS"]

OPTION_COLUMNS = tuple(f"选项{c}" for c in OPTION_LABELS)
COLUMNS: tuple[str, ...] = ("题型", "题干", *OPTION_COLUMNS, "答案", "分值", "分类", "难度", "解析", "共用题干组号",
                             "试题编号", "互斥题")
REQUIRED = ("题型", "题干", "答案")
INSTRUCTIONS: tuple[tuple[str, str], ...] = (
    ("题型", "必填。A1、A2（单选）、X（多选）、判断、A3、A4（共用题干的病例组）、B1（共用备选答案）；"
     "组的共用部分单独占一行，题型填“共用题干”或“共用选项”。"),
    ("题干", "必填。可换行（Alt+Enter）。"),
    ("选项A..选项H", "单选、多选、A3/A4 小题至少填 2 个选项，按顺序从 A 开始连续填写；可带或不带“A、”“A．”前缀。"
     "判断题和 B1 小题不填选项。"),
    ("答案", "必填。单选填一个字母，如 B；多选填两个以上字母，如 ACD 或 A,C,D（全角、小写均可）；"
     "判断题填 对/错（也可 正确/错误、√/×、T/F）。共用题干/共用选项行不填。"),
    ("分值", "可空，默认 1 分。"),
    ("分类", "可空。用 / 分隔层级，如 医学人文/法律法规、临床/内科。"),
    ("难度", "可空。1-5，或 易、较易、中、较难、难。"),
    ("解析", "可空。"),
    ("共用题干组号", "A3/A4/B1 必填，同一组的共用行与各小题填写相同的组号（如 G1）。其他题型不填。"),
    ("试题编号", "可空。本题在题库中的编号（如 RW-001），同一题库内不能重复；最多 32 个字符，不含空格和 、,; 等分隔符。"
     "需要填写互斥题时，被引用的试题必须有试题编号。"),
    ("互斥题", "可空。与本题互斥、不能出现在同一份试卷中的试题的试题编号，多个用“、”或逗号分隔（如 RW-002、RW-005），"
     "每题最多 50 个。可引用本文件中的试题，也可引用该题库中已有的试题；只需在一方填写。"
     "例如判断题“……为淡绿色。”直接说出了单选题“……为（ ）”的答案，两题应互斥。同组小题不能互斥。"),
    ("共用题干行", "题型填“共用题干”，题干填病例摘要，组号填本组组号；其后各 A3/A4 小题填同一组号，各自填写题干、选项、答案。"),
    ("共用选项行", "题型填“共用选项”，选项A..填共用的备选答案（通常 5 个），题干可填说明；其后各 B1 小题填同一组号，只填题干和答案。"),
    ("其他", "第一个工作表“试题”为导入内容；表头行之前可以有标题行。文件中任何一行有误都不会导入，"
     "系统会列出全部错误的行号和原因。"),
)


@dataclass
class _PendingGroup:
    row: int
    kind: str  # GROUP_STEM / GROUP_OPTIONS
    stem: str
    options: tuple[Option, ...]
    category: str
    members: list[tuple[int, dict]] = field(default_factory=list)


def _loc(row: int) -> str:
    return f"第 {row} 行"


def read_rows(rows: Iterable[tuple[int, Sequence[object]]], *, format_name: str) -> ImportResult:
    """Turn spreadsheet rows (``(row_number, cells)``) into an :class:`ImportResult`."""
    return collect(format_name, iter_rows(rows, format_name=format_name))


def iter_rows(rows: Iterable[tuple[int, Sequence[object]]], *, format_name: str) -> Iterator[Event]:
    """The questions and problems of spreadsheet rows, as they are read. Questions outside
    groups stream straight through; group members wait for the end of the sheet (a group's
    shared row may come after them)."""
    result = ImportResult(format=format_name)
    problems = result.problems
    it = iter(rows)
    header: dict[str, int] | None = None
    for row_no, cells in it:
        names = [clean_text(c).strip("*＊ ") for c in cells]
        if "题型" in names and "题干" in names and not is_option_rows_header(names):
            header = {}
            for i, n in enumerate(names):
                if n in COLUMNS:
                    if n in header:
                        problems.append(Problem(row_no, n, f"{_loc(row_no)}：表头中“{n}”列出现了两次", whole_file=True))
                    header[n] = i
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                problems.append(Problem(row_no, "表头", f"{_loc(row_no)}：表头缺少必填列 {'、'.join(missing)}", whole_file=True))
                yield from drain(result)
                return
            break
        if is_option_rows_header(names):
            # The other common Chinese layout, one row per option: its own reader takes the rest.
            yield from iter_option_rows(row_no, names, it, format_name=format_name)
            return
        if row_no >= 10:
            break
    if header is None:
        problems.append(Problem(None, "表头", "找不到表头行：前 10 行中没有同时包含“题型”和“题干”的行，请使用本系统的导入模板",
                                whole_file=True))
        yield from drain(result)
        return

    col = header
    i_type, i_stem, i_key = col["题型"], col["题干"], col["答案"]
    i_points, i_cat, i_diff, i_expl, i_group = (col.get(c) for c in ("分值", "分类", "难度", "解析", "共用题干组号"))
    i_code, i_enemies = col.get("试题编号"), col.get("互斥题")
    codes_at: dict[str, int] = {}  # code -> the row that used it first
    opt_cols = [(lab, col[f"选项{lab}"]) for lab in OPTION_LABELS if f"选项{lab}" in col]
    width = max(col.values()) + 1

    groups: dict[str, _PendingGroup] = {}
    order: list[tuple[str, str, int, dict]] = []  # group members: ("member", key, row, fields)

    for row_no, cells in it:
        if result.problems:
            yield from drain(result)
        if len(cells) < width:
            cells = tuple(cells) + (None,) * (width - len(cells))
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        row_problems: list[Problem] = []
        raw_type = cells[i_type]
        type_text = clean_text(raw_type)[:20]

        def bad(field_name: str, msg: str) -> None:
            row_problems.append(Problem(row_no, field_name, f"{_loc(row_no)}：{msg}", type_text))

        qtype = parse_type(raw_type)
        stem = clean_text(cells[i_stem])
        options: list[Option] = []
        gap = None
        for lab, ci in opt_cols:
            text = clean_text(cells[ci])
            if text:
                if gap is not None:
                    bad(f"选项{gap}", f"选项{gap}为空，但后面的选项{lab}有内容，选项须从 A 开始连续填写")
                    gap = None
                options.append(Option(lab, strip_option_prefix(text, lab)))
            elif gap is None and len(options) == ord(lab) - ord("A"):
                gap = lab
        key_cell = cells[i_key]
        category = normalise_category(cells[i_cat]) if i_cat is not None else ""
        group_no = clean_text(cells[i_group]) if i_group is not None else ""
        explanation = clean_text(cells[i_expl]) if i_expl is not None else ""
        code = normalise_code(cells[i_code]) if i_code is not None and cells[i_code] is not None else ""
        enemies_cell = cells[i_enemies] if i_enemies is not None else None
        enemies: tuple[str, ...] = ()

        if qtype is None:
            shown = clean_text(raw_type)
            bad("题型", f"题型 \"{shown}\" 无法识别" if shown else "题型为空")
            problems.extend(row_problems)
            continue

        if qtype in (GROUP_STEM, GROUP_OPTIONS):
            if not group_no:
                bad("共用题干组号", f"{qtype}行必须填写共用题干组号")
            elif group_no in groups:
                bad("共用题干组号", f"共用题干组号 \"{group_no}\" 已在第 {groups[group_no].row} 行使用")
            if clean_text(key_cell):
                bad("答案", f"{qtype}行不填答案（答案写在各小题行）")
            if qtype == GROUP_STEM and not stem:
                bad("题干", "共用题干行的题干（病例摘要）为空")
            if qtype == GROUP_OPTIONS and len(options) < 2:
                bad("选项", f"共用选项行至少需要 2 个选项，只有 {len(options)} 个")
            if code or clean_text(enemies_cell):
                bad("试题编号" if code else "互斥题", f"{qtype}行不填试题编号和互斥题（填写在各小题行）")
            if row_problems:
                problems.extend(row_problems)
                continue
            groups[group_no] = _PendingGroup(row_no, qtype, stem, tuple(options), category)
            continue

        assert isinstance(qtype, QuestionType)
        points = 1.0
        if i_points is not None and clean_text(cells[i_points]):
            p = parse_points(cells[i_points])
            if p is None:
                bad("分值", f"分值 \"{clean_text(cells[i_points])}\" 不是大于 0 的数字")
            else:
                points = p
        difficulty = None
        if i_diff is not None:
            difficulty, ok = parse_difficulty(cells[i_diff])
            if not ok:
                bad("难度", f"难度 \"{clean_text(cells[i_diff])}\" 无法识别（应为 1-5 或 易/较易/中/较难/难）")
        key: tuple[str, ...] = ()
        key_text = clean_text(key_cell)
        if not key_text:
            bad("答案", "答案为空")
        elif qtype is QuestionType.TF:
            tf = parse_true_false(key_text)
            if tf is None:
                # "A"/"B" is refused, not guessed: in a choice-style sheet it may mean either.
                bad("答案", f"判断题答案 \"{key_text}\" 无法识别，应填写 对 或 错（也可 正确/错误、√/×、T/F）")
            else:
                key = ("T" if tf else "F",)
            if options:
                bad("选项", "判断题不应填写选项")
            options = list(TF_OPTIONS)
        else:
            key, junk = parse_choice_key(key_text)
            if junk:
                bad("答案", f"答案 \"{key_text}\" 无法识别（应为选项字母，如 A 或 ACD）")
        if code:
            why = code_problem(code)
            if why:
                bad("试题编号", why)
            elif code in codes_at:
                bad("试题编号", f"试题编号“{code}”与第 {codes_at[code]} 行重复")
            else:
                codes_at[code] = row_no
        if enemies_cell is not None:
            enemies, enemy_problems = parse_enemy_codes(enemies_cell)
            for message in enemy_problems:
                bad("互斥题", message)
            if code and code in enemies:
                bad("互斥题", f"互斥题不能填写本题自己的试题编号“{code}”")
        fields = dict(type=qtype, stem=stem, options=tuple(options), key=key, points=points,
                      category=category, difficulty=difficulty, explanation=explanation, code=code, enemies=enemies)
        if qtype.is_group:
            if not group_no:
                bad("共用题干组号", f"{qtype.value} 型题必须填写共用题干组号")
            if row_problems:
                problems.extend(row_problems)
                continue
            order.append(("member", group_no, row_no, fields))
            continue
        if group_no:
            bad("共用题干组号", f"{qtype.value} 型题不属于共用题干组，共用题干组号应为空")
        if row_problems:
            problems.extend(row_problems)
            continue
        q = Question(**fields, source_ref=_loc(row_no))
        for fname, msg in question_problems(q):
            bad(fname, msg)
        if row_problems:
            problems.extend(row_problems)
            continue
        yield q

    # Assemble groups now that every shared row is known.
    built: dict[str, Group | None] = {}
    member_types: dict[str, tuple[QuestionType, int]] = {}
    counts: dict[str, int] = {}
    for _, gno, row_no, fields in order:
        counts[gno] = counts.get(gno, 0) + 1
    for item in order:
        yield from drain(result)
        _, gno, row_no, fields = item
        pg = groups.get(gno)
        qtype = fields["type"]
        if pg is None:
            problems.append(Problem(row_no, "共用题干组号", f"{_loc(row_no)}：共用题干组号 \"{gno}\" 没有对应的共用题干/共用选项行",
                                    qtype.value))
            continue
        first = member_types.setdefault(gno, (qtype, row_no))
        if first[0] is not qtype:
            problems.append(Problem(row_no, "题型", f"{_loc(row_no)}：同一组（{gno}）的小题题型应一致，第 {first[1]} 行是 {first[0].value}，本行是 {qtype.value}", qtype.value))
            continue
        if gno not in built:
            if qtype is QuestionType.B1 and pg.kind != GROUP_OPTIONS:
                problems.append(Problem(pg.row, "题型", f"{_loc(pg.row)}：B1 型题的共用行题型应为“共用选项”", pg.kind))
                built[gno] = None
            elif qtype is not QuestionType.B1 and pg.kind != GROUP_STEM:
                problems.append(Problem(pg.row, "题型", f"{_loc(pg.row)}：{qtype.value} 型题的共用行题型应为“共用题干”", pg.kind))
                built[gno] = None
            else:
                if counts[gno] < 2:
                    problems.append(Problem(pg.row, "共用题干组号", f"{_loc(pg.row)}：组 \"{gno}\" 至少需要 2 道小题，只有 {counts[gno]} 道",
                                            pg.kind))
                    built[gno] = None
                    continue
                built[gno] = Group(key=gno, type=qtype, stem=pg.stem,
                                   options=pg.options if qtype is QuestionType.B1 else ())
        group = built[gno]
        if group is None:
            continue
        if not fields["category"]:
            fields["category"] = pg.category
        q = Question(**fields, group=group, source_ref=_loc(row_no))
        errs = question_problems(q)
        if errs:
            problems.extend(Problem(row_no, f, f"{_loc(row_no)}：{m}", qtype.value) for f, m in errs)
            continue
        result.questions.append(q)
    for gno, pg in groups.items():
        if gno not in counts:
            problems.append(Problem(pg.row, "共用题干组号", f"{_loc(pg.row)}：组 \"{gno}\" 没有任何小题", pg.kind))
    yield from drain(result)


def _num(v: float) -> object:
    return int(v) if float(v).is_integer() else v


def questions_to_rows(questions: Iterable[Question]) -> Iterable[list[object]]:
    """Rows (header first) of the template for ``questions``; groups get their shared row."""
    yield list(COLUMNS)
    written_groups: set[str] = set()
    n_opts = len(OPTION_LABELS)
    auto = 0
    for q in questions:
        g = q.group
        gno = ""
        if g is not None:
            gno = g.key or f"G{id(g)}"
            if gno not in written_groups:
                written_groups.add(gno)
                auto += 1
                opts = [o.text for o in g.options] + [""] * (n_opts - len(g.options))
                kind = GROUP_OPTIONS if g.type is QuestionType.B1 else GROUP_STEM
                yield [kind, g.stem, *opts, "", "", q.category, "", "", gno, "", ""]
        if q.type is QuestionType.TF:
            opts = [""] * n_opts
            key = "对" if q.key == ("T",) else "错"
        else:
            opts = [o.text for o in q.options] + [""] * (n_opts - len(q.options))
            key = "".join(q.key)
        yield [q.type.value if q.type is not QuestionType.TF else "判断", q.stem, *opts, key,
               _num(q.points), q.category, q.difficulty if q.difficulty is not None else "",
               q.explanation, gno, q.code, "、".join(q.enemies)]

