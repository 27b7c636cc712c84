"""Hookline's API from Python, sync (``Client``) and asyncio (``AsyncClient``).

Installed by ``pip install hookline`` alone (httpx and pydantic; not the server).
Errors raise ``ApiError`` subclasses carrying the API's ``code`` and message; 429s,
5xx answers and connection failures are retried with backoff where repeating is safe,
and every send carries an idempotency key made once, so a retried send never creates a
second event. Lists are iterators that follow the cursor.
"""

from __future__ import annotations

from hookline.client._base import Page, Retries
from hookline.client.aio import AsyncClient
from hookline.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
)
from hookline.client.models import (
    ApiKey,
    ApiKeyCreated,
    Attempt,
    BatchItem,
    Deleted,
    Delivery,
    DeliveryDetail,
    Event,
    EventAccepted,
    EventDetail,
    EventType,
    Health,
    PortalLink,
    Recovered,
    Secret,
    Webhook,
    Workspace,
)
from hookline.client.sync import Client

__all__ = [
    "ApiError",
    "ApiKey",
    "ApiKeyCreated",
    "AsyncClient",
    "Attempt",
    "BadRequest",
    "BatchItem",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Deleted",
    "Delivery",
    "DeliveryDetail",
    "Event",
    "EventAccepted",
    "EventDetail",
    "EventType",
    "Forbidden",
    "Health",
    "Invalid",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PortalLink",
    "RateLimited",
    "Recovered",
    "Retries",
    "Secret",
    "ServerError",
    "Unauthorized",
    "Webhook",
    "Workspace",
]
