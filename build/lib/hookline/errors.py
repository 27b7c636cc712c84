"""The one exception tree of Hookline.

    HooklineError                      500 internal_error
    ├── BadRequest                     400 bad_request
    ├── Unauthorized                   401 unauthorized
    ├── Forbidden                      403 forbidden
    │   └── PlanLimitReached           403 plan_limit_reached
    ├── NotFound                       404 not_found
    ├── Conflict                       409 conflict
    ├── PayloadTooLarge                413 payload_too_large
    ├── Invalid                        422 validation_error (code set per case)
    └── RateLimited                    429 rate_limited

Each class's docstring is its default message. ``hookline.api.errors`` is the
one place that turns these into HTTP responses.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HooklineError(Exception):
    """Something went wrong inside Hookline."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.error_code = code or self.code
        self.details = details
        super().__init__(self.message)


class BadRequest(HooklineError):
    """The request is malformed."""

    status = 400
    code = "bad_request"


class Unauthorized(HooklineError):
    """A valid API key is required: send it as 'Authorization: Bearer <key>'."""

    status = 401
    code = "unauthorized"


class Forbidden(HooklineError):
    """This API key's role does not allow this action."""

    status = 403
    code = "forbidden"


class PlanLimitReached(Forbidden):
    """The workspace's plan does not allow more webhooks."""

    code = "plan_limit_reached"


class NotFound(HooklineError):
    """No such resource."""

    status = 404
    code = "not_found"


class Conflict(HooklineError):
    """The request conflicts with the resource's current state."""

    status = 409
    code = "conflict"


class PayloadTooLarge(HooklineError):
    """The request body is larger than allowed."""

    status = 413
    code = "payload_too_large"


class Invalid(HooklineError):
    """The request is well-formed but its content is invalid."""

    status = 422
    code = "validation_error"


class RateLimited(HooklineError):
    """Too many requests; slow down."""

    status = 429
    code = "rate_limited"
