from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import (
    SIGNED_FIELDS, Status, TokenError, derive_key, judge, mask_name, new_certificate_number, normalise_number,
    parse_verification_input, sign, signature_ok, verification_url,
)
from reports.verification import MAX_INPUT, NUMBER_ALPHABET, normalise_signature

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


def _judge(stored, stored_sig, *, signature=None, revoked=False, sealed=True):
    return judge(number="DK2026ABCDEFGH23", stored=stored, stored_signature=stored_sig, revoked=revoked,
                 signature=signature, key=KEY, sealed=sealed)


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
    assert verdict.status is Status.REVOKED and verdict.text == "证书已撤销"  # no cause claimed when none given
    verdict = judge(number="DK2026ABCDEFGH23", stored=facts, stored_signature=sig, revoked=True, signature=sig,
                    key=KEY, revoked_category="violation")
    assert verdict.text == "证书已撤销（考试违规经查实）"
    # The body has no seal: the PDF says 本证书无效, and so does the verification.
    verdict = _judge(facts, sig, signature=sig, sealed=False)
    assert verdict.status is Status.UNSEALED and "本证书无效" in verdict.text
    assert _judge(facts, sig, revoked=True, sealed=False).status is Status.REVOKED
    assert _judge(None, None, sealed=False).status is Status.FORGED


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


def test_a_printed_certificates_signature_still_verifies_after_any_upgrade():
    """Signatures printed on paper certificates must verify for years: the key derivation and the
    signed form are fixed, so this signature, made once, must come out of the same facts again."""
    assert derive_key("s" * 40).hex() == "f7ef77208af3761c70bd4c080c181734c2a1d8d3300fe51ad30ed72d627188ab"
    assert derive_key(b"s" * 40) == derive_key("s" * 40)
    assert sign(facts_for("DK2026ABCDEFGH23"), KEY) == "U5Y8SvdwY6MGyXUPIh-rHQ"


def test_every_issued_signature_survives_its_qr_link():
    """Whatever characters a signature ends with, the link on the certificate reads back to it."""
    rng = random.Random(25)
    for _ in range(400):
        number = "DK2026" + "".join(rng.choice(NUMBER_ALPHABET) for _ in range(10))
        facts = facts_for(number)
        sig = sign(facts, KEY)
        assert len(sig) == 22
        scanned_number, scanned = parse_verification_input(verification_url("https://dk.example.cn", number, sig))
        assert (scanned_number, scanned) == (number, sig)
        assert _judge(facts, sig, signature=scanned).status is Status.GENUINE


def test_facts_lacking_a_field_are_never_signed():
    facts = facts_for("DK2026ABCDEFGH23")
    del facts["result"]
    with pytest.raises(ValueError, match="result"):
        sign(facts, KEY)


def test_each_verdict_names_the_number_looked_up():
    facts = facts_for("DK2026ABCDEFGH23")
    sig = sign(facts, KEY)
    other = sign(facts_for("DK2026ABCDEFGH23", name="李四"), KEY)
    cases = [_judge(facts, sig), _judge(facts, sig, revoked=True), _judge(None, None),
             _judge({**facts, "name": "李四"}, sig), _judge(facts, sig, signature=other),
             _judge(facts, None)]  # a record without its signature is not trusted
    assert [v.status for v in cases] == [Status.GENUINE, Status.REVOKED, Status.FORGED, Status.ALTERED,
                                         Status.FORGED, Status.FORGED]
    assert all(v.number == "DK2026ABCDEFGH23" for v in cases)
    # The stored facts are shown to compare with the paper, except for a number never issued.
    assert [v.facts for v in cases] == [facts, facts, None, {**facts, "name": "李四"}, facts, None]


def test_the_link_has_one_slash_whatever_the_configured_base_url():
    sig = sign(facts_for("DK2026ABCDEFGH23"), KEY)
    for base in ("https://dk.example.cn", "https://dk.example.cn/", "https://dk.example.cn//"):
        assert verification_url(base, "DK2026ABCDEFGH23", sig) == f"https://dk.example.cn/verify/DK2026ABCDEFGH23?s={sig}"
    # A service mounted under a path keeps all of it.
    assert verification_url("https://example.cn/DKX/", "DK2026ABCDEFGH23", sig).startswith("https://example.cn/DKX/verify/")


@pytest.mark.parametrize("refuse, message", [
    (lambda t: normalise_number(t), "证书编号过长"),
    (lambda t: normalise_signature(t), "防伪码过长"),
    (lambda t: parse_verification_input(t), "输入过长"),
])
def test_input_longer_than_the_limit_is_refused_as_too_long_and_at_the_limit_is_read(refuse, message):
    with pytest.raises(TokenError) as err:
        refuse("D" * (MAX_INPUT + 1))
    assert err.value.message_zh == message
    with pytest.raises(TokenError) as err:
        refuse("D" * MAX_INPUT)  # read, then refused for its form
    assert err.value.message_zh != message


def test_each_refusal_says_what_is_wrong():
    def message(call, text):
        with pytest.raises(TokenError) as err:
            call(text)
        return err.value.message_zh

    assert message(normalise_number, " - ") == "请输入证书编号"
    assert message(normalise_number, "DK2026") == "证书编号格式不正确（应为 DK 加 14 位数字和字母）"
    assert message(normalise_signature, "short") == "防伪码格式不正确"
    assert message(parse_verification_input, "https://x/verify/DK2026ABCDEFGH23?s=short") == "防伪码格式不正确"
