"""What the sync and async clients share: configuration, retries, paths and answers."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from ulid import ULID

from hookline import __version__
from hookline.client.errors import ApiError, ClientError, api_error

M = TypeVar("M", bound=BaseModel)

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = f"hookline-python/{__version__}"

# Worth another try: Hookline is busy or briefly failing.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Methods that may be repeated without a second effect. A POST is repeated only where the
# client makes it so (an event's idempotency key), or where it never reached the server.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})

Params = Mapping[str, str | int | bool | None]
Since = datetime | timedelta | str | None


@dataclass(frozen=True, kw_only=True)
class Retries:
    """How failed requests are tried again: ``attempts`` retries after the first, waiting
    ``initial`` seconds doubling up to ``maximum``, each with full jitter; a ``Retry-After``
    answer is honoured up to ``maximum``."""

    attempts: int = 4
    initial: float = 0.5
    maximum: float = 8.0

    def delay(self, retry: int, response: httpx.Response | None) -> float:
        ceiling = min(self.maximum, self.initial * 2**retry)
        hinted = _retry_after(response) if response is not None else None
        if hinted is not None:
            return min(self.maximum, max(hinted, 0.0))
        return random.uniform(0, ceiling)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (when - datetime.now(UTC)).total_seconds()


def retryable(method: str, repeatable: bool, outcome: httpx.Response | Exception) -> bool:
    """Whether a request that ended in ``outcome`` may be sent again.

    A connection that was never made may always be retried; anything that may have reached
    the server only when repeating it has no second effect.
    """
    if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    safe = repeatable or method in IDEMPOTENT_METHODS
    if isinstance(outcome, httpx.Response):
        if outcome.status_code == 429:
            return True
        return safe and outcome.status_code in RETRY_STATUSES
    return safe and isinstance(outcome, httpx.TransportError)


def settings(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The base URL and key: given, else ``HOOKLINE_URL`` and ``HOOKLINE_API_KEY``."""
    url = (base_url or os.environ.get("HOOKLINE_URL") or DEFAULT_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ClientError(f"{url!r} has no scheme: write it as http://{url} (or https://…)")
    key = api_key or os.environ.get("HOOKLINE_API_KEY")
    if not key:
        raise ClientError("no API key: pass api_key= or set HOOKLINE_API_KEY")
    return url, key


def headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT}


def path(template: str, *ids: str) -> str:
    """``template`` with each id quoted as one path segment."""
    return template.format(*(quote(i, safe="") for i in ids))


def new_event_id() -> str:
    """An idempotency key like the ids Hookline assigns, made once per send."""
    return f"evt_{ULID()}"


def event(
    type: str,
    data: Mapping[str, Any],
    id: str | None,
    channels: Iterable[str] | None = None,
    ttl: int | None = None,
    schema_version: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type, "data": dict(data), "id": id or new_event_id()}
    if channels is not None:
        body["channels"] = list(channels)
    if ttl is not None:
        body["ttl"] = ttl
    if schema_version is not None:
        body["schemaVersion"] = schema_version
    return body


def batch(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The body of a batch send: each event ``{type, data, id?, channels?, ttl?,
    schema_version?}`` as :func:`event` makes it."""
    return {
        "events": [
            event(
                e["type"],
                e["data"],
                e.get("id"),
                e.get("channels"),
                e.get("ttl"),
                e.get("schema_version"),
            )
            for e in events
        ]
    }


def timestamp(value: datetime | timedelta | str | None) -> str | None:
    """A query time: a datetime, a timedelta back from now, or RFC 3339 text as given."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, timedelta):
        value = datetime.now(UTC) - value
    if value.tzinfo is None:
        raise ClientError("give times with a timezone (e.g. datetime.now(UTC))")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def query(params: Params) -> dict[str, str | int]:
    """Query parameters without the unset ones; booleans as the API spells them."""
    out: dict[str, str | int] = {}
    for name, value in params.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def answer(response: httpx.Response) -> Any:
    """The ``data`` of a success; raises the API's error otherwise."""
    if response.is_error:
        raise api_error(response)
    try:
        body = response.json()
    except ValueError as exc:
        raise ApiError(
            response.status_code, "invalid_response", "Hookline answered with no JSON."
        ) from exc
    # The health checks answer their object bare; everything under /v1 is wrapped.
    return body.get("data") if isinstance(body, dict) and "ok" in body else body


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a list, and the cursor of the next (``None`` at the end)."""

    items: list[M]
    next_cursor: str | None


def page(model: type[M], response: httpx.Response) -> Page[M]:
    data = answer(response)
    cursor = response.json().get("nextCursor")
    return Page([model.model_validate(item) for item in data], cursor)


def fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments as the API's camelCase fields."""
    return {to_camel(name): value for name, value in given.items()}


def deliveries_url(workspace_id: str | None, webhook_id: str | None) -> str:
    """A workspace's deliveries, or one webhook's: exactly one of them is given."""
    if (workspace_id is None) == (webhook_id is None):
        raise TypeError("give one of workspace_id and webhook_id")
    if webhook_id is not None:
        return path("/v1/webhooks/{}/deliveries", webhook_id)
    return path("/v1/workspaces/{}/deliveries", workspace_id or "")


# Every API operation (its OpenAPI operationId) and the client method that performs it; a
# test holds this table, both clients and docs/openapi.json to each other.
OPERATIONS: dict[str, str] = {
    "healthz": "health",
    "readyz": "ready",
    "metrics": "metrics",
    "get_config": "config",
    "list_workspaces": "workspaces",
    "create_workspace": "create_workspace",
    "get_workspace": "get_workspace",
    "update_workspace": "update_workspace",
    "delete_workspace": "delete_workspace",
    "list_api_keys": "api_keys",
    "create_api_key": "create_api_key",
    "revoke_api_key": "revoke_api_key",
    "list_event_types": "event_types",
    "create_event_type": "create_event_type",
    "get_event_type": "get_event_type",
    "update_event_type": "update_event_type",
    "archive_event_type": "archive_event_type",
    "list_webhooks": "webhooks",
    "create_webhook": "create_webhook",
    "get_webhook": "get_webhook",
    "update_webhook": "update_webhook",
    "delete_webhook": "delete_webhook",
    "get_secret": "get_secret",
    "rotate_secret": "rotate_secret",
    "test_webhook": "test_webhook",
    "recover": "recover",
    "send_event": "send",
    "send_events": "send_batch",
    "list_events": "events",
    "get_event": "get_event",
    "list_workspace_deliveries": "deliveries",
    "list_webhook_deliveries": "deliveries",
    "get_delivery": "get_delivery",
    "resend": "resend",
    "retry": "retry",
    "create_portal_link": "create_portal_link",
}
