"""What the client raises: the API's refusals carry its ``code`` and message."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Anything the client raises."""


class ConnectionFailed(ClientError):
    """Hookline could not be reached (or did not answer) after every retry."""


class ApiError(ClientError):
    """Hookline answered with an error: ``status``, ``code``, ``message`` and ``details``."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class BadRequest(ApiError):
    """400: the request was malformed."""


class Unauthorized(ApiError):
    """401: the API key is missing or unknown."""


class Forbidden(ApiError):
    """403: the key's role does not allow this, or a plan limit is reached."""


class NotFound(ApiError):
    """404: no such resource (or it belongs to another workspace)."""


class Conflict(ApiError):
    """409: the request conflicts with the resource's state."""


class PayloadTooLarge(ApiError):
    """413: the body is over the server's limit."""


class Invalid(ApiError):
    """422: a field is invalid; ``details`` says which."""


class RateLimited(ApiError):
    """429: too many requests (retried first; raised when retries ran out)."""


class ServerError(ApiError):
    """5xx: Hookline failed (retried first; raised when retries ran out)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: Invalid,
    429: RateLimited,
}


def api_error(response: httpx.Response) -> ApiError:
    """The exception for an error response, from its ``{"ok": false, "error": …}`` body."""
    code, message, details = f"http_{response.status_code}", response.reason_phrase, None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code", code))
        message = str(error.get("message", message))
        details = error.get("details") if isinstance(error.get("details"), list) else None
    kind = ServerError if response.status_code >= 500 else _BY_STATUS.get(response.status_code)
    return (kind or ApiError)(response.status_code, code, message, details)
