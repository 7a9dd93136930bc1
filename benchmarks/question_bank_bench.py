"""question_bank benchmarks: XLSX import of 100,000 questions; drawing from a 50,000 pool.

Run: .venv/bin/python benchmarks/question_bank_bench.py
Targets: import < 60 s; draw (100 questions) < 10 ms median over 200 draws.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl  # noqa: E402

from question_bank import (  # noqa: E402
    Blueprint, Option, PaperKind, Pool, Question, QuestionType, Section, TF_OPTIONS, draw_paper, read_file,
)
from question_bank.formats._table import COLUMNS  # noqa: E402

CATS = ["医学人文/法律法规", "医学人文/医学伦理", "临床/内科", "临床/外科", "口腔"]


def write_big_xlsx(path: Path, n: int) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("试题")
    ws.append(list(COLUMNS))
    for i in range(n):
        cat = CATS[(i // 3) % len(CATS)]
        if i % 10 == 9:
            ws.append(["判断", f"第 {i} 题的判断题干，陈述是否正确。", *[None] * 8, "对" if i % 3 else "错", 1, cat, 3,
                       "解析", None])
        elif i % 5 == 4:
            ws.append(["多选", f"第 {i} 题的多选题干，下列哪些正确", *[f"选项{c}{i}" for c in "ABCDE"], None, None, None,
                       "ACD", 2, cat, 2, "解析", None])
        else:
            ws.append(["A1", f"第 {i} 题的单选题干，最可能的是", *[f"选项{c}{i}" for c in "ABCDE"], None, None, None,
                       "ABCDE"[i % 5], 1, cat, 3, "解析", None])
    wb.save(path)


def make_pool(n: int) -> list[Question]:
    qs = []
    for i in range(n):
        cat = CATS[(i // 3) % len(CATS)]
        if i % 10 == 9:
            qs.append(Question(QuestionType.TF, f"判断 {i}", TF_OPTIONS, ("T",), category=cat))
        elif i % 5 == 4:
            qs.append(Question(QuestionType.X, f"多选 {i}", tuple(Option(c, f"{c}{i}") for c in "ABCDE"), ("A", "C"),
                               category=cat))
        else:
            qs.append(Question(QuestionType.A1, f"单选 {i}", tuple(Option(c, f"{c}{i}") for c in "ABCDE"), ("B",),
                               category=cat))
    return qs


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.xlsx"
        t0 = time.perf_counter()
        write_big_xlsx(path, 100_000)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = read_file(path)
        t_imp = time.perf_counter() - t0
        assert result.ok and len(result.questions) == 100_000, result.problems[:3]
    print(f"generate 100,000-question XLSX: {t_gen:.1f} s ({path.name})")
    print(f"import 100,000-question XLSX: {t_imp:.1f} s (target < 60 s)")

    t0 = time.perf_counter()
    pool = Pool(make_pool(50_000))
    t_pool = time.perf_counter() - t0
    bp = Blueprint("业务水平测评", PaperKind.PROFESSIONAL, (
        Section("A1 内科", QuestionType.A1, "临床/内科", 40, 1), Section("A1 外科", QuestionType.A1, "临床/外科", 30, 1),
        Section("多选", QuestionType.X, "临床", 20, 1), Section("判断", QuestionType.TF, "临床", 10, 1)),
        90, 60, partial_credit=True)
    seen = draw_paper(pool, bp, seed="warm").question_refs()
    times = []
    for i in range(200):
        t0 = time.perf_counter()
        paper = draw_paper(pool, bp, seed=f"attempt-{i}", seen=seen)
        times.append((time.perf_counter() - t0) * 1000)
    assert len(paper.items) == 100
    print(f"build Pool of 50,000 questions (once): {t_pool * 1000:.0f} ms")
    print(f"draw 100-question paper from 50,000 pool: median {statistics.median(times):.2f} ms, "
          f"p95 {sorted(times)[189]:.2f} ms over 200 draws (target < 10 ms median)")


if __name__ == "__main__":
    main()
