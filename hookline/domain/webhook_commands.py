"""What a caller asks of a webhook, parsed once from the JSON of a request. Pure.

``parse_create`` turns a body into a ``WebhookCreate``, ``parse_change`` into a
``WebhookChange`` (fields left ``UNSET`` stay as they are; ``None`` clears one). Each field is
checked here for its shape and range and becomes a typed value: a ``PolicyLayer``, a
``Filter``, an ``EndpointAuth``, a ``Destination``, a tuple of channel names, a ``Transformation``. What needs the deployment or the stored
webhook is the service's to check on those values: whether a URL or host may be reached,
which header names the workspace's brand reserves, plan limits, and whether a stored secret
may go along with a change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookline.domain import channels, endpoint_auth, filters, queues, transformations
from hookline.domain.endpoint_auth import EndpointAuth, SecretLeftOut
from hookline.domain.filters import Filter
from hookline.domain.limits import (
    MAX_DESCRIPTION,
    MAX_EVENT_PATTERNS,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_NAME,
    MAX_RATE_LIMIT,
    MAX_STATUS_REASON,
    MIN_RATE_LIMIT,
)
from hookline.domain.matching import is_valid_pattern
from hookline.domain.queues import Destination
from hookline.domain.retry import InvalidPolicy, PolicyLayer, parse_policy
from hookline.domain.statuses import WebhookStatus
from hookline.domain.transformations import Transformation
from hookline.errors import Invalid, summary
from hookline.verify import VerificationError, secret_bytes

ORDERINGS = ("none", "fifo")
TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
SECRET_RE = re.compile(r"[\x21-\x7e]{8,256}")


class _Unset:
    """The value of a field that is not given (``None`` is a value: "clear it")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookPatch:
    """New values of a webhook's own fields; those left ``UNSET`` stay as they are.

    Field names are the store's column names; headers are plain here (the store seals them).
    """

    url: str = UNSET
    name: str = UNSET
    description: str = UNSET
    events: list[str] = UNSET
    headers: dict[str, str] = UNSET
    retry_policy: PolicyLayer | None = UNSET
    rate_limit: float | None = UNSET
    ordering: str = UNSET
    metadata: dict[str, Any] = UNSET
    filter: Filter | None = UNSET
    auth: EndpointAuth | None = UNSET  # plain here too
    destination: Destination | None = UNSET  # plain here too
    forward_headers_on_redirect: bool = UNSET
    channels: tuple[str, ...] = UNSET  # empty: every event
    transformation: Transformation | None = UNSET

    def given(self) -> dict[str, Any]:
        """The fields set in this patch, by name."""
        return {
            name: value for name in self.__slots__ if (value := getattr(self, name)) is not UNSET
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookCreate:
    """A new webhook: ``fields`` has ``events``, and ``url`` unless it has a ``destination``;
    the others left ``UNSET`` take their defaults. ``secret`` None: one is generated."""

    fields: WebhookPatch
    secret: str | None = None
    status: WebhookStatus = WebhookStatus.ACTIVE


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookChange:
    """A change to a webhook. Its ``auth`` is apart from ``fields`` (whose ``auth`` is
    ``UNSET``), since it may leave out its secret to keep the stored one."""

    fields: WebhookPatch
    auth: EndpointAuth | SecretLeftOut | None = UNSET
    secret: str | None = None
    status: WebhookStatus | None = None
    status_reason: str | None = None


def parse_create(body: Mapping[str, Any]) -> WebhookCreate:
    """The new webhook ``body`` asks for; raise ``Invalid`` at its first wrong field."""
    fields = _fields(body, creating=True)
    auth = endpoint_auth.parse(body.get("auth"))
    if auth is not None:
        fields["auth"] = auth
    return WebhookCreate(
        fields=WebhookPatch(**fields),
        secret=_secret(body.get("secret") or None),
        status=_status(body.get("status")) or WebhookStatus.ACTIVE,
    )


def parse_change(body: Mapping[str, Any]) -> WebhookChange:
    """The change ``body`` asks for; raise ``Invalid`` at its first wrong field."""
    fields = _fields(body, creating=False)
    reason = body.get("statusReason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_STATUS_REASON):
        raise Invalid(
            f"statusReason is at most {MAX_STATUS_REASON} characters.", code="validation_error"
        )
    return WebhookChange(
        fields=WebhookPatch(**fields),
        auth=endpoint_auth.parse_change(body["auth"]) if "auth" in body else UNSET,
        secret=_secret(body.get("secret")),
        status=_status(body.get("status")),
        status_reason=reason,
    )


def _fields(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The webhook's own fields in ``body`` but ``auth``, checked, by column name."""
    out: dict[str, Any] = {}
    if body.get("destination") is not None:
        out["destination"] = queues.parse(body["destination"])
    elif "url" in body or creating or "destination" in body:
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise Invalid("url is required (unless destination is given).", code="invalid_url")
        out["url"] = url
        if "destination" in body:
            out["destination"] = None
    if "events" in body or creating:
        out["events"] = _events(body.get("events"))
    if body.get("headers") is not None:
        out["headers"] = parse_headers(body["headers"])
    if body.get("forwardHeadersOnRedirect") is not None:
        forward = body["forwardHeadersOnRedirect"]
        if not isinstance(forward, bool):
            raise Invalid("forwardHeadersOnRedirect is true or false.", code="validation_error")
        out["forward_headers_on_redirect"] = forward
    if "retryPolicy" in body:
        try:
            out["retry_policy"] = parse_policy(body["retryPolicy"])
        except InvalidPolicy as exc:
            raise Invalid(
                summary("The retry policy is invalid", exc.problems),
                code="invalid_retry_policy",
                details=exc.problems,
            ) from exc
    if "rateLimit" in body:
        out["rate_limit"] = _rate_limit(body["rateLimit"])
    if "filter" in body:
        out["filter"] = filters.parse(body["filter"])
    if "channels" in body:
        out["channels"] = channels.parse(body["channels"])
    if "transformation" in body:
        out["transformation"] = transformations.parse(body["transformation"])
    if body.get("ordering") is not None:
        if body["ordering"] not in ORDERINGS:
            raise Invalid('ordering is "none" or "fifo".', code="invalid_ordering")
        out["ordering"] = body["ordering"]
    for key, limit in (("name", MAX_NAME), ("description", MAX_DESCRIPTION)):
        if body.get(key) is not None:
            out[key] = _text(key, body[key], limit)
    if body.get("metadata") is not None:
        if not isinstance(body["metadata"], dict):
            raise Invalid("metadata is a JSON object.", code="validation_error")
        out["metadata"] = body["metadata"]
    return out


def _events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise Invalid("events needs at least one pattern.", code="invalid_events")
    if len(events) > MAX_EVENT_PATTERNS:
        raise Invalid(f"events takes at most {MAX_EVENT_PATTERNS} patterns.", code="invalid_events")
    bad = [p for p in events if not isinstance(p, str) or not is_valid_pattern(p)]
    if bad:
        raise Invalid(
            "A pattern is an event type, '*', or a prefix ending in '.*' or '/*'.",
            code="invalid_events",
            details=[{"pattern": p} for p in bad],
        )
    return list(dict.fromkeys(events))


def parse_headers(headers: Any) -> dict[str, str]:
    """Custom headers as HTTP allows them (which names Hookline keeps for itself is the
    service's to say: it depends on the workspace's brand)."""
    if not isinstance(headers, dict):
        raise Invalid("headers must be an object of names to values.", code="invalid_header")
    if len(headers) > MAX_HEADERS:
        raise Invalid(f"At most {MAX_HEADERS} custom headers.", code="invalid_header")
    total = 0
    for name, value in headers.items():
        if not TOKEN_RE.fullmatch(name):
            raise Invalid(f"Header name {name!r} is not a valid HTTP token.", code="invalid_header")
        if not isinstance(value, str) or not HEADER_VALUE_RE.fullmatch(value):
            raise Invalid(
                f"Header {name!r} must be text without CR, LF, NUL or controls.",
                code="invalid_header",
            )
        total += len(name.encode()) + len(value.encode())
    if total > MAX_HEADER_BYTES:
        raise Invalid(
            f"Custom headers may hold at most {MAX_HEADER_BYTES} bytes in all.",
            code="invalid_header",
        )
    return dict(headers)


def _rate_limit(rate: Any) -> float | None:
    if rate is not None and not (
        isinstance(rate, int | float)
        and not isinstance(rate, bool)
        and MIN_RATE_LIMIT <= rate <= MAX_RATE_LIMIT
    ):
        raise Invalid(
            f"rateLimit is attempts per second, from {MIN_RATE_LIMIT:g} "
            f"(one every 1000 seconds) to {MAX_RATE_LIMIT:g}.",
            code="invalid_rate_limit",
        )
    return rate


def _text(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise Invalid(f"The {name} is at most {limit} characters.", code=f"invalid_{name}")
    return value


def _status(status: Any) -> WebhookStatus | None:
    if status is None:
        return None
    if status not in {s.value for s in WebhookStatus}:
        raise Invalid('status is "active", "paused" or "disabled".', code="invalid_status")
    return WebhookStatus(status)


def _secret(secret: Any) -> str | None:
    """A signing secret as given (None: none given)."""
    if secret is None:
        return None
    check_secret(secret)
    assert isinstance(secret, str)
    return secret


def check_secret(secret: Any) -> None:
    """Refuse a signing secret that is not 8-256 printable ASCII characters (a ``whsec_`` one
    must be base64 after its prefix)."""
    if not isinstance(secret, str) or not SECRET_RE.fullmatch(secret):
        raise Invalid(
            "A secret is 8-256 printable ASCII characters without spaces.", code="invalid_secret"
        )
    if secret.startswith("whsec_"):
        try:
            secret_bytes(secret)
        except VerificationError as exc:
            raise Invalid(
                "A whsec_ secret is whsec_ followed by base64.",
                code="invalid_secret",
            ) from exc
