"""HTTP-layer errors and how each library's errors map to a status; knows nothing of templates.

The one middleware that turns them into JSON or an error page lives in error_responses.py.
"""

from __future__ import annotations

from registry.errors import ConcurrentUpdate, IllegalTransition, InvalidInput, NotFound, PermissionDenied, RegistryError


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code
        if status:
            self.status = status


class NotLoggedIn(ApiError):
    status = 401
    code = "not_logged_in"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class TooManyRequests(ApiError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(message, **kw)
        # Whole seconds until a retry can succeed, sent as Retry-After (RFC 9110).
        self.retry_after = None if retry_after is None else max(1, int(-(-retry_after // 1)))


REGISTRY_STATUS: list[tuple[type[RegistryError], int, str]] = [
    (InvalidInput, 400, "invalid_input"),
    (PermissionDenied, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (IllegalTransition, 409, "illegal_transition"),
    (ConcurrentUpdate, 409, "concurrent_update"),
]

# Library errors beyond registry's are registered here by their packages' adapters.
EXTRA_MAPPINGS: list[tuple[type[Exception], int, str]] = []


def error_body(message: str, code: str, fields: dict[str, str] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}
