"""Domain errors the services raise; api/problems.py turns them into problem responses."""

from __future__ import annotations


class ServiceError(Exception):
    code = "service-error"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NotFound(ServiceError):
    """Absent, or not visible to the caller (the two are never told apart)."""

    code = "not-found"


class Forbidden(ServiceError):
    """The caller's role may not do this at all."""

    code = "forbidden"


class Conflict(ServiceError):
    """The request contradicts the current state (e.g. acknowledging a resolved alert)."""

    code = "conflict"


class InvalidInput(ServiceError):
    code = "invalid-input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)
