"""The proctoring pages render for their roles and refuse the others."""

from __future__ import annotations

import pytest

from exam_server.web.keys import settings_key

from ...exam_flows import GENERAL, exam_doctor, seed_exams
from ...proctor_flows import staff


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def test_pages_by_role(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, GENERAL)
    proctor, body01 = await staff(make_client, "proctor01"), await staff(make_client, "body01")
    anonymous = await make_client()
    allowed = {
        "/proctoring/consent": (doctor, "人脸信息采集授权"),
        "/exams/check?kind=humanities": (doctor, "开考前身份核验"),
        "/invigilation": (proctor, "监考工作台"),
        "/schedules/1/proctoring": (body01, "监考安排"),
        "/schedules/1/review": (body01, "违规复核"),
    }
    for path, (api, words) in allowed.items():
        status, page, _ = await api.page(path)
        assert status == 200 and words in page, path
        status, _, location = await anonymous.page(path)
        assert status == 303 and location.startswith("/login"), path
    for path, api in (("/proctoring/consent", proctor), ("/exams/check", body01), ("/invigilation", doctor),
                      ("/schedules/1/proctoring", proctor), ("/schedules/1/review", doctor)):
        status, page, _ = await api.page(path)
        assert status == 403 and "可访问此页面" in page, path
    status, page, _ = await body01.page("/schedules/abc/review")
    assert status == 404
    status, page, _ = await doctor.page("/proctoring/consent?next=//evil.example")
    assert 'data-next="/exams"' in page


async def test_staff_pages_lead_to_invigilation_and_review(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """The invigilator's home and 考试安排 link to 监考工作台; the body's 考试安排 links each schedule to
    its proctoring and review pages (made by schedules.js from the schedule list); every target opens."""
    import re

    proctor, body01 = await staff(make_client, "proctor01"), await staff(make_client, "body01")
    for path in ("/", "/schedules"):
        status, page, _ = await proctor.page(path)
        assert status == 200 and re.search(r'<a class="tool" href="/invigilation"[^>]*>监考工作台</a>', page), path
    status, page, _ = await proctor.page("/invigilation")
    assert status == 200 and "监考工作台" in page
    status, page, _ = await body01.page("/schedules")
    assert status == 200 and 'src="/static/schedules.js' in page
    status, script, _ = await body01.page("/static/schedules.js")
    assert status == 200
    assert '"/schedules/" + s.id + "/review"' in script and '"/schedules/" + s.id + "/proctoring"' in script
    assert '"/invigilation?schedule=" + s.id' in script
    status, listed = await body01.get("/api/v1/schedules")
    assert status == 200 and listed["items"], listed
    for item in listed["items"]:
        for target, words in ((f"/schedules/{item['id']}/review", "违规复核"), (f"/schedules/{item['id']}/proctoring", "监考安排")):
            status, page, _ = await body01.page(target)
            assert status == 200 and words in page, target
        status, page, _ = await proctor.page(f"/invigilation?schedule={item['id']}")
        assert status == 200, item
