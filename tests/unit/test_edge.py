"""The edge's pure parts: nesting depth counted without parsing, id parsing, integer bounds in bodies."""

from __future__ import annotations

import json
import random

import pytest
from pydantic import BaseModel, Field

from exam_server.web.edge import DB_INT_MAX, json_depth, out_of_range, parse_id


def real_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((real_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((real_depth(v) for v in value), default=0)
    return 0


def random_json(rng: random.Random, depth: int) -> object:
    roll = rng.random()
    if depth <= 0 or roll < 0.3:
        return rng.choice([1, -2.5, None, True, "a[b]{c}", 'q"[\\"{', "\\", "]]]", "字{"])
    if roll < 0.65:
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["k", "[", "}{", '"']) + str(i): random_json(rng, depth - 1) for i in range(rng.randint(0, 3))}


def test_depth_matches_the_parsed_document_for_thousands_of_documents() -> None:
    rng = random.Random(9)
    for _ in range(3000):
        value = random_json(rng, rng.randint(0, 12))
        raw = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        assert json_depth(raw) == real_depth(value), raw


def test_depth_of_hostile_bodies() -> None:
    assert json_depth(b"[" * 5000 + b"]" * 5000) == 5000
    assert json_depth(b"[" * 100_000) == 100_000  # unclosed: still counted, refused before the parser sees it
    assert json_depth(b'"' + b"[" * 1000 + b'"') == 0
    assert json_depth(b"") == 0


@pytest.mark.parametrize("raw, expected", [
    ("1", 1), ("2147483647", DB_INT_MAX), ("2147483648", None), ("9223372036854775808", None), ("0", None),
    ("-1", None), ("1e3", None), ("１２", None), ("٣", None), ("", None), ("00000000001", None), ("0000000001", 1),
])
def test_parse_id(raw: str, expected: int | None) -> None:
    assert parse_id(raw) == expected


class Inner(BaseModel):
    n: int = Field(title="数量")


class Sample(BaseModel):
    version: int = Field(title="记录版本", ge=1)
    ids: list[int] = Field(default_factory=list, title="记录")
    points: int = Field(default=1, title="分值", le=10**12)
    inner: Inner | None = Field(default=None, title="内部")
    data: dict[str, object] = Field(default_factory=dict, title="内容")
    flag: bool = Field(default=True, title="标志")


def test_integers_past_the_database_range_are_named_by_field_unless_the_model_bounds_them() -> None:
    assert out_of_range(Sample(version=DB_INT_MAX, ids=[1, DB_INT_MAX], points=10**12, data={"a": [DB_INT_MAX]})) == {}
    problems = out_of_range(Sample(version=2**31, ids=[1, 2**63], inner=Inner(n=-(2**40)), data={"x": {"y": [2**31]}}))
    assert problems == {"version": "记录版本超出允许范围", "ids": "记录超出允许范围", "inner": "内部超出允许范围",
                        "data": "内容超出允许范围"}
