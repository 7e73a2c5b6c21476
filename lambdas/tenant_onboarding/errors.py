"""Errors that become HTTP responses: a status, a public message, field errors, headers.

Only these reach a client with their message; anything else becomes a 500 with a fixed message
(handler.py), so no internal detail or stack trace is ever returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from lambdas.tenant_onboarding.settings import RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ApiError(Exception):
    status: HTTPStatus
    message: str
    errors: Sequence[FieldError] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status.value} {self.message}"

    def body(self) -> dict[str, Any]:
        """The shape of every error the API answers: `message` and `errors`, the field errors
        (empty when no single field is at fault), plus any extra keys."""
        return {
            "message": self.message,
            **self.extra,
            "errors": [error.as_dict() for error in self.errors],
        }


def bad_request(message: str, errors: Sequence[FieldError] = ()) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, message, errors)


def invalid_field(name: str, message: str) -> ApiError:
    return bad_request("the request is invalid", [FieldError(name, message)])


def not_found(message: str = "tenant not found") -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, message)


def method_not_allowed(allowed: Sequence[str]) -> ApiError:
    return ApiError(
        HTTPStatus.METHOD_NOT_ALLOWED,
        f"method not allowed; use {', '.join(allowed)}",
        headers={"Allow": ", ".join(allowed)},
    )


def internal_error() -> ApiError:
    """What a client learns of an unexpected error: that it happened, and nothing else."""
    return ApiError(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; repeating the request is safe"
    )


def conflict(message: str, errors: Sequence[FieldError] = ()) -> ApiError:
    return ApiError(HTTPStatus.CONFLICT, message, errors)


def in_progress() -> ApiError:
    return ApiError(
        HTTPStatus.CONFLICT,
        "another request is working on this tenant; retry later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unfinished(message: str, tenant_id: str, step: str, status: str, reason: str) -> ApiError:
    """The work stopped at `step`; the tenant records it and the same request resumes it.
    `reason` is the short, sanitized cause (steps.failure_reason: an AWS error code, a
    SQLSTATE or one of this package's messages), so a caller can tell whether repeating the
    request can help before what it points at is fixed."""
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        message,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        extra={
            "tenant_id": tenant_id,
            "status": status,
            "failed_step": step,
            "failure_reason": reason,
        },
    )
