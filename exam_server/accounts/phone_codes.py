"""SMS verification codes for binding a mobile number: 6 digits, valid 5 minutes, single use.

Resend after 60 s; at most 5 codes an hour per number and per client address. The per-client limit
is off in demo mode, where one tester's machine binds every demo account.
"""

from __future__ import annotations

import hmac
import json
import secrets

from ..infra.livestate import LiveState
from ..infra.sms import SmsDeliveryError, SmsSender
from ..web.errors import ApiError, TooManyRequests

CODE_TTL = 5 * 60
RESEND_AFTER = 60
PER_HOUR = 5
MAX_TRIES = 5


class PhoneCodes:
    def __init__(self, live: LiveState, sms: SmsSender, *, limit_per_client: bool = True) -> None:
        self.live = live
        self.sms = sms
        self.limit_per_client = limit_per_client

    async def send(self, *, account_id: int, phone: str, client: str) -> None:
        wait = await self.live.ttl(f"sms:cooldown:{phone}")
        if wait:
            raise TooManyRequests(f"验证码已发送，请 {int(wait) + 1} 秒后再获取", fields={"phone": "请稍后再获取验证码"})
        if await self.live.incr(f"sms:hour:phone:{phone}", ttl=3600) > PER_HOUR:
            raise TooManyRequests("该手机号一小时内获取验证码次数已达上限，请稍后再试",
                                  fields={"phone": "获取验证码次数已达上限"})
        if self.limit_per_client and await self.live.incr(f"sms:hour:client:{client}", ttl=3600) > PER_HOUR:
            raise TooManyRequests("当前网络一小时内获取验证码次数已达上限，请稍后再试")
        code = f"{secrets.randbelow(10**6):06d}"
        await self.live.set(f"sms:code:{account_id}", json.dumps({"phone": phone, "code": code, "tries": 0}),
                            ttl=CODE_TTL)
        await self.live.set(f"sms:cooldown:{phone}", "1", ttl=RESEND_AFTER)
        try:
            await self.sms.send(phone, f"【定考通】您的验证码为 {code}，5 分钟内有效。如非本人操作请忽略。",
                                params={"code": code})
        except SmsDeliveryError as exc:
            # The gateway logged its own words for the operator; the user gets a plain message.
            await self.live.delete(f"sms:code:{account_id}")
            await self.live.delete(f"sms:cooldown:{phone}")
            if exc.throttled:
                raise TooManyRequests("短信发送过于频繁，请稍后再获取验证码", code="sms_throttled",
                                      fields={"phone": "请稍后再获取验证码"}) from None
            raise ApiError("短信发送失败，请稍后重试；如仍无法收到，请联系所在机构", code="sms_unavailable",
                           status=503) from None

    async def verify(self, *, account_id: int, phone: str, code: str) -> None:
        """Consumes the code on success; raises ApiError naming the field otherwise."""
        key = f"sms:code:{account_id}"
        raw = await self.live.get(key)
        if raw is None:
            raise ApiError("验证码已失效，请重新获取", fields={"code": "验证码已失效，请重新获取"}, code="code_expired")
        data = json.loads(raw)
        if data["phone"] != phone:
            raise ApiError("手机号与接收验证码的号码不一致", fields={"phone": "手机号与接收验证码的号码不一致"})
        if not hmac.compare_digest(data["code"], code):
            data["tries"] += 1
            if data["tries"] >= MAX_TRIES:
                await self.live.delete(key)
                raise ApiError("验证码错误次数过多，请重新获取", fields={"code": "验证码错误次数过多，请重新获取"})
            remaining = await self.live.ttl(key) or 1
            await self.live.set(key, json.dumps(data), ttl=remaining)
            raise ApiError("验证码不正确", fields={"code": "验证码不正确"})
        await self.live.delete(key)
