"""Question imports as background jobs: upload, preview, partial import, cancel, report, reload."""

from __future__ import annotations

import asyncio
import csv
import io
from urllib.parse import quote

from exam_server.banks import import_jobs
from exam_server.banks.models import ImportJob
from exam_server.web.keys import live_key, sessionmaker_key
from question_bank import Option, Question, QuestionType, write_questions

from ..flows import upload
from .test_question_banks import admin, broken_csv, counts, sample_questions

JOBS = "/api/v1/admin/import-jobs"


def moodle_course_export() -> bytes:
    """What a typical Moodle course export looks like: choice questions, an essay, a numerical one,
    and a hand-edited grade Moodle itself would refuse."""
    mc = """  <question type="multichoice"><name><text>{name}</text></name>
    <questiontext format="html"><text><![CDATA[<p>{stem}</p>]]></text></questiontext><single>true</single>
    <answer fraction="{f}" format="html"><text>甲</text></answer>
    <answer fraction="0" format="html"><text>乙</text></answer>
    <answer fraction="0" format="html"><text>丙</text></answer></question>"""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
             '  <question type="category"><category><text>$course$/top/医学人文</text></category></question>',
             mc.format(name="单选一", stem="医师定期考核的周期是几年", f="100"),
             '  <question type="essay"><name><text>论述</text></name><questiontext format="html"><text>论述医德</text>'
             "</questiontext></question>",
             mc.format(name="单选二", stem="甲类传染病包括", f="100"),
             '  <question type="numerical"><name><text>计算</text></name><questiontext format="html"><text>1+1</text>'
             '</questiontext><answer fraction="100"><text>2</text></answer></question>',
             mc.format(name="手改分值", stem="被手工改坏的题", f="99"),
             "</quiz>"]
    return "\n".join(parts).encode()


async def _send(api, data: bytes, name: str, bank: str):  # type: ignore[no-untyped-def]
    return await upload(api, f"{JOBS}?bank={quote(bank)}", "file", data, name)


async def _wait(api, job_id: int, *, until=("previewed", "done", "failed", "cancelled"), seconds: float = 60):  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 10)):
        status, body = await api.get(f"{JOBS}/{job_id}")
        assert status == 200, body
        if body["state"] in until:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} stuck in {body['state']}")


async def test_partial_import_by_choice_with_a_downloadable_report(client, make_client):
    api = await admin(make_client)
    before = await counts(api)
    status, job = await _send(api, moodle_course_export(), "course.xml", "人文部分导入")
    assert status == 202, job
    job = await _wait(api, job["id"])
    p = job["preview"]
    assert job["state"] == "previewed" and job["format"] == "moodle_xml"
    assert p["total"] == 2 and p["problem_count"] == 3 and p["can_skip"] and p["would_create"] == 2 and not p["ok"]
    assert [x["item_type"].split("（")[0] for x in p["problems"]] == ["essay", "numerical", "multichoice"]

    # The default stays all or nothing.
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {})
    assert status == 400 and "3 处问题" in body["error"]["message"] and "跳过" in body["error"]["message"]
    assert await counts(api) == before

    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"skip_unsupported": True})
    assert status == 200, body
    done = await _wait(api, job["id"])
    assert done["state"] == "done", done
    assert (done["outcome"]["created"], done["outcome"]["skipped"]) == (2, 3)
    assert await counts(api) == (before[0] + 1, before[1] + 2)

    status, report = await api.get(f"{JOBS}/{job['id']}/problems.csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig"))))
    assert rows[0] == ["位置", "题型", "字段", "原因"]
    assert [r[0] for r in rows[1:]] == ["第 9 行", "第 15 行", "第 16 行"]
    assert rows[1][1].startswith("essay") and "问答题" in rows[1][3]
    assert "Moodle 允许" in rows[3][3]
    # The upload is gone once the job ended; the report stays.
    async with api.app[sessionmaker_key]() as s:
        row = await s.get(ImportJob, job["id"])
        assert row.file_key is None and row.report_key


async def test_chinese_template_with_errors_is_all_or_nothing_and_listed_by_row(client, make_client):
    api = await admin(make_client)
    before = await counts(api)
    status, job = await _send(api, broken_csv(), "坏文件.csv", "坏题库任务")
    job = await _wait(api, job["id"])
    p = job["preview"]
    assert sorted({x["line_or_row"] for x in p["problems"]}) == [3, 4, 5, 6]
    assert p["can_skip"]  # offered, never the default: the page leaves the box unticked for the template
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"skip_unsupported": False})
    assert status == 400 and await counts(api) == before
    status, body = await api.post(f"{JOBS}/{job['id']}/cancel")
    assert status == 200 and body["state"] == "cancelled"
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"skip_unsupported": True})
    assert status == 409


