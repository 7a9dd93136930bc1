"""Item enemies (互斥题) and the cueing check over the admin API, on both storage backends: the
template column, re-import and export, the question's enemies, paper checks and schedules, drawing,
the cueing check at import and on demand."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from sqlalchemy import func, select

from exam_server.banks import question_store
from exam_server.banks.models import BankQuestion, QuestionEnemy
from exam_server.web.keys import sessionmaker_key
from question_bank import Option, Question, QuestionType, TF_OPTIONS, draw_paper, read_file, write_questions
from question_bank.demo import demo_banks
from question_bank.enemies import enemy_pairs_among, pairs_by_code
from question_bank.formats._table import COLUMNS
from registry.models import AuditLog

from ..flows import upload
from ..helpers import statements_run
from .test_question_banks import admin, bank_id, import_file

COLOURS = ("淡绿色", "淡黄色", "淡红色", "白色")
JOBS = "/api/v1/admin/import-jobs"


def opts(*texts: str) -> tuple[Option, ...]:
    return tuple(Option("ABCDEFGH"[i], t) for i, t in enumerate(texts))


def family(n: int, subject: str, answer: str, wrong: str, *, prefix: str = "E", enemies: bool = True) -> list[Question]:
    """An A1 question and two statements about one subject (the statements name the A1 as enemy)."""
    stem = f"测试{n}：{subject}的印刷用纸颜色为"
    a = Question(QuestionType.A1, stem + "（　　）", opts(answer, wrong, "白色", "淡蓝色"), ("A",), category="测试/处方",
                 code=f"{prefix}{n}-A")
    t = Question(QuestionType.TF, f"{stem}{answer}。", TF_OPTIONS, ("T",), category="测试/处方", code=f"{prefix}{n}-T",
                 enemies=(f"{prefix}{n}-A",) if enemies else ())
    f = Question(QuestionType.TF, f"{stem}{wrong}。", TF_OPTIONS, ("F",), category="测试/处方", code=f"{prefix}{n}-F",
                 enemies=(f"{prefix}{n}-A", f"{prefix}{n}-T") if enemies else ())
    return [a, t, f]


def families(count: int, **kw) -> list[Question]:  # type: ignore[no-untyped-def]
    return [q for n in range(count) for q in family(n, f"第{n}类处方", "淡绿色", "淡黄色", **kw)]


async def stored_pairs(api, bank: int) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with api.app[sessionmaker_key]() as s:
        rows = (await s.execute(select(QuestionEnemy.question_id, QuestionEnemy.enemy_id, QuestionEnemy.bank_id))).all()
        codes = dict((await s.execute(select(BankQuestion.id, BankQuestion.code))).all())
    return {tuple(sorted((codes[a] or str(a), codes[b] or str(b)))) for a, b, k in rows if k == bank}  # type: ignore[misc]


async def question_ids(api, bank: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with api.app[sessionmaker_key]() as s:
        return dict((await s.execute(select(BankQuestion.code, BankQuestion.id).where(BankQuestion.bank_id == bank))).all())


def csv_rows(*rows: list[object]) -> bytes:
    width = len(COLUMNS)
    lines = [",".join(COLUMNS)] + [",".join(str(c) for c in (list(r) + [""] * (width - len(r)))) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def a1_row(stem: str, code: str = "", enemies: str = "") -> list[object]:
    return ["A1", stem, "甲", "乙", "丙", "", "", "", "", "", "A", 1, "测试", "", "", "", code, enemies]


async def test_template_enemies_are_stored_kept_on_reimport_and_export(client, make_client):
    api = await admin(make_client)
    data = write_questions(families(3), format="xlsx")
    status, preview = await import_file(api, data, "互斥.xlsx", "互斥题库", dry_run=True)
    assert status == 200 and preview["ok"] and preview["enemies_named"] == 9, preview
    status, body = await import_file(api, data, "互斥.xlsx", "互斥题库")
    assert status == 200 and body["created"] == 9 and body["enemies"] == 9, body
    bid = body["bank_id"]
    assert len(await stored_pairs(api, bid)) == 9

    # Re-import is a no-op; a file that adds pairs between questions already stored adds only those.
    status, body = await import_file(api, data, "互斥.xlsx", "互斥题库")
    assert (body["created"], body["enemies"]) == (0, 0)
    extra = csv_rows(a1_row("测试：新题", "NEW-1", "E0-A、E1-T"))  # names stored questions by code
    status, body = await import_file(api, extra, "新题.csv", "互斥题库")
    assert status == 200 and (body["created"], body["enemies"]) == (1, 2), body
    assert {("E0-A", "NEW-1"), ("E1-T", "NEW-1")} <= await stored_pairs(api, bid)

    # Export keeps codes and pairs (each once); the file builds the same bank elsewhere.
    async with api.session.get(f"{api.base}/api/v1/admin/question-banks/{bid}/export?format=xlsx") as r:
        assert r.status == 200
        exported = await r.read()
    back = read_file(exported)
    assert back.ok and {q.code for q in back.questions} == {q.code for q in families(3)} | {"NEW-1"}
    assert sum(len(q.enemies) for q in back.questions) == 11
    status, body = await import_file(api, exported, "副本.xlsx", "互斥题库副本")
    assert status == 200 and (body["created"], body["enemies"]) == (10, 11), body
    assert await stored_pairs(api, body["bank_id"]) == await stored_pairs(api, bid)

    # A question with enemies but no code gets one for the file (Q and its number).
    ids = await question_ids(api, bid)
    status, saved = await api.post(f"/api/v1/admin/questions/{ids['E2-F']}", {
        **(await editable(api, ids["E2-F"])), "code": ""})
    assert status == 200 and saved["code"] == ""
    async with api.session.get(f"{api.base}/api/v1/admin/question-banks/{bid}/export?format=csv") as r:
        back = read_file(await r.read())
    coded = {q.code: q for q in back.questions}
    assert f"Q{ids['E2-F']}" in coded and set(coded[f"Q{ids['E2-F']}"].enemies) == {"E2-A", "E2-T"}


async def editable(api, question_id: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    status, q = await api.get(f"/api/v1/admin/questions/{question_id}")
    assert status == 200, q
    return {"stem": q["stem"], "options": [o["text"] for o in q["options"]], "key": "".join(q["key"]) if q["type"] != "TF"
            else ("对" if q["key"] == ["T"] else "错"), "points": q["points"], "category": q["category"]}


async def test_hostile_enemy_input_is_refused_by_row_and_stores_nothing(client, make_client):
    api = await admin(make_client)
    status, body = await import_file(api, write_questions(families(1), format="csv"), "a.csv", "甲库")
    assert status == 200
    status, body = await import_file(api, csv_rows(a1_row("乙库的题", "ONLY-B")), "b.csv", "乙库")
    assert status == 200
    async with api.app[sessionmaker_key]() as s:
        before = await s.scalar(select(func.count()).select_from(BankQuestion))
        pairs_before = await s.scalar(select(func.count()).select_from(QuestionEnemy))

    cases = [
        (a1_row("一", "X1", "NOPE"), "“NOPE”在本文件和题库中都找不到"),
        (a1_row("二", "X2", "ONLY-B"), "“ONLY-B”在本文件和题库中都找不到"),  # a code of another bank
        (a1_row("三", "E0-A"), "已被题库中另一道试题使用"),  # the bank's code for another question
        (a1_row("四", "X4", "X4"), "本题自己"),
        (a1_row("五", "X5", "A\x00B"), "控制字符"),
        (a1_row("六", "X6", "、".join(f"Q{i}" for i in range(80))), "最多填写 50 个"),
        (a1_row("七", "X" * 40), "过长"),
    ]
    for row, words in cases:
        data = csv_rows(row)
        status, preview = await import_file(api, data, "坏.csv", "甲库", dry_run=True)
        assert status == 200 and not preview["ok"], (words, preview)
        messages = " ".join(p["message"] for p in preview["problems"])
        assert words in messages and "第 2 行" in messages and "\x00" not in messages, (words, messages)
        status, body = await import_file(api, data, "坏.csv", "甲库")
        assert status == 400 and body["error"]["code"] == "import_refused", (words, body)
    async with api.app[sessionmaker_key]() as s:
        assert await s.scalar(select(func.count()).select_from(BankQuestion)) == before
        assert await s.scalar(select(func.count()).select_from(QuestionEnemy)) == pairs_before


async def test_a_questions_enemies_over_the_api_and_its_page(client, make_client):
    api = await admin(make_client)
    status, body = await import_file(api, write_questions(families(2), format="csv"), "a.csv", "甲库")
    bid = body["bank_id"]
    ids = await question_ids(api, bid)
    status, q = await api.get(f"/api/v1/admin/questions/{ids['E0-A']}")
    assert status == 200 and q["code"] == "E0-A"
    assert sorted(e["code"] for e in q["enemies"]) == ["E0-F", "E0-T"] and all(e["source"] == "import" for e in q["enemies"])

    path = f"/api/v1/admin/questions/{ids['E0-A']}/enemies"
    status, body = await api.post(path, {"add": [ids["E1-T"]], "add_codes": ["E1-F"]})
    assert status == 200 and body["added"] == 2, body
    assert sorted(e["code"] for e in body["enemies"]) == ["E0-F", "E0-T", "E1-F", "E1-T"]
    status, body = await api.post(path, {"add": [ids["E1-T"]]})
    assert status == 200 and body["added"] == 0  # already enemies
    status, body = await api.post(path, {"remove": [ids["E1-T"], ids["E1-F"]]})
    assert status == 200 and body["removed"] == 2 and len(body["enemies"]) == 2

    status, other = await import_file(api, csv_rows(a1_row("乙库的题", "B-1")), "b.csv", "乙库")
    bq = (await question_ids(api, other["bank_id"]))["B-1"]
    refused = [({"add": [ids["E0-A"]]}, "不能与自身互斥"), ({"add": [bq]}, "同一题库"), ({"add": [2147483000]}, "试题不存在"),
               ({"add_codes": ["B-1"]}, "没有试题编号为“B-1”"), ({"add_codes": ["有 空格"]}, "空格"),
               ({"add": [0]}, ""), ({"add": list(range(1, 300))}, ""), ({"other": 1}, "")]
    for payload, words in refused:
        status, body = await api.post(path, payload)
        assert status == 400 and words in body["error"]["message"], (payload, body)
    status, body = await api.post("/api/v1/admin/questions/2147483000/enemies", {"add": [ids["E0-A"]]})
    assert status == 404

    # Sub-questions of one group always appear together: they cannot be enemies.
    demo = await bank_id(api, "临床")
    status, a3 = await api.get(f"/api/v1/admin/question-banks/{demo}/questions?type=A3")
    first, second = a3["items"][0]["id"], a3["items"][1]["id"]
    status, body = await api.post(f"/api/v1/admin/questions/{first}/enemies", {"add": [second]})
    assert status == 400 and "同属一组" in body["error"]["message"]

    # The code is edited on the question; another question's code is refused.
    status, body = await api.post(f"/api/v1/admin/questions/{ids['E0-A']}", {**(await editable(api, ids["E0-A"])), "code": "E1-A"})
    assert status == 400 and "已被本题库中的试题" in body["error"]["fields"]["code"]
    status, body = await api.post(f"/api/v1/admin/questions/{ids['E0-A']}", {**(await editable(api, ids["E0-A"])), "code": "ＲＷ－１"})
    assert status == 200 and body["code"] == "RW-1"
    status, found = await api.get(f"/api/v1/admin/question-banks/{bid}/questions?q=RW-1")
    assert [i["id"] for i in found["items"]] == [ids["E0-A"]] and found["items"][0]["code"] == "RW-1"

    # Retiring keeps the pair (the page marks it); the question's page lists its enemies.
    status, body = await api.post(f"/api/v1/admin/questions/{ids['E0-T']}/retire", {"retired": True})
    status, q = await api.get(f"/api/v1/admin/questions/{ids['E0-A']}")
    assert [e["retired"] for e in sorted(q["enemies"], key=lambda e: e["code"])] == [False, True]
    status, page, _ = await api.page(f"/admin/questions/{ids['E0-A']}")
    assert status == 200 and "互斥题" in page and "E0-T" in page and "已停用" in page and 'name="code"' in page
    async with api.app[sessionmaker_key]() as s:
        actions = (await s.scalars(select(AuditLog.action).where(AuditLog.action.like("question.enemies.%")))).all()
    assert actions.count("question.enemies.add") >= 2 and "question.enemies.remove" in actions


async def test_paper_checks_and_schedules_refuse_what_enemies_make_impossible(client, make_client):
    api = await admin(make_client)
    status, body = await import_file(api, write_questions(families(4), format="csv"), "a.csv", "互斥题库")
    bid = body["bank_id"]
    paper = {"title": "互斥测试卷", "kind": "humanities", "bank_ids": [bid], "time_limit_minutes": 30, "pass_mark": 1,
             "sections": [{"title": "单选", "type": "A1", "category_prefix": "测试", "count": 2, "points_each": 1},
                          {"title": "判断", "type": "TF", "category_prefix": "测试", "count": 2, "points_each": 1}]}
    status, check = await api.post("/api/v1/admin/papers/check", paper)
    assert status == 200 and check["ok"], check
    too_many = {**paper, "sections": [paper["sections"][0], {**paper["sections"][1], "count": 3}]}
    with statements_run(api.app) as statements:
        status, check = await api.post("/api/v1/admin/papers/check", too_many)
    assert status == 200 and not check["ok"]
    (short,) = check["shortfalls"]
    assert "第 1、2 部分" in short["message"] and "互斥的试题不能同卷" in short["message"] and "最多只能同时选出 4 道" in short["message"]
    assert not any("payload" in s for s in statements)  # counted, no question loaded
    status, body = await api.post("/api/v1/admin/papers", too_many)
    assert status == 400 and "互斥" in body["error"]["fields"]["sections"]

    status, saved = await api.post("/api/v1/admin/papers", paper)
    assert status == 200, saved
    # Enemies added afterwards: a schedule for the paper is refused, with the reason.
    ids = await question_ids(api, bid)
    pairs = [[ids[f"E{a}-A"], ids[f"E{b}-A"]] for a in range(4) for b in range(a + 1, 4)]
    status, body = await api.post(f"/api/v1/admin/question-banks/{bid}/enemies", {"pairs": pairs})
    assert status == 200 and body["added"] == 6
    status, body = await api.post("/api/v1/schedules", {"paper_id": saved["id"], "window_start": "2026-12-01T09:00",
                                                        "window_end": "2026-12-01T17:00", "time_limit_minutes": 30,
                                                        "attempts_allowed": 1, "pass_mark": 1})
    assert status == 400 and "题库无法组成该试卷" in body["error"]["message"] and "互斥" in body["error"]["message"], body
    # Retiring takes a question out of drawing and its pairs with it: the paper fits again.
    for n in (2, 3):
        await api.post(f"/api/v1/admin/questions/{ids[f'E{n}-A']}/retire", {"retired": True})
    status, check = await api.post("/api/v1/admin/papers/check", paper)
    assert not check["ok"]  # two A1 questions left, and they are enemies
    status, body = await api.post(f"/api/v1/admin/questions/{ids['E0-A']}/enemies", {"remove": [ids["E1-A"]]})
    status, check = await api.post("/api/v1/admin/papers/check", paper)
    assert check["ok"], check


async def test_drawing_from_the_stored_bank_keeps_enemies_apart(client, make_client):
    api = await admin(make_client)
    status, body = await import_file(api, write_questions(families(5), format="xlsx"), "a.xlsx", "互斥题库")
    bid = body["bank_id"]
    from question_bank import Blueprint, PaperKind, Section

    bp = Blueprint("卷", PaperKind.HUMANITIES, (Section("单选", QuestionType.A1, "测试", 3, 1),
                                               Section("判断", QuestionType.TF, "测试", 2, 1)), 30, 1)
    async with api.app[sessionmaker_key]() as s:
        pool = await question_store.bank_pool(s, [bid])
        counted = await question_store.pool_counts(s, [bid])
    assert pool.has_enemies and counted.has_enemies and len(pool.enemies) == 15
    seen: list[str] = []
    for seed in range(25):
        paper = draw_paper(pool, bp, seed=seed, seen=seen)
        seen = paper.question_refs()
        units = {pool.unit_of(it.question.fingerprint) for it in paper.items}
        assert enemy_pairs_among(units, pool.enemies) == []
        assert len({it.question.stem[:6] for it in paper.items}) == 5  # five facts, one question each


async def test_the_demo_banks_are_stored_with_their_enemies(client, make_client):
    api = await admin(make_client)
    for name, qs in demo_banks().items():
        bid = await bank_id(api, name)
        assert len(await stored_pairs(api, bid)) == len(pairs_by_code(qs)), name
    async with api.app[sessionmaker_key]() as s:
        for paper in await question_store.list_papers(s):
            assert (await question_store.check_paper(s, paper.blueprint, paper.bank_ids)).ok, paper.title


async def test_the_cueing_check_on_demand_and_confirming_its_pairs(client, make_client):
    api = await admin(make_client)
    status, body = await import_file(api, write_questions(families(3, enemies=False), format="csv"), "a.csv", "提示题库")
    bid = body["bank_id"]
    ids = await question_ids(api, bid)
    status, found = await api.get(f"/api/v1/admin/question-banks/{bid}/cueing")
    assert status == 200 and found["checked"] == 9 and found["total"] == 9, found
    kinds = {(p["teller"]["question_id"], p["told"]["question_id"]): p["kind"] for p in found["pairs"]}
    assert kinds[(ids["E0-T"], ids["E0-A"])] == "key" and kinds[(ids["E0-F"], ids["E0-A"])] == "distractor"
    first = found["pairs"][0]
    assert first["reason"].startswith("陈述了") and first["teller"]["where"].startswith("题库编号")

    # One pair at a time, then all that are left.
    one = [[first["teller"]["question_id"], first["told"]["question_id"]]]
    status, body = await api.post(f"/api/v1/admin/question-banks/{bid}/enemies", {"pairs": one})
    assert status == 200 and body["added"] == 1
    status, found = await api.get(f"/api/v1/admin/question-banks/{bid}/cueing")
    assert found["total"] == 8
    rest = [[p["teller"]["question_id"], p["told"]["question_id"]] for p in found["pairs"]]
    status, body = await api.post(f"/api/v1/admin/question-banks/{bid}/enemies", {"pairs": rest})
    assert status == 200 and body["added"] == 8
    status, found = await api.get(f"/api/v1/admin/question-banks/{bid}/cueing")
    assert found["total"] == 0 and found["pairs"] == []
    assert all(src == "cueing" for src in await sources(api, bid))

    # Another bank's question is refused; a category narrows the check; bad input is named.
    demo = await bank_id(api, "临床")
    status, listing = await api.get(f"/api/v1/admin/question-banks/{demo}/questions?size=1")
    status, body = await api.post(f"/api/v1/admin/question-banks/{bid}/enemies",
                                  {"pairs": [[ids["E0-A"], listing["items"][0]["id"]]]})
    assert status == 400 and "不属于题库" in body["error"]["message"]
    for payload in ({"pairs": []}, {"pairs": [[1]]}, {"pairs": [["a", "b"]]}, {}):
        status, body = await api.post(f"/api/v1/admin/question-banks/{bid}/enemies", payload)
        assert status == 400, payload
    status, found = await api.get(f"/api/v1/admin/question-banks/{demo}/cueing?category=" + quote("临床/内科"))
    assert status == 200 and found["category"] == "临床/内科" and found["total"] == 0  # the demo's pairs are enemies
    # What the check reads of stored questions: a B1 question's choices are its set's shared options.
    from exam_server.banks import question_cueing

    async with api.app[sessionmaker_key]() as s:
        items, shown, _ = await question_cueing._stored_items(s, [BankQuestion.bank_id == demo, BankQuestion.type == "B1"])
    assert items and all(len(it.options) == 5 and it.key and it.group for it in items)
    assert all(info["question_id"] for info in shown.values())
    status, body = await api.get(f"/api/v1/admin/question-banks/{bid}/cueing?category=" + "x" * 300)
    assert status == 400
    assert (await api.get("/api/v1/admin/question-banks/2147483000/cueing"))[0] == 404


async def sources(api, bank: int) -> list[str]:  # type: ignore[no-untyped-def]
    async with api.app[sessionmaker_key]() as s:
        return list((await s.scalars(select(QuestionEnemy.source).where(QuestionEnemy.bank_id == bank))).all())


async def _wait(api, job_id: int):  # type: ignore[no-untyped-def]
    for _ in range(600):
        status, body = await api.get(f"{JOBS}/{job_id}")
        if body["state"] not in ("previewing", "importing"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(body)


async def test_the_import_preview_lists_cueing_pairs_and_stores_the_confirmed_ones(client, make_client):
    api = await admin(make_client)
    # The bank holds the A1 questions; the file brings statements that give them away.
    qs = families(2, enemies=False)
    status, body = await import_file(api, write_questions([q for q in qs if q.type is QuestionType.A1], format="csv"),
                                     "a.csv", "提示题库")
    bid = body["bank_id"]
    data = write_questions([q for q in qs if q.type is QuestionType.TF], format="xlsx")
    status, job = await upload(api, f"{JOBS}?bank={quote('提示题库')}", "file", data, "判断.xlsx")
    assert status == 202, job
    job = await _wait(api, job["id"])
    cueing = job["preview"]["cueing"]
    assert job["state"] == "previewed" and cueing["checked"] and cueing["total"] == 6, cueing
    pair = next(p for p in cueing["pairs"] if p["kind"] == "key")
    assert pair["teller"]["where"].startswith("第 ") and pair["told"]["question_id"] is not None
    assert "淡绿色" in pair["option"]

    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"enemy_pairs": [["0" * 32, "1" * 32]]})
    assert status == 400 and "enemy_pairs" in body["error"]["fields"]
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"enemy_pairs": [["x" * 100, "y"]]})
    assert status == 400
    chosen = [[pair["teller"]["fingerprint"], pair["told"]["fingerprint"]]]
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"enemy_pairs": chosen})
    assert status == 200, body
    done = await _wait(api, job["id"])
    assert done["state"] == "done" and done["outcome"]["enemies"] == 1, done
    assert await sources(api, bid) == ["cueing"]
    status, found = await api.get(f"/api/v1/admin/question-banks/{bid}/cueing")
    assert found["total"] == 5  # the rest are still listed, on demand


def test_the_command_line_lists_cueing_pairs_and_confirms_them_on_request(tmp_path):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from exam_server.infra.migrate import upgrade

    from ..conftest import REPO

    db = tmp_path / "cli.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{db}"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DINGKAO_VAR_DIR": str(tmp_path / "var"),
           "PYTHONPATH": str(REPO)}
    src = tmp_path / "q.csv"
    src.write_bytes(write_questions(families(3, enemies=False), format="csv"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "exam_server", "import-questions", str(src), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)

    r = run("--bank", "命令行", "--dry-run")
    assert r.returncode == 0 and "发现 9 对可能互相提示的试题" in r.stderr and "--confirm-cueing" in r.stderr, r.stderr
    assert "陈述了题干和正确答案“淡绿色”" in r.stderr
    r = run("--bank", "命令行", "--confirm-cueing")
    assert r.returncode == 0 and "新增 9" in r.stdout and "新增互斥题 9 对" in r.stdout, (r.stdout, r.stderr)
