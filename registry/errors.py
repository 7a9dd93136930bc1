"""Registry's exception tree; exam_server maps each to one HTTP status with its Chinese message.

RegistryError
├── InvalidInput        400: fields maps a field name to what is wrong with it
├── PermissionDenied    403: wrong role, or a record outside the actor's scope
├── NotFound            404
├── IllegalTransition   409: the state machine refuses the move
└── ConcurrentUpdate    409: someone else changed the record first
"""

from __future__ import annotations


class RegistryError(Exception):
    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(RegistryError):
    pass


class PermissionDenied(RegistryError):
    def __init__(self, message: str = "无权访问该记录") -> None:
        super().__init__(message)


class NotFound(RegistryError):
    def __init__(self, message: str = "记录不存在") -> None:
        super().__init__(message)


class IllegalTransition(RegistryError):
    pass


class ConcurrentUpdate(RegistryError):
    def __init__(self, message: str = "该记录已被他人修改，请刷新后重试") -> None:
        super().__init__(message)