async def test_whole_file_problems_can_never_be_skipped(client, make_client):
    api = await admin(make_client)
    status, job = await _send(api, b"PK\x03\x04 not really a zip", "x.xlsx", "坏包")
    job = await _wait(api, job["id"])
    assert job["state"] == "previewed" and not job["preview"]["can_skip"]
    assert "zip" in job["preview"]["problems"][0]["message"] or "损坏" in job["preview"]["problems"][0]["message"]
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {"skip_unsupported": True})
    assert status == 400


async def test_job_survives_a_reload_and_reimport_is_counted(client, make_client):
    api = await admin(make_client)
    data = write_questions(sample_questions(), format="xlsx")
    status, job = await _send(api, data, "题目.xlsx", "任务题库")
    # "Reloading the page": another client of the same admin finds the job in the list.
    other = await admin(make_client)
    status, listing = await other.get(JOBS)
    assert status == 200 and job["id"] in [j["id"] for j in listing["items"]]
    job = await _wait(other, job["id"])
    assert job["preview"]["ok"] and job["preview"]["would_create"] == 7
    status, body = await other.post(f"{JOBS}/{job['id']}/start", {})
    done = await _wait(api, job["id"])
    assert done["outcome"]["created"] == 7
    # the same file again: everything is already there
    status, again = await _send(api, data, "题目.xlsx", "任务题库")
    again = await _wait(api, again["id"])
    assert again["preview"]["already_in_bank"] == 7 and again["preview"]["would_create"] == 0
    status, body = await api.post(f"{JOBS}/{again['id']}/start", {})
    assert status == 200
    again = await _wait(api, again["id"])
    assert (again["outcome"]["created"], again["outcome"]["duplicates"]) == (0, 7)


async def test_cancel_while_importing_rolls_everything_back(client, make_client):
    api = await admin(make_client)
    qs = [Question(QuestionType.A1, f"取消测试第 {i} 题", (Option("A", "甲"), Option("B", "乙")), ("A",)) for i in range(3000)]
    status, job = await _send(api, write_questions(qs, format="csv"), "大.csv", "取消题库")
    job = await _wait(api, job["id"])
    before = await counts(api)
    live = api.app[live_key]
    # Cancel as soon as the step starts: the flag is read before every batch.
    status, body = await api.post(f"{JOBS}/{job['id']}/start", {})
    assert status == 200, body
    status, body = await api.post(f"{JOBS}/{job['id']}/cancel")
    assert status == 200, body
    end = await _wait(api, job["id"])
    if end["state"] == "done":  # the machine was faster than the request; then it must be whole
        assert end["outcome"]["created"] == 3000
    else:
        assert end["state"] == "cancelled" and "未导入任何试题" in end["message"]
        assert await counts(api) == before
    assert await live.get(f"import-job:{job['id']}:cancel") is None


async def test_interrupted_job_is_reported_not_left_running(client, make_client):
    api = await admin(make_client)
    sm = api.app[sessionmaker_key]
    async with sm() as s, s.begin():
        row = ImportJob(bank_name="中断", filename="x.gift", state="importing", message="",
                        updated_at=import_jobs.utcnow() - import_jobs.dt.timedelta(minutes=10))
        s.add(row)
        await s.flush()
        job_id = row.id
    status, body = await api.get(f"{JOBS}/{job_id}")
    assert status == 200 and body["state"] == "failed" and "中断" in body["message"]


async def test_jobs_are_for_the_admin_only_and_ids_are_checked(client, make_client):
    officer = await make_client()
    await officer.login_staff("body01")
    for method, path in [("GET", JOBS), ("GET", f"{JOBS}/1"), ("POST", f"{JOBS}/1/start"), ("POST", f"{JOBS}/1/cancel"),
                         ("GET", f"{JOBS}/1/problems.csv")]:
        status, _ = await officer.request(method, path, json={} if method == "POST" else None)
        assert status == 403, (method, path)
    status, _ = await upload(officer, f"{JOBS}?bank=x", "file", b"x", "a.csv")
    assert status == 403
    api = await admin(make_client)
    for path in (f"{JOBS}/999999", f"{JOBS}/abc", f"{JOBS}/99999999999999999999"):
        status, _ = await api.get(path)
        assert status == 404, path
    status, body = await api.post(f"{JOBS}/999999/start", {"skip_unsupported": True})
    assert status == 404
    status, body = await api.post(f"{JOBS}/1/start", {"skip_unsupported": "maybe", "x": 1})
    assert status in (400, 404)
    status, body = await upload(api, f"{JOBS}?bank=", "file", b"x", "a.csv")
    assert status == 400 and "bank" in body["error"]["fields"]
    status, body = await upload(api, f"{JOBS}?bank=x", "file", b"", "a.csv")
    assert status == 400
    status, body = await upload(api, f"{JOBS}?bank=x", "file", b"0" * (50 * 1024 * 1024 + 1), "a.csv")
    assert status == 413
    status, body = await api.get(f"{JOBS}/1/problems.csv")
    assert status == 404


