"""Parsers of proctoring input, fuzzed: damaged frames are refused (never an exception), the
identity check's frame list names each bad frame, and schedule rules ignore what they do not know."""

from __future__ import annotations

import base64
import random

import pytest

from exam_server.proctor.frames import is_image
from exam_server.identity.rules import decode_frames
from exam_server.proctor.rules import DEFAULT_FRAME_SECONDS, schedule_rules
from registry.errors import InvalidInput

from .upload_samples import jpeg as jpeg_bytes, png as png_bytes, png_bomb


def test_real_images_pass() -> None:
    assert is_image(jpeg_bytes()) and is_image(png_bytes())


def test_thousands_of_damaged_frames_are_refused_without_an_exception() -> None:
    rng = random.Random(11)
    good = jpeg_bytes()
    refused = 0
    for i in range(3000):
        data = bytearray(good)
        kind = i % 4
        if kind == 0:
            data = data[: rng.randrange(0, len(data))]
        elif kind == 1:
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 2:
            data = bytearray(rng.randbytes(rng.randrange(0, 2000)))
        else:
            data = bytearray(b"\xff\xd8\xff" + rng.randbytes(rng.randrange(0, 2000)))
        if not is_image(bytes(data)):
            refused += 1
    assert refused > 1500  # flipped bytes inside the entropy-coded data still decode: that is fine


def test_identity_frames_are_checked_item_by_item() -> None:
    ok = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode()
    assert len(decode_frames([{"phase": 0, "image": ok}, {"phase": 6, "image": ok}], 7)) == 2
    rng = random.Random(5)
    for _ in range(2000):
        item = rng.choice([None, 1, "x", [], {"phase": rng.randrange(-3, 10), "image": rng.choice(
            [ok, "", "%%%", base64.b64encode(rng.randbytes(30)).decode(), 5])}, {"image": ok}, {"phase": 0}])
        try:
            decode_frames([item], 7)
        except InvalidInput as exc:
            assert exc.message.startswith("第 1 张画面"), exc.message


@pytest.mark.parametrize("stored", [None, {}, {"frame_seconds": "15"}, {"frame_seconds": 1}, {"actions": []},
                                    {"actions": {"no_face": "explode", "dance": "flag"}}])
def test_schedule_rules_fall_back_to_flagging_every_15_seconds(stored: object) -> None:
    rules = schedule_rules(stored)  # type: ignore[arg-type]
    assert rules.frame_seconds == DEFAULT_FRAME_SECONDS and rules.actions == {}
    assert rules.consequence("another_person") == "flag"


def test_schedule_rules_reach_the_policy() -> None:
    rules = schedule_rules({"frame_seconds": 30, "actions": {"another_person": "end_attempt", "copy_paste": "warn"}})
    policy = rules.policy()
    assert str(policy.consequence_for(policy.consequences and next(iter(policy.consequences)))) == "end_attempt"
    assert rules.consequence("copy_paste") == "warn" and rules.frame_seconds == 30


def test_a_decompression_bomb_is_refused() -> None:
    assert not is_image(png_bomb(20000, 20000))
