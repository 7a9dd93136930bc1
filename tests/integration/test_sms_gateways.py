"""Alibaba Cloud and Tencent Cloud SMS backends against local servers that check the signature the way
each provider documents it (written here independently of exam_server.infra.sms_gateways) and answer like the
provider: success, throttled, bad template, bad signature.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from exam_server.web.keys import sms_key
from exam_server.settings import SmsGateway
from exam_server.infra.sms import SmsDeliveryError
from exam_server.infra.sms_gateways import AliyunSms, TencentSms

KEY_ID, SECRET = "LTAI-test-id", "test-secret-不要外泄"
SIGN, TEMPLATE, APP_ID = "定考通", "SMS_100200", "1400000001"
THROTTLED_PHONE = "13900000009"


@dataclass
class Provider:
    received: list[dict[str, Any]] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    rejected_signatures: int = 0


# ---- Alibaba Cloud RPC, signature version 1.0 ----

def _enc(text: str) -> str:
    # Percent-encode per RFC 3986 as the provider asks: unreserved characters kept, space as %20.
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        out.append(ch if ch.isascii() and (ch.isalnum() or ch in "-_.~") else f"%{byte:02X}")
    return "".join(out)


def aliyun_app(provider: Provider) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        params = dict(urllib.parse.parse_qsl((await request.read()).decode(), keep_blank_values=True))
        given = params.pop("Signature", "")
        canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
        string_to_sign = "POST&%2F&" + _enc(canonical)
        expected = base64.b64encode(hmac.new(f"{SECRET}&".encode(), string_to_sign.encode(), "sha1").digest()).decode()
        rid = "A1B2C3"
        if params.get("AccessKeyId") != KEY_ID or not hmac.compare_digest(given, expected):
            provider.rejected_signatures += 1
            return web.json_response({"RequestId": rid, "Code": "SignatureDoesNotMatch",
                                      "Message": "Specified signature is not matched with our calculation."}, status=400)
        assert params["SignatureMethod"] == "HMAC-SHA1" and params["SignatureVersion"] == "1.0"
        assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25" and params["Format"] == "JSON"
        stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 900
        if params["SignatureNonce"] in provider.nonces:
            return web.json_response({"RequestId": rid, "Code": "SignatureNonceUsed",
                                      "Message": "Specified signature nonce was used already."}, status=400)
        provider.nonces.add(params["SignatureNonce"])
        provider.received.append(params)
        if params["TemplateCode"] != TEMPLATE:
            return web.json_response({"RequestId": rid, "Code": "isv.SMS_TEMPLATE_ILLEGAL",
                                      "Message": "该账号下找不到对应模板"})
        if params["PhoneNumbers"] == THROTTLED_PHONE:
            return web.json_response({"RequestId": rid, "Code": "isv.BUSINESS_LIMIT_CONTROL",
                                      "Message": "触发号码天级流控Permits:10"})
        return web.json_response({"RequestId": rid, "Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"})

    app = web.Application()
    app.router.add_post("/", handle)
    return app


# ---- Tencent Cloud API 3.0, TC3-HMAC-SHA256 ----

def _h(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tencent_app(provider: Provider) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        payload = await request.read()
        rid = "6a0f4e2c-req"
        auth = request.headers.get("Authorization", "")
        m = re.fullmatch(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/(\w+)/tc3_request, "
                         r"SignedHeaders=([a-z0-9;\-]+), Signature=([0-9a-f]{64})", auth)

        def auth_failure() -> web.Response:
            provider.rejected_signatures += 1
            return web.json_response({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                             "Message": "The provided credentials could not be validated."},
                                                   "RequestId": rid}})
        if not m or m.group(1) != KEY_ID or m.group(3) != "sms":
            return auth_failure()
        _, date, service, signed, given = m.groups()
        stamp = int(request.headers["X-TC-Timestamp"])
        if abs(time.time() - stamp) > 300 or dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d") != date:
            return auth_failure()
        names = signed.split(";")
        assert "content-type" in names and "host" in names
        canonical_headers = "".join(f"{n}:{request.headers[n].strip().lower() if n == 'x-tc-action' else request.headers[n].strip()}\n"
                                    for n in names)
        canonical = "\n".join(["POST", "/", "", canonical_headers, signed, hashlib.sha256(payload).hexdigest()])
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), f"{date}/{service}/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = _h(_h(_h(("TC3" + SECRET).encode(), date), service), "tc3_request")
        if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), given):
            return auth_failure()
        assert request.headers["X-TC-Action"] == "SendSms" and request.headers["X-TC-Version"] == "2021-01-11"
        body = json.loads(payload)
        provider.received.append(body)
        phone = body["PhoneNumberSet"][0]
        status = {"SerialNo": "2028:f825e6b16e23f73f4123", "PhoneNumber": phone, "Fee": 1, "SessionContext": "",
                  "IsoCode": "CN", "Code": "Ok", "Message": "send success"}
        if body["TemplateId"] != TEMPLATE or body["SmsSdkAppId"] != APP_ID:
            status.update(Code="FailedOperation.TemplateIncorrectOrUnapproved",
                          Message="template is not approved or request content does not match the approved template content",
                          Fee=0, SerialNo="")
        elif phone == f"+86{THROTTLED_PHONE}":
            status.update(Code="LimitExceeded.PhoneNumberThirtySecondLimit",
                          Message="the number of SMS messages sent from a single mobile number within 30 seconds exceeds the upper limit",
                          Fee=0, SerialNo="")
        return web.json_response({"Response": {"SendStatusSet": [status], "RequestId": rid}})

    app = web.Application()
    app.router.add_post("/", handle)
    return app


def gateway(url: str, **changes: str) -> SmsGateway:
    values = {"key_id": KEY_ID, "key_secret": SECRET, "sign_name": SIGN, "template_id": TEMPLATE, "app_id": APP_ID,
              "region": "ap-guangzhou", "endpoint": url}
    values.update(changes)
    return SmsGateway(**values)


BACKENDS = {"aliyun": (AliyunSms, aliyun_app), "tencent": (TencentSms, tencent_app)}


def sent_code(name: str, received: dict[str, Any]) -> str:
    if name == "aliyun":
        return json.loads(received["TemplateParam"])["code"]
    return received["TemplateParamSet"][0]


@pytest.mark.parametrize("name", list(BACKENDS))
async def test_a_signed_message_is_accepted_with_sign_name_template_and_code(name: str, aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    cls, make = BACKENDS[name]
    provider = Provider()
    server = await aiohttp_server(make(provider))
    sms = cls(gateway(str(server.make_url("/"))))
    try:
        await sms.send("13912345678", "【定考通】您的验证码为 123456", params={"code": "123456"})
        await sms.send("13912345678", "again", params={"code": "654321"})
    finally:
        await sms.close()
    assert provider.rejected_signatures == 0 and len(provider.received) == 2
    got = provider.received[0]
    assert sent_code(name, got) == "123456" and sent_code(name, provider.received[1]) == "654321"
    assert got["SignName"] == SIGN
    if name == "aliyun":
        assert got["PhoneNumbers"] == "13912345678" and got["TemplateCode"] == TEMPLATE
    else:
        assert got["PhoneNumberSet"] == ["+8613912345678"] and got["TemplateId"] == TEMPLATE


@pytest.mark.parametrize("name", list(BACKENDS))
async def test_provider_refusals_are_logged_for_the_operator_and_raised_plainly(name: str, aiohttp_server, caplog) -> None:  # type: ignore[no-untyped-def]
    cls, make = BACKENDS[name]
    provider = Provider()
    server = await aiohttp_server(make(provider))
    url = str(server.make_url("/"))
    caplog.set_level(logging.ERROR, logger="dingkao.sms")
    cases = [(cls(gateway(url)), THROTTLED_PHONE, True, "LimitExceeded" if name == "tencent" else "BUSINESS_LIMIT"),
             (cls(gateway(url, template_id="SMS_WRONG")), "13912345678", False,
              "TemplateIncorrect" if name == "tencent" else "SMS_TEMPLATE_ILLEGAL"),
             (cls(gateway(url, key_secret="wrong")), "13912345678", False,
              "SignatureFailure" if name == "tencent" else "SignatureDoesNotMatch"),
             (cls(gateway("http://127.0.0.1:1/")), "13912345678", False, "unreachable")]
    for sms, phone, throttled, provider_code in cases:
        caplog.clear()
        try:
            with pytest.raises(SmsDeliveryError) as info:
                await sms.send(phone, "text", params={"code": "123456"})
        finally:
            await sms.close()
        assert info.value.throttled is throttled
        assert provider_code in caplog.text, caplog.text
        assert phone not in caplog.text, "the log masks the number"
    assert provider.rejected_signatures == 1


@pytest.mark.parametrize("name", list(BACKENDS))
async def test_a_physician_binds_a_phone_through_the_gateway_and_never_sees_provider_errors(  # type: ignore[no-untyped-def]
        name: str, seeded, live_prefix, aiohttp_client, aiohttp_server, caplog) -> None:
    from exam_server.app import create_app

    from ..helpers import Api

    _, make = BACKENDS[name]
    provider = Provider()
    server = await aiohttp_server(make(provider))
    settings = seeded.with_(sms_backend=name, sms_gateway=gateway(str(server.make_url("/"))))
    api = Api(await aiohttp_client(create_app(settings, live_prefix=live_prefix)))
    assert isinstance(api.app[sms_key], BACKENDS[name][0])
    await api.login_physician(0)
    await api.post("/api/v1/auth/password", {"old_password": "666666", "new_password": "Doctor2026x",
                                             "confirm_password": "Doctor2026x"})
    caplog.set_level(logging.ERROR, logger="dingkao.sms")
    status, body = await api.post("/api/v1/auth/phone/code", {"phone": THROTTLED_PHONE})
    assert status == 429 and body["error"]["message"] == "短信发送过于频繁，请稍后再获取验证码"
    assert "Limit" not in json.dumps(body) and "LIMIT" not in json.dumps(body)
    assert ("LimitExceeded" if name == "tencent" else "isv.BUSINESS_LIMIT_CONTROL") in caplog.text
    status, body = await api.post("/api/v1/auth/phone/code", {"phone": "13912345678"})
    assert status == 200, body
    code = sent_code(name, provider.received[-1])
    status, body = await api.post("/api/v1/auth/phone/bind", {"phone": "13912345678", "code": code})
    assert status == 200, body

    # A template the provider does not know: a plain 503 for the user, the provider's words in the log.
    broken = seeded.with_(sms_backend=name, sms_gateway=gateway(str(server.make_url("/")), template_id="SMS_GONE"))
    other = Api(await aiohttp_client(create_app(broken, live_prefix=live_prefix)))
    await other.login_physician(1)
    await other.post("/api/v1/auth/password", {"old_password": "666666", "new_password": "Doctor2026x",
                                               "confirm_password": "Doctor2026x"})
    caplog.clear()
    status, body = await other.post("/api/v1/auth/phone/code", {"phone": "13912340001"})
    assert status == 503 and body["error"]["code"] == "sms_unavailable"
    assert "模板" not in body["error"]["message"] and "Template" not in json.dumps(body)
    assert ("TemplateIncorrect" if name == "tencent" else "SMS_TEMPLATE_ILLEGAL") in caplog.text
    # The failed send left no cooldown behind: the user may try again at once.
    status, body = await other.post("/api/v1/auth/phone/code", {"phone": "13912340001"})
    assert status == 503
