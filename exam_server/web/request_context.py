"""Request ids and structured (JSON) access logs."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from aiohttp import web

from .keys import account_key, request_id_key
from .metrics import route_label

log = logging.getLogger("dingkao.access")
_ID = re.compile(r"^[A-Za-z0-9-]{8,36}\Z")  # \Z: "$" would let a trailing newline through; 36 = audit_log.request_id
# What every open exam page repeats all sitting long (a save per answer, a clock sync): at a
# province's thousand a second, a log line each cost the server 5 % of its CPU (measured with
# benchmarks/exam_load.py). /metrics counts them by route, status and latency; a refused, failed or
# slow one is still logged.
QUIET_ROUTES = frozenset({"/api/v1/attempts/{attempt_id}/answers", "/api/v1/attempts/{attempt_id}/clock"})
SLOW_SECONDS = 1.0



def request_id(request: web.Request) -> str | None:
    return request.get(request_id_key)


@web.middleware
async def request_id_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    incoming = request.headers.get("X-Request-ID", "")
    rid = incoming if _ID.match(incoming) else str(uuid.uuid4())
    request[request_id_key] = rid
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-ID"] = rid
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-ID"] = rid
        raise
    finally:
        elapsed = time.perf_counter() - started
        if status >= 400 or elapsed >= SLOW_SECONDS or route_label(request) not in QUIET_ROUTES:
            account = request.get(account_key)
            log.info("request", extra={"fields": {
                "request_id": rid, "method": request.method, "path": request.path, "status": status,
                "ms": round(elapsed * 1000, 1), "account_id": getattr(account, "id", None), "remote": request.remote,
            }})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage()}
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        line = super().format(record)
        return line + (" " + " ".join(f"{k}={v}" for k, v in fields.items()) if fields else "")


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
