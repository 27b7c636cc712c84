"""Records (rows of either adapter) → domain objects, and paging helpers both adapters share.

Both schemas store times as epoch milliseconds and JSON as text, so one set of
mappers serves SQLite rows and PostgreSQL records alike.

A webhook's custom headers (names and values, often credentials for the receiving
endpoint) are stored as one token sealed under the deployment key, like its secret:
``sealed_headers`` makes the column value and ``webhook`` opens it. The box caches
opened tokens, so a claim pays one dictionary lookup per webhook.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from hookline.domain import endpoint_auth, filters, queues, transformations
from hookline.domain.endpoint_auth import EndpointAuth
from hookline.domain.filters import Filter
from hookline.domain.models import (
    STUCK_AFTER_FAULTS,
    STUCK_STATUSES,
    ApiKey,
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    GraceKey,
    Role,
    SchemaVersion,
    Webhook,
    Workspace,
)
from hookline.domain.queues import Destination
from hookline.domain.retry import PolicyLayer, load_policy
from hookline.domain.statuses import WebhookStatus
from hookline.domain.transformations import Transformation
from hookline.domain.webhook_commands import WebhookPatch
from hookline.domain.workspace_settings import WorkspaceSettings, load_settings
from hookline.secrets import SecretBox
from hookline.store.port import Page, UiSession

T = TypeVar("T")

# Above every integer cursor: the first page.
NO_CURSOR = 2**62
# ``Delivery.stuck`` as SQL on a row of ``deliveries`` (either engine).
STUCK_WHERE = (
    f"(internal_faults >= {STUCK_AFTER_FAULTS} "
    f"AND status IN ({', '.join(repr(s.value) for s in STUCK_STATUSES)}))"
)


class Row(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


def page(rows: Sequence[Row], limit: int, key: str, build: Callable[[Any], T]) -> Page[T]:
    """A page of at most ``limit`` items from ``limit + 1`` rows; the cursor is the last ``key``."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[build(r) for r in rows], next_cursor=str(rows[-1][key]) if more else None)


def int_cursor(cursor: str | None) -> int:
    """The integer key the next page starts below; a cursor we did not issue matches nothing."""
    if cursor is None:
        return NO_CURSOR
    return int(cursor) if cursor.isascii() and cursor.isdigit() and len(cursor) <= 18 else -1


