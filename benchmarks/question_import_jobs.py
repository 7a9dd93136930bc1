"""Large question files through the background job path: time and peak memory.

Run: .venv/bin/python benchmarks/question_import_jobs.py [--database-url URL] [--gift-mb 49] [--xlsx-rows 100000]

Writes a GIFT file of about 49 MB and a 100,000-question XLSX template, then for each file runs,
in a fresh child process (so its peak RSS is the import's own), exactly what the page's import
job does: store the upload, read it through (preview), and store it (import), on SQLite by
default (a temporary file database built from the migrations) with in-process live state.
The last line is JSON:
{"gift": {"mb": ..., "questions": ..., "preview_s": ..., "import_s": ..., "peak_rss_mb": ..., "cpu_s": ...},
 "xlsx": {...}}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CATS = ["医学人文/法律法规", "临床/内科", "临床/外科", "口腔"]


def write_gift(path: Path, megabytes: float) -> int:
    n, size, limit = 0, 0, int(megabytes * 1024 * 1024)
    with path.open("w", encoding="utf-8") as out:
        while size < limit:
            s = f"$CATEGORY: $course$/top/{CATS[(n // 500) % len(CATS)]}\n\n" if n % 500 == 0 else ""
            if n % 10 == 9:
                s += f"::Q{n}::第 {n} 题：医师定期考核每三年为一个周期，这一说法是否正确？{{TRUE####依据医师法第四十二条。}}\n\n"
            elif n % 5 == 4:
                s += (f"::Q{n}::第 {n} 题：医师定期考核的内容包括哪些？{{\n\t~%33.33333%业务水平{n}\n\t~%33.33333%工作成绩{n}\n"
                      f"\t~%33.33333%职业道德{n}\n\t~%-100%论文数量{n}\n\t~%-100%学历层次{n}\n}}\n\n")
            else:
                s += (f"::Q{n}::第 {n} 题：男，60 岁。胸痛 2 小时，心电图 ST 段抬高，最可能的诊断是{{\n\t=急性心肌梗死{n}\n"
                      f"\t~胃炎{n}\n\t~气胸{n}\n\t~肋软骨炎{n}\n\t~带状疱疹{n}\n####解析：典型表现。\n}}\n\n")
            out.write(s)
            size += len(s.encode("utf-8"))
            n += 1
    return n


def write_xlsx(path: Path, rows: int) -> int:
    import openpyxl

    from question_bank.formats._table import COLUMNS

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("试题")
    ws.append(list(COLUMNS))
    for i in range(rows):
        cat = CATS[(i // 3) % len(CATS)]
        if i % 10 == 9:
            ws.append(["判断", f"第 {i} 题的判断题干，陈述是否正确。", *[None] * 8, "对" if i % 3 else "错", 1, cat, 3, "解析", None])
        elif i % 5 == 4:
            ws.append(["多选", f"第 {i} 题的多选题干，下列哪些正确", *[f"选项{c}{i}" for c in "ABCDE"], None, None, None,
                       "ACD", 2, cat, 2, "解析", None])
        else:
            ws.append(["A1", f"第 {i} 题的单选题干，最可能的是", *[f"选项{c}{i}" for c in "ABCDE"], None, None, None,
                       "ABCDE"[i % 5], 1, cat, 3, "解析", None])
    wb.save(path)
    return rows


async def _one(file: Path, database_url: str, storage_dir: Path, bank: str) -> dict[str, object]:
    from exam_server.banks import import_jobs
    from exam_server.infra.livestate import make_live_state
    from exam_server.infra.storage import LocalFileStorage
    from registry.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    sm = make_sessionmaker(engine)
    live = make_live_state(None)
    storage = LocalFileStorage(storage_dir)
    try:
        job_id = await import_jobs.create_job(sm, storage, data=file.read_bytes(), filename=file.name, bank_name=bank,
                                              actor_id=None)
        t0 = time.perf_counter()
        view = await import_jobs.run_preview(sm, storage, live, job_id)
        t1 = time.perf_counter()
        assert view.state == "previewed" and view.problem_count == 0, (view.state, view.message, view.problem_count)
        await import_jobs.start_import(sm, live, job_id, skip_unsupported=False)
        view = await import_jobs.run_import(sm, storage, live, job_id)
        t2 = time.perf_counter()
        assert view.state == "done", view.message
        return {"mb": round(file.stat().st_size / 1024 / 1024, 1), "questions": view.outcome["created"],
                "preview_s": round(t1 - t0, 1), "import_s": round(t2 - t1, 1)}
    finally:
        await live.close()
        await engine.dispose()


def child(args: argparse.Namespace) -> None:
    result = asyncio.run(_one(Path(args.child), args.database_url, Path(args.storage), args.bank))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    # CPU seconds of the whole child (file writing excluded): the figure that does not depend on
    # how many other processes share the machine.
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default=None, help="default: a temporary SQLite file built from the migrations")
    ap.add_argument("--gift-mb", type=float, default=49)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--storage", help=argparse.SUPPRESS)
    ap.add_argument("--bank", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        url = args.database_url
        if url is None:
            from exam_server.infra.migrate import upgrade

            url = f"sqlite+aiosqlite:///{d / 'bench.sqlite3'}"
            asyncio.run(upgrade(url))
        gift, xlsx = d / "big.gift", d / "big.xlsx"
        t = time.perf_counter()
        n_gift = write_gift(gift, args.gift_mb)
        n_xlsx = write_xlsx(xlsx, args.xlsx_rows)
        print(f"files written in {time.perf_counter() - t:.0f} s: GIFT {gift.stat().st_size / 1e6:.1f} MB "
              f"({n_gift} questions), XLSX {xlsx.stat().st_size / 1e6:.1f} MB ({n_xlsx} rows)", file=sys.stderr)
        out: dict[str, object] = {}
        for name, path in (("gift", gift), ("xlsx", xlsx)):
            r = subprocess.run([sys.executable, __file__, "--child", str(path), "--database-url", url,
                                "--storage", str(d / "storage"), "--bank", f"基准-{name}"],
                               capture_output=True, text=True, check=False)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                raise SystemExit(f"{name} import failed")
            out[name] = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{name}: {out[name]}", file=sys.stderr)
        print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
