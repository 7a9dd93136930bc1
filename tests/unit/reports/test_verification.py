from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import (
    SIGNED_FIELDS, Status, TokenError, derive_key, judge, mask_name, new_certificate_number, normalise_number,
    parse_verification_input, sign, signature_ok, verification_url,
)

from .samples import facts_for

KEY = derive_key("s" * 40)


def test_numbers_are_unique_well_formed_and_typed_back_the_way_people_type_them():
    numbers = {new_certificate_number(2026) for _ in range(2000)}
    assert len(numbers) == 2000
    n = next(iter(numbers))
    assert normalise_number(n) == n
    assert normalise_number(" " + n.lower()[:6] + " " + n.lower()[6:] + "\n") == n


@pytest.mark.parametrize("text,msg", [("", "请输入"), ("DK2026", "格式"), ("x" * 5000, "过长"), ("DK2026ABCDEFGH2<", "格式"),
                                      ("DK2026ＡＢＣＤＥＦＧＨ２３", "格式"), ("'; drop table certificates;--", "格式")])
def test_junk_numbers_are_refused_in_chinese(text, msg):
    with pytest.raises(TokenError) as err:
        normalise_number(text)
    assert msg in err.value.message_zh


def test_signature_covers_every_key_fact():
    facts = facts_for("DK2026ABCDEFGH23")
    sig = sign(facts, KEY)
    assert signature_ok(facts, sig, KEY)
    for field in SIGNED_FIELDS:
        assert not signature_ok({**facts, field: facts[field] + "x"}, sig, KEY), field
    assert not signature_ok(facts, sig, derive_key("another secret" * 3))


def _judge(stored, stored_sig, *, signature=None, revoked=False):
    return judge(number="DK2026ABCDEFGH23", stored=stored, stored_signature=stored_sig, revoked=revoked,
                 signature=signature, key=KEY)


def test_genuine_forged_altered_and_revoked():
    facts = facts_for("DK2026ABCDEFGH23")
    sig = sign(facts, KEY)
    assert _judge(facts, sig).status is Status.GENUINE
    assert _judge(facts, sig, signature=sig).status is Status.GENUINE
    assert _judge(None, None).status is Status.FORGED  # never issued
    forged_sig = sign(facts, derive_key("not our key" * 4))
    assert _judge(facts, sig, signature=forged_sig).status is Status.FORGED
    # A record edited after issue (e.g. the name changed in the database) no longer matches.
    assert _judge({**facts, "name": "李四"}, sig).status is Status.ALTERED
    # A QR signed over other details (someone else's certificate) pasted onto this number.
    other = sign(facts_for("DK2026ABCDEFGH23", name="李四"), KEY)
    assert _judge(facts, sig, signature=other).status is Status.FORGED
    verdict = _judge(facts, sig, signature=sig, revoked=True)
    assert verdict.status is Status.REVOKED and "撤销" in verdict.text


def test_scanned_urls_and_typed_numbers_are_both_understood():
    facts = facts_for("DK2026ABCDEFGH23")
    sig = sign(facts, KEY)
    url = verification_url("https://dk.example.cn/", "DK2026ABCDEFGH23", sig)
    assert parse_verification_input(url) == ("DK2026ABCDEFGH23", sig)
    assert parse_verification_input("dk2026abcdefgh23") == ("DK2026ABCDEFGH23", None)
    assert parse_verification_input("https://x/verify/DK2026ABCDEFGH23") == ("DK2026ABCDEFGH23", None)
    with pytest.raises(TokenError):
        parse_verification_input("https://x/verify/DK2026ABCDEFGH23?s=short")


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=300))
def test_any_input_is_understood_or_refused_cleanly(text):
    try:
        number, signature = parse_verification_input(text)
    except TokenError as err:
        assert err.message_zh
    else:
        assert normalise_number(number) == number
        assert signature is None or len(signature) == 22


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=120))
def test_damaged_urls_are_refused_cleanly(noise):
    url = verification_url("https://dk.example.cn", "DK2026ABCDEFGH23", sign(facts_for("DK2026ABCDEFGH23"), KEY))
    cut = len(noise) % len(url)
    damaged = url[:cut] + noise.decode("latin-1") + url[cut:]
    try:
        parse_verification_input(damaged)
    except TokenError:
        pass


@pytest.mark.parametrize("name,masked", [("张三", "张*"), ("欧阳娜娜", "欧***"), ("𠮷", "𠮷"), ("𠮷䶮龘", "𠮷**"), ("", "")])
def test_names_are_partly_masked(name, masked):
    assert mask_name(name) == masked
