"""Alibaba Cloud 短信服务 and Tencent Cloud 短信, each signing its requests as the provider documents.

Alibaba Cloud: the RPC API (SendSms, version 2017-05-25) with signature version 1.0 — HMAC-SHA1 over
"POST&%2F&" + the percent-encoded, sorted query, keyed with the AccessKey secret + "&".
Tencent Cloud: API 3.0 (SendSms, version 2021-01-11) with TC3-HMAC-SHA256 — a canonical request hashed
into a string to sign, keyed by a date → service → "tc3_request" derivation of the SecretKey.

The verification code fills the template: Alibaba's TemplateParam {"code": ...}, Tencent's {1}.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

import aiohttp

from ..settings import Settings, SmsGateway
from .sms import LogSms, SmsDeliveryError, SmsSender

log = logging.getLogger("dingkao.sms")
TIMEOUT = aiohttp.ClientTimeout(total=10)

ALIYUN_THROTTLED = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling.User",
                              "Throttling", "isv.OUT_OF_SERVICE"})
TENCENT_THROTTLED_PREFIXES = ("LimitExceeded.", "RequestLimitExceeded")


def _percent(text: str) -> str:
    # RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; a space is %20, never "+".
    return quote(text, safe="~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    query = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_percent('/')}&{_percent(query)}"
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tencent_authorization(*, secret_id: str, secret_key: str, host: str, action: str, payload: bytes,
                          timestamp: int, service: str = "sms", content_type: str = "application/json; charset=utf-8") -> str:
    signed_headers = "content-type;host;x-tc-action"
    canonical_headers = f"content-type:{content_type}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_headers, _sha256_hex(payload)])
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical_request.encode())])
    key = _hmac256(_hmac256(_hmac256(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


class _Gateway:
    name = ""

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _refused(self, phone: str, code: str, message: str, request_id: str, *, throttled: bool) -> SmsDeliveryError:
        # For the operator: the provider's own words. The physician only ever sees a plain message.
        log.error("sms gateway %s refused message to %s: code=%s message=%s request_id=%s",
                  self.name, phone[:3] + "****" + phone[-4:], code, message, request_id)
        return SmsDeliveryError(f"{self.name}: {code}", throttled=throttled)

    async def _post(self, phone: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        try:
            async with self.session().post(self.gateway.endpoint, **kw) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._refused(phone, "unreachable", f"{type(exc).__name__}: {exc}", "-", throttled=False) from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise self._refused(phone, f"http_{status}", raw[:200].decode("utf-8", "replace"), "-",
                                throttled=False) from None
        if not isinstance(body, dict):
            raise self._refused(phone, f"http_{status}", "unexpected answer", "-", throttled=False)
        return status, body


class AliyunSms(_Gateway):
    name = "aliyun"

    def signed_params(self, phone: str, params: Mapping[str, str]) -> dict[str, str]:
        g = self.gateway
        fields = {
            "AccessKeyId": g.key_id, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": phone,
            "RegionId": g.region, "SignName": g.sign_name, "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0", "TemplateCode": g.template_id,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
        }
        fields["Signature"] = aliyun_signature(fields, g.key_secret)
        return fields

    async def send(self, phone: str, text: str, *, params: Mapping[str, str] | None = None) -> None:
        form = self.signed_params(phone, params or {})
        body = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in form.items())
        _, answer = await self._post(phone, data=body.encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        code = str(answer.get("Code", ""))
        if code != "OK":
            raise self._refused(phone, code or "unknown", str(answer.get("Message", "")),
                                str(answer.get("RequestId", "-")), throttled=code in ALIYUN_THROTTLED)
        log.info("sms via aliyun to %s: biz_id=%s", phone[:3] + "****" + phone[-4:], answer.get("BizId"))


class TencentSms(_Gateway):
    name = "tencent"
    ACTION = "SendSms"
    VERSION = "2021-01-11"

    async def send(self, phone: str, text: str, *, params: Mapping[str, str] | None = None) -> None:
        g = self.gateway
        payload = json.dumps({
            "PhoneNumberSet": [f"+86{phone}"], "SmsSdkAppId": g.app_id, "SignName": g.sign_name,
            "TemplateId": g.template_id, "TemplateParamSet": list((params or {}).values()),
        }, ensure_ascii=False, separators=(",", ":")).encode()
        host = urlsplit(g.endpoint).netloc
        timestamp = int(time.time())
        headers = {
            "Authorization": tencent_authorization(secret_id=g.key_id, secret_key=g.key_secret, host=host,
                                                   action=self.ACTION, payload=payload, timestamp=timestamp),
            "Content-Type": "application/json; charset=utf-8", "Host": host, "X-TC-Action": self.ACTION,
            "X-TC-Version": self.VERSION, "X-TC-Timestamp": str(timestamp), "X-TC-Region": g.region,
        }
        _, answer = await self._post(phone, data=payload, headers=headers)
        response = answer.get("Response") if isinstance(answer.get("Response"), dict) else {}
        request_id = str(response.get("RequestId", "-"))
        error = response.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", "unknown"))
            raise self._refused(phone, code, str(error.get("Message", "")), request_id,
                                throttled=code.startswith(TENCENT_THROTTLED_PREFIXES))
        statuses = response.get("SendStatusSet")
        status = statuses[0] if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict) else {}
        code = str(status.get("Code", ""))
        if code != "Ok":
            raise self._refused(phone, code or "unknown", str(status.get("Message", "")), request_id,
                                throttled=code.startswith(TENCENT_THROTTLED_PREFIXES))
        log.info("sms via tencent to %s: serial=%s", phone[:3] + "****" + phone[-4:], status.get("SerialNo"))


def make_sms(settings: Settings) -> SmsSender:
    """The configured SMS backend (the log one unless a gateway is set)."""
    if settings.sms_backend == "log":
        return LogSms()
    gateway = settings.sms_gateway
    if gateway is None:  # load_settings always fills it for a gateway backend
        raise ValueError(f"DINGKAO_SMS_BACKEND={settings.sms_backend} needs its keys")
    return {"aliyun": AliyunSms, "tencent": TencentSms}[settings.sms_backend](gateway)