def like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def workspace(row: Row) -> Workspace:
    return Workspace(
        id=row["id"],
        name=row["name"],
        plan=row["plan"],
        notification_email=row["notification_email"],
        settings=workspace_settings(row["settings"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        metadata=json.loads(row["metadata"]),
    )


def api_key(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        role=Role(row["role"]),
        created_at=row["created_at"],
    )


def event_type(row: Row) -> EventType:
    return EventType(
        name=row["name"],
        category=row["category"],
        description=row["description"],
        versions={
            version: SchemaVersion(schema=v.get("schema"), example=v.get("example"))
            for version, v in json.loads(row["versions"]).items()
        },
        deprecated=bool(row["deprecated"]),
        archived=bool(row["archived"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def webhook(row: Row, box: SecretBox) -> Webhook:
    return Webhook(
        id=row["id"],
        workspace_id=row["workspace_id"],
        url=row["url"],
        name=row["name"],
        description=row["description"],
        events=json.loads(row["events"]),
        headers=open_headers(row["headers"], box),
        status=WebhookStatus(row["status"]),
        status_reason=row["status_reason"],
        status_changed_by=row["status_changed_by"],
        status_changed_at=row["status_changed_at"],
        retry_policy=_policy(row["retry_policy"]) if row["retry_policy"] else None,
        rate_limit=row["rate_limit"],
        ordering=row["ordering"],
        metadata=json.loads(row["metadata"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        filter=_filter(row["filter"]) if row["filter"] else None,
        auth=_auth(box.open(row["auth"])) if row["auth"] else None,
        destination=_destination(box.open(row["destination"])) if row["destination"] else None,
        forward_headers_on_redirect=bool(row["forward_headers_on_redirect"]),
        channels=channels_of(row["channels"]),
        transformation=_transformation(row["transformation"]) if row["transformation"] else None,
    )


# Settings columns hold JSON that was parsed when it came in; many rows share a value (a claim
# maps each of its webhooks and workspaces), and the typed values are frozen, so each distinct
# text is read once.
@functools.lru_cache(maxsize=4096)
def workspace_settings(column: str) -> WorkspaceSettings:
    return load_settings(json.loads(column))


@functools.lru_cache(maxsize=4096)
def _policy(column: str) -> PolicyLayer:
    return load_policy(json.loads(column))


@functools.lru_cache(maxsize=1024)
def _transformation(column: str) -> Transformation:
    return transformations.load(json.loads(column))


@functools.lru_cache(maxsize=4096)
def _filter(column: str) -> Filter:
    return filters.load(json.loads(column))


# Keyed by the opened JSON, as the secret box keeps it opened (credentials already in memory).
@functools.lru_cache(maxsize=4096)
def _auth(opened: str) -> EndpointAuth:
    return endpoint_auth.load(json.loads(opened))


@functools.lru_cache(maxsize=4096)
def _destination(opened: str) -> Destination:
    return queues.load(json.loads(opened))


def grace_keys(column: str) -> list[GraceKey]:
    """The keys in grace a ``previous_keys`` column holds."""
    return [
        GraceKey(secret=k["secret"], signing_key=k.get("signingKey"), expires_at=k["expiresAt"])
        for k in json.loads(column)
    ]


def grace_keys_column(keys: list[GraceKey]) -> str:
    """The ``previous_keys`` column value of ``keys``."""
    return json.dumps(
        [{"secret": k.secret, "signingKey": k.signing_key, "expiresAt": k.expires_at} for k in keys]
    )


def new_webhook(
    wh: Webhook, box: SecretBox, *, secret: str, signing_key: str | None
) -> dict[str, Any]:
    """Every column of a new webhook's row, as both stores insert it."""
    return {
        "id": wh.id,
        "workspace_id": wh.workspace_id,
        "secret": secret,
        "signing_key": signing_key,
        "status": wh.status.value,
        "status_reason": wh.status_reason,
        "status_changed_by": wh.status_changed_by,
        "status_changed_at": wh.status_changed_at,
        "created_at": wh.created_at,
        "updated_at": wh.updated_at,
        **webhook_settings(
            WebhookPatch(**{f: getattr(wh, f) for f in WebhookPatch.__slots__}), box
        ),
    }


def webhook_settings(patch: WebhookPatch, box: SecretBox) -> dict[str, Any]:
    """The columns a patch sets, with their values as both stores write them."""
    return {name: _SETTINGS[name](value, box) for name, value in patch.given().items()}


def _as_is(value: Any, _box: SecretBox) -> Any:
    return value


def _json(value: Any, _box: SecretBox) -> str:
    return json.dumps(value)


def _typed(value: Filter | PolicyLayer | Transformation | None, _box: SecretBox) -> str | None:
    return None if value is None else json.dumps(value.to_json())


def _sealed(value: EndpointAuth | Destination | None, box: SecretBox) -> str | None:
    """The value of a column that holds credentials (``auth``, ``destination``): JSON, sealed."""
    return None if value is None else box.seal(json.dumps(value.to_json()))


# How each webhook setting is written: its column holds the value, JSON, or sealed JSON.
_SETTINGS: dict[str, Callable[[Any, SecretBox], Any]] = {
    "url": _as_is,
    "name": _as_is,
    "description": _as_is,
    "events": _json,
    "headers": lambda headers, box: sealed_headers(headers, box),
    "forward_headers_on_redirect": _as_is,
    "channels": lambda names, _box: channels_column(names),
    "retry_policy": _typed,
    "rate_limit": _as_is,
    "ordering": _as_is,
    "metadata": _json,
    "filter": _typed,
    "transformation": _typed,
    "auth": lambda auth, box: _sealed(auth, box),
    "destination": lambda destination, box: _sealed(destination, box),
}


def sealed_headers(headers: dict[str, str], box: SecretBox) -> str:
    """The ``headers`` column value: the headers as JSON, sealed."""
    return box.seal(json.dumps(headers))


def open_headers(column: str, box: SecretBox) -> dict[str, str]:
    """The headers a ``headers`` column value holds: sealed, or plain JSON in a row an older
    version wrote since this process sealed the rows at start."""
    opened: dict[str, str] = json.loads(column if is_plain_headers(column) else box.open(column))
    return opened


def is_plain_headers(column: str) -> bool:
    """Whether a ``headers`` column value is a JSON object in clear, as versions before header
    values were sealed wrote it (a sealed token is URL-safe base64, never ``{``)."""
    return column.startswith("{")


def event(row: Row) -> Event:
    return Event(
        id=row["id"],
        workspace_id=row["workspace_id"],
        type=row["type"],
        data_json=row["data"],
        created_at=row["created_at"],
        channels=channels_of(row["channels"]),
    )


def channels_column(names: tuple[str, ...]) -> str | None:
    """The value of a ``channels`` column (a webhook's or an event's): JSON, NULL for none."""
    return json.dumps(list(names)) if names else None


def channels_of(column: str | None) -> tuple[str, ...]:
    return tuple(json.loads(column)) if column else ()


def delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        webhook_id=row["webhook_id"],
        workspace_id=row["workspace_id"],
        status=DeliveryStatus(row["status"]),
        attempt_count=row["attempt_count"],
        next_attempt_at=row["next_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        resent_from=row["resent_from"],
        tags=json.loads(row["tags"]),
        internal_faults=row["internal_faults"],
        expires_at=row["expires_at"],
    )


def attempt(row: Row) -> Attempt:
    return Attempt(
        id=row["id"],
        delivery_id=row["delivery_id"],
        number=row["number"],
        started_at=row["started_at"],
        duration_ms=row["duration_ms"],
        request=json.loads(row["request"]),
        response=json.loads(row["response"]) if row["response"] else None,
        error=row["error"],
        outcome=AttemptOutcome(row["outcome"]),
    )


def versions_column(et: EventType) -> str:
    """An event type's versions as stored: ``{"1": {"schema": …, "example": …}, …}``."""
    return json.dumps(
        {v: {"schema": sv.schema, "example": sv.example} for v, sv in et.versions.items()}
    )


def json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def ui_session(row: Row) -> UiSession:
    return UiSession(
        id=row["id"],
        kind=row["kind"],
        issued_by=row["issued_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        api_key=row["api_key"],
        workspace_id=row["workspace_id"],
    )
