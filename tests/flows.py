"""Reusable API flows for registration tests: open, fill the five steps, submit."""

from __future__ import annotations

from typing import Any

import aiohttp

from exam_server.web.keys import sms_key

from .helpers import Api


def step_data(departments: list[int], *, photo_id: int | None, procedure: str = "general",
              proof_ids: list[int] | None = None, report: str = "") -> dict[str, dict[str, Any]]:
    return {
        "basic": {"name": "张晓明", "gender": "男", "ethnicity": "汉族", "birth_date": "1985-03-12",
                  "education": "大学本科", "email": "zhang@example.cn", "mobile": "13912345678",
                  "photo_file_id": photo_id},
        "practice": {"department_id": departments[0] if departments else None, "specialties": ["心血管内科专业"],
                     "title": "主治医师", "title_date": "2015-09-01", "position": "", "position_date": "",
                     "level": "执业医师", "resident": False, "practice_category": "临床", "practice_scope": "内科",
                     "employment": "在职"},
        "experience": {"filings": [], "education": [{"school": "滨海医科大学", "major": "临床医学",
                                                     "degree": "大学本科", "start_date": "2003-09-01",
                                                     "end_date": "2008-07-01"}],
                       "practice_history": [{"institution": "滨海市第一人民医院", "department": "内科",
                                             "start_date": "2009-07-01", "end_date": ""}]},
        "self_eval": {"work_rating": "合格", "work_summary": "本周期完成门诊与病房工作，无医疗事故。",
                      "ethics_rating": "合格", "ethics_summary": "遵守医德规范，尊重患者。"},
        "procedure": {"procedure": procedure, "report": report, "proof_file_ids": proof_ids or []},
    }


async def open_for(officer: Api, physician_name: str) -> int:
    status, listing = await officer.get("/api/v1/physicians?q=" + physician_name)
    assert status == 200, listing
    pid = listing["items"][0]["physician_id"]
    status, body = await officer.post("/api/v1/registrations/open", {"physician_ids": [pid]})
    assert status == 200, body
    return pid


async def upload(api: Api, path: str, field: str, data: bytes, filename: str,
                 content_type: str = "application/octet-stream") -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field(field, data, filename=filename, content_type=content_type)
    return await api.request("POST", path, data=form)


async def fill_all(doctor: Api, data: dict[str, dict[str, Any]]) -> None:
    for step, payload in data.items():
        status, body = await doctor.post(f"/api/v1/registration/steps/{step}", {"data": payload, "complete": True})
        assert status == 200, (step, body)


async def department_ids(officer: Api) -> list[int]:
    status, body = await officer.get("/api/v1/departments")
    assert status == 200, body
    return [d["id"] for d in body["items"]]


async def ready_doctor(make_client: Any, client: Api, index: int) -> Api:
    doctor = await make_client()
    await doctor.ready_physician(index, client.app[sms_key].outbox)
    return doctor
