"""Before the body publishes a result, institution and health-admin staff see the outcome only as 待公布
(docs/assessment-rules.md, 结果公布前): in the physician list and its state filter, the review queue and its
state filter, the record, the per-institution counts and the staff home; the body sees the real outcome.
After publication everyone sees 考核合格. Runs on both backends."""

from __future__ import annotations

from exam_server.web.keys import sessionmaker_key
from registry import audit

from .test_results import decided, staff


async def _views(api, reg_id: int) -> dict:  # type: ignore[no-untyped-def]
    """What one staff member is shown of physician 0's registration, everywhere it appears."""
    _, physicians = await api.get("/api/v1/physicians?q=张晓明")
    _, reviews = await api.get("/api/v1/reviews")
    _, passed = await api.get("/api/v1/reviews?state=PASSED")
    _, listed_passed = await api.get("/api/v1/physicians?state=PASSED")
    _, record = await api.get(f"/api/v1/registrations/{reg_id}")
    _, insts = await api.get("/api/v1/institutions")
    status, home = await api.request("GET", "/")
    assert status == 200
    row = next(r for r in reviews["items"] if r["registration_id"] == reg_id)
    counts: dict[str, int] = {}
    for item in insts["items"]:
        for state, n in item["by_state"].items():
            counts[state] = counts.get(state, 0) + n
    return {"physician": physicians["items"][0]["state_words"], "review": row["state_words"],
            "review_state": row["state"], "filtered": [r["registration_id"] for r in passed["items"]],
            "listed_passed": listed_passed["total"], "record": (record["state"], record["state_words"]),
            "history": [h["action"] for h in record["history"]], "counts": counts,
            "home": home if isinstance(home, str) else home.decode()}


async def test_staff_see_pending_publication_until_the_body_publishes(client, make_client):  # type: ignore[no-untyped-def]
    reg_id = await decided(client, 0, "PASSED")
    async with client.app[sessionmaker_key]() as s, s.begin():  # the engine's move, as its history shows it
        audit.record(s, actor_id=None, action="pass", entity="registration", entity_id=reg_id, detail={})
    inst01, health01, body01 = [await staff(make_client, u) for u in ("inst01", "health01", "body01")]

    for api in (inst01, health01):
        seen = await _views(api, reg_id)
        assert seen["physician"] == seen["review"] == "待公布", seen
        assert seen["review_state"] == "UNPUBLISHED" and seen["record"] == ("UNPUBLISHED", "待公布"), seen
        assert seen["filtered"] == [] and seen["listed_passed"] == 0, seen  # the filter reveals nothing
        assert seen["counts"].get("PASSED", 0) == 0 and seen["counts"]["UNPUBLISHED"] == 1, seen
        assert "pass" not in seen["history"]
        assert "待公布" in seen["home"]
        _, pending = await api.get("/api/v1/reviews?state=UNPUBLISHED")
        assert [r["registration_id"] for r in pending["items"]] == [reg_id]
    # The body that decides it sees the real outcome.
    seen = await _views(body01, reg_id)
    assert seen["review"] == "考核合格" and seen["filtered"] == [reg_id] and seen["counts"]["PASSED"] == 1, seen

    status, body = await body01.post("/api/v1/results/publish", {})
    assert status == 200 and body["published"] == 1, body

    for api in (inst01, health01, body01):
        seen = await _views(api, reg_id)
        assert seen["physician"] == seen["review"] == "考核合格", seen
        assert seen["record"] == ("PASSED", "考核合格") and seen["filtered"] == [reg_id], seen
        assert seen["listed_passed"] == 1 and seen["counts"]["PASSED"] == 1, seen
        assert seen["counts"].get("UNPUBLISHED", 0) == 0 and "pass" in seen["history"], seen
