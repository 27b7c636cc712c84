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
    ├── RateLimited                    429 rate_limited
    ├── StorageUnavailable             503 storage_unavailable (with Retry-After)
    │   └── StorageFull                503 storage_full (with Retry-After)
    └── SandboxUnavailable             503 sandbox_unavailable (with Retry-After)

Each class's docstring is its default message. ``hookline.api.errors`` is the
one place that turns these into HTTP responses. The stores raise the storage
errors in place of their drivers' own (a full disk, a database out of resources
or out of reach), so that nothing above them sees a driver's exception.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HooklineError(Exception):
    """Something went wrong inside Hookline."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    # Seconds a client should wait before trying again (a ``Retry-After`` header), if it should.
    retry_after: ClassVar[int | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
    ) -> None:
        self.message = message or " ".join((self.__doc__ or "").split())
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

    @classmethod
    def of(cls, max_webhooks: int) -> PlanLimitReached:
        return cls(
            f"The workspace's plan allows {max_webhooks} webhooks; "
            "delete one or move to a larger plan."
        )


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


class StorageUnavailable(HooklineError):
    """The database cannot be reached or is out of resources right now; try again in a moment."""

    status = 503
    code = "storage_unavailable"
    retry_after = 5


class StorageFull(StorageUnavailable):
    """The disk of Hookline's database is full: nothing can be saved until its operator frees
    space. Nothing of this request was saved; try again later."""

    code = "storage_full"
    retry_after = 10


class SandboxUnavailable(HooklineError):
    """The sandbox that runs transformations cannot run one right now; try again in a moment."""

    status = 503
    code = "sandbox_unavailable"
    retry_after = 5


def summary(lead: str, problems: list[str]) -> str:
    """``lead``, the first problem, and how many more the details list."""
    more = f" (and {len(problems) - 1} more, see details)" if len(problems) > 1 else ""
    return f"{lead}: {problems[0]}{more}."