async def test_paper_check_counts_in_sql_without_loading_questions(client, make_client):
    from ..helpers import statements_run
    from .test_question_banks import bank_id, import_file, paper_body

    api = await admin(make_client)
    status, body = await import_file(api, write_questions(sample_questions(), format="xlsx"), "q.xlsx", "计数题库")
    assert status == 200, body
    bid = await bank_id(api, "计数题库")
    with statements_run(api.app) as statements:
        status, check = await api.post("/api/v1/admin/papers/check", paper_body(bid))
    assert status == 200, check
    assert check["pool_size"] == 7
    assert any("count" in s.lower() for s in statements)
    assert not any("payload" in s for s in statements), statements  # no question is loaded


async def test_export_warns_before_dropping_pictures(client, make_client):
    import base64

    from .test_question_banks import bank_id, import_file

    api = await admin(make_client)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 30).decode()
    xml = f"""<?xml version="1.0" encoding="UTF-8"?><quiz><question type="multichoice"><name><text>图</text></name>
<questiontext format="html"><text><![CDATA[<p>图示心电图提示</p><img src="@@PLUGINFILE@@/ecg.png">]]></text>
<file name="ecg.png" path="/" encoding="base64">{png}</file></questiontext><single>true</single>
<answer fraction="100"><text>房颤</text></answer><answer fraction="0"><text>窦性心律</text></answer></question></quiz>""".encode()
    status, body = await import_file(api, xml, "pic.xml", "图片题库")
    assert status == 200 and body["created"] == 1, body
    bid = await bank_id(api, "图片题库")
    status, body = await api.get(f"/api/v1/admin/question-banks/{bid}/export?format=gift")
    assert status == 400 and "drop_images" in body["error"]["fields"] and "图片将丢失" in body["error"]["message"]
    status, data = await api.get(f"/api/v1/admin/question-banks/{bid}/export?format=gift&drop_images=1")
    assert status == 200 and "图示心电图提示" in data.decode()
    status, data = await api.get(f"/api/v1/admin/question-banks/{bid}/export?format=moodle_xml")
    assert status == 200 and b"ecg.png" in data


async def test_direct_import_endpoint_takes_skip_unsupported_too(client, make_client):
    from .test_question_banks import IMPORT

    api = await admin(make_client)
    before = await counts(api)
    status, body = await upload(api, f"{IMPORT}?bank={quote('直接部分导入')}", "file", moodle_course_export(), "c.xml")
    assert status == 400 and body["error"]["code"] == "import_refused" and len(body["error"]["problems"]) == 3
    assert await counts(api) == before
    status, body = await upload(api, f"{IMPORT}?bank={quote('直接部分导入')}&dry_run=1", "file", moodle_course_export(), "c.xml")
    assert status == 200 and body["can_skip"] and body["would_create"] == 2
    status, body = await upload(api, f"{IMPORT}?bank={quote('直接部分导入')}&skip_unsupported=1", "file",
                                moodle_course_export(), "c.xml")
    assert status == 200 and (body["created"], body["skipped"]) == (2, 3), body


async def test_a_preview_nobody_confirms_is_dropped_with_its_upload_after_a_day(client, make_client):
    from exam_server.web.keys import storage_key

    api = await admin(make_client)
    status, job = await _send(api, write_questions(sample_questions(), format="csv"), "q.csv", "过期题库")
    job = await _wait(api, job["id"])
    sm = api.app[sessionmaker_key]
    async with sm() as s, s.begin():
        row = await s.get(ImportJob, job["id"])
        key = row.file_key
        row.updated_at = import_jobs.utcnow() - import_jobs.ABANDONED_AFTER - import_jobs.dt.timedelta(minutes=1)
    assert await import_jobs.expire_abandoned(sm, api.app[storage_key]) >= 1
    status, body = await api.get(f"{JOBS}/{job['id']}")
    assert body["state"] == "cancelled" and "超过一天" in body["message"]
    try:
        await api.app[storage_key].get(key)
        raise AssertionError("the upload is still stored")
    except FileNotFoundError:
        pass
