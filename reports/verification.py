"""Certificate numbers and verification codes.

A certificate's key facts (number, name, ID, category, cycle, result, body, date) are signed
with HMAC-SHA256 under a key derived from the service's secret, when it is issued. The QR code
carries the number and that signature; the verifier recomputes it over the stored facts, so a
number never issued, a signature not made with our key, and a stored record edited after issue
(altered) are all told apart from a genuine or a revoked certificate. The page then shows the
stored facts (name partly masked) to compare with the paper.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from reports.errors import TokenError

# The facts a signature covers, in this order; values are strings.
SIGNED_FIELDS = ("number", "name", "id", "category", "scope", "cycle", "procedure", "result", "body", "issued")
NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by people
NUMBER_RE = re.compile(r"^DK\d{4}[0-9A-Z]{10}$")
MAX_INPUT = 2048  # longest number or URL a verifier may send


class Status(enum.StrEnum):
    GENUINE = "genuine"
    REVOKED = "revoked"
    FORGED = "forged"
    ALTERED = "altered"
    UNSEALED = "unsealed"


STATUS_TEXT = {
    Status.GENUINE: "证书真实有效",
    Status.REVOKED: "证书已撤销",
    Status.FORGED: "查无此证书或防伪码无效，证书可能系伪造",
    Status.ALTERED: "证书信息与签发记录不一致，证书可能被篡改",
    Status.UNSEALED: "证书未加盖考核机构印章，本证书无效",
}


# Why a body revokes a certificate, as the public verification states it (the body picks one; its
# own words stay beside it). A certificate revoked before categories existed states none.
REVOCATION_CATEGORIES = {
    "result_changed": "复核后考核结果已变更",
    "violation": "考试违规经查实",
    "wrong_facts": "证书信息有误",
    "reissued": "已重新签发证书",
    "other": "其他原因",
}


def derive_key(secret: str | bytes) -> bytes:
    """A key used only for certificates, so the session secret is never used raw."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"dingkao certificate signing v1", hashlib.sha256).digest()


def new_certificate_number(year: int) -> str:
    """``DK`` + year + 10 random characters (50 bits): unique by chance, not guessable in sequence."""
    return f"DK{year:04d}" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(10))


def normalise_number(text: str) -> str:
    """A certificate number as people type it (spaces, lower case) or :class:`TokenError`."""
    if len(text) > MAX_INPUT:
        raise TokenError("证书编号过长")
    cleaned = re.sub(r"[\s\-]", "", text).upper()
    if not cleaned:
        raise TokenError("请输入证书编号")
    if not NUMBER_RE.match(cleaned):
        raise TokenError("证书编号格式不正确（应为 DK 加 14 位数字和字母）")
    return cleaned


def _canonical(facts: Mapping[str, str]) -> bytes:
    missing = [k for k in SIGNED_FIELDS if k not in facts]
    if missing:
        raise ValueError(f"facts lack {missing}")
    return json.dumps([str(facts[k]) for k in SIGNED_FIELDS], ensure_ascii=False, separators=(",", ":")).encode()


def sign(facts: Mapping[str, str], key: bytes) -> str:
    return _b64(hmac.new(key, _canonical(facts), hashlib.sha256).digest()[:16])


def signature_ok(facts: Mapping[str, str], signature: str, key: bytes) -> bool:
    return hmac.compare_digest(sign(facts, key), signature)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


SIGNATURE_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def normalise_signature(text: str) -> str:
    """The signature part of a QR link, or :class:`TokenError`."""
    if len(text) > MAX_INPUT:
        raise TokenError("防伪码过长")
    if not SIGNATURE_RE.match(text.strip()):
        raise TokenError("防伪码格式不正确")
    return text.strip()


def verification_url(base_url: str, number: str, signature: str) -> str:
    """What the QR code holds: short, so the code stays small enough to scan from paper."""
    return f"{base_url.rstrip('/')}/verify/{quote(number)}?s={quote(signature)}"


def parse_verification_input(text: str) -> tuple[str, str | None]:
    """A typed number, or a scanned URL ``.../verify/<number>?s=<signature>`` -> (number, signature)."""
    if len(text) > MAX_INPUT:
        raise TokenError("输入过长")
    text = text.strip()
    match = re.search(r"/verify/([^/?#\s]+)(?:\?(?:[^#]*&)?s=([^&#\s]*))?", text)
    if match:
        from urllib.parse import unquote

        number = normalise_number(unquote(match.group(1)))
        signature = normalise_signature(unquote(match.group(2))) if match.group(2) is not None else None
        return number, signature
    return normalise_number(text), None


@dataclass(frozen=True)
class Verdict:
    status: Status
    number: str | None
    facts: Mapping[str, str] | None  # the stored facts, shown (masked) to the verifier
    revoked_category: str | None = None  # a REVOCATION_CATEGORIES key, when revoked

    @property
    def text(self) -> str:
        words = REVOCATION_CATEGORIES.get(self.revoked_category or "")
        if self.status is Status.REVOKED and words:
            return f"{STATUS_TEXT[self.status]}（{words}）"
        return STATUS_TEXT[self.status]


def judge(
    *,
    number: str | None,
    stored: Mapping[str, str] | None,
    stored_signature: str | None,
    revoked: bool,
    signature: str | None,
    key: bytes,
    revoked_category: str | None = None,
    sealed: bool = True,
) -> Verdict:
    """The verdict on a certificate looked up by ``number`` (``stored`` None when unknown),
    with the ``signature`` from its QR code when it was scanned.

    - a number never issued: forged;
    - a stored record that no longer matches the signature made at issue: altered;
    - a QR signature that is not the one over the record's facts: forged (made without our
      key, or copied onto other details);
    - revoked: revoked, even when everything else matches;
    - issued by a body with no seal on file: unsealed (the PDF prints 本证书无效 then, and the
      verification must say the same); otherwise genuine.
    """
    if stored is None or stored_signature is None:
        return Verdict(Status.FORGED, number, None)
    if not signature_ok(stored, stored_signature, key):
        return Verdict(Status.ALTERED, number, stored)
    if signature is not None and not hmac.compare_digest(signature, stored_signature):
        return Verdict(Status.FORGED, number, stored)
    if revoked:
        return Verdict(Status.REVOKED, number, stored, revoked_category)
    if not sealed:
        return Verdict(Status.UNSEALED, number, stored)
    return Verdict(Status.GENUINE, number, stored)


def mask_name(name: str) -> str:
    """First character shown, the rest starred (张** / 欧阳** -> 欧**); a one-character name stays."""
    chars = list(name.strip())
    return chars[0] + "*" * (len(chars) - 1) if chars else ""
