"""The asyncio client: the same methods as ``Client``, awaited.

from hookline.client import AsyncClient

async with AsyncClient("https://hooks.example.com", api_key="hk_…") as hookline:
    await hookline.send("ws_acme", "invoice.paid", {"invoiceId": "in_1"})
    async for delivery in hookline.deliveries("ws_acme", status="failed"):
        await hookline.resend(delivery.id)

"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from hookline.client import _base as base
from hookline.client._base import M, Page, Params, Retries, Since
from hookline.client.errors import ConnectionFailed, api_error
from hookline.client.models import (
    ApiKey,
    ApiKeyCreated,
    BatchItem,
    Deleted,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    EventAccepted,
    EventDetail,
    EventType,
    Health,
    PortalLink,
    Recovered,
    Role,
    Secret,
    Webhook,
    WebhookStatus,
    Workspace,
)


class AsyncClient:
    """Hookline's API over one connection pool; ``base_url`` and ``api_key`` default to
    ``HOOKLINE_URL`` and ``HOOKLINE_API_KEY``."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url, key = base.settings(base_url, api_key)
        self.base_url = url
        self.retries = retries or Retries()
        self._http = httpx.AsyncClient(
            base_url=url, headers=base.headers(key), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        repeatable: bool = False,
    ) -> httpx.Response:
        """The response, retried per ``self.retries`` while ``base.retryable`` allows."""
        query = base.query(params or {})
        for retry in range(self.retries.attempts + 1):
            last = retry == self.retries.attempts
            try:
                response = await self._http.request(method, url, params=query, json=json)
            except httpx.TransportError as exc:
                if last or not base.retryable(method, repeatable, exc):
                    raise ConnectionFailed(f"{method} {self.base_url}{url}: {exc!r}") from exc
                await asyncio.sleep(self.retries.delay(retry, None))
                continue
            if last or not base.retryable(method, repeatable, response):
                return response
            await asyncio.sleep(self.retries.delay(retry, response))
        raise AssertionError("unreachable: the last try returns or raises")

    async def _one(self, model: type[M], method: str, url: str, **kwargs: Any) -> M:
        return model.model_validate(base.answer(await self._send(method, url, **kwargs)))

    async def _all(self, model: type[M], url: str, params: Params) -> AsyncIterator[M]:
        cursor: str | None = None
        while True:
            page = await self._page(model, url, {**params, "cursor": cursor})
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _page(self, model: type[M], url: str, params: Params) -> Page[M]:
        return base.page(model, await self._send("GET", url, params=params))

    # Health

    async def health(self) -> Health:
        """``/healthz``: the process is up."""
        return Health.model_validate(base.answer(await self._send("GET", "/healthz")))

    async def ready(self) -> Health:
        """``/readyz``: the process can reach its database."""
        return Health.model_validate(base.answer(await self._send("GET", "/readyz")))

    async def config(self) -> dict[str, Any]:
        """``/v1/config`` (admin key): the server's effective configuration, secrets masked."""
        data: dict[str, Any] = base.answer(await self._send("GET", "/v1/config"))
        return data

    async def metrics(self) -> str:
        """``/metrics`` in the Prometheus text format."""
        response = await self._send("GET", "/metrics")
        if response.is_error:
            raise api_error(response)
        return response.text

    # Workspaces and keys

    def workspaces(self, *, page_size: int = 100) -> AsyncIterator[Workspace]:
        return self._all(Workspace, "/v1/workspaces", {"limit": page_size})

    async def create_workspace(self, name: str, **fields: Any) -> Workspace:
        """Fields: ``id``, ``plan``, ``notification_email``, ``settings``, ``metadata``."""
        body = {"name": name, **base.fields(fields)}
        return await self._one(Workspace, "POST", "/v1/workspaces", json=body)

    async def get_workspace(self, workspace_id: str) -> Workspace:
        return await self._one(Workspace, "GET", base.path("/v1/workspaces/{}", workspace_id))

    async def update_workspace(self, workspace_id: str, **fields: Any) -> Workspace:
        url = base.path("/v1/workspaces/{}", workspace_id)
        return await self._one(Workspace, "PATCH", url, json=base.fields(fields))

    async def delete_workspace(self, workspace_id: str) -> Deleted:
        return await self._one(Deleted, "DELETE", base.path("/v1/workspaces/{}", workspace_id))

    def api_keys(self, workspace_id: str, *, page_size: int = 100) -> AsyncIterator[ApiKey]:
        url = base.path("/v1/workspaces/{}/api-keys", workspace_id)
        return self._all(ApiKey, url, {"limit": page_size})

    async def create_api_key(self, workspace_id: str, name: str, role: Role) -> ApiKeyCreated:
        url = base.path("/v1/workspaces/{}/api-keys", workspace_id)
        return await self._one(ApiKeyCreated, "POST", url, json={"name": name, "role": role})

    async def revoke_api_key(self, key_id: str) -> Deleted:
        return await self._one(Deleted, "DELETE", base.path("/v1/api-keys/{}", key_id))

    # Event types

    def event_types(
        self, *, category: str | None = None, include_archived: bool = False, page_size: int = 100
    ) -> AsyncIterator[EventType]:
        params = {"category": category, "includeArchived": include_archived, "limit": page_size}
        return self._all(EventType, "/v1/event-types", params)

    async def create_event_type(self, name: str, **fields: Any) -> EventType:
        """Fields: ``description``, ``category``, ``schemas`` and ``examples`` by version
        (``{"1": …, "2": …}``), ``deprecated``; ``schema`` and ``example`` alone are version 1."""
        body = {"name": name, **base.fields(fields)}
        return await self._one(EventType, "POST", "/v1/event-types", json=body)

    async def get_event_type(self, name: str) -> EventType:
        return await self._one(EventType, "GET", base.path("/v1/event-types/{}", name))

    async def update_event_type(self, name: str, **fields: Any) -> EventType:
        url = base.path("/v1/event-types/{}", name)
        return await self._one(EventType, "PATCH", url, json=base.fields(fields))

    async def archive_event_type(self, name: str) -> EventType:
        return await self._one(EventType, "DELETE", base.path("/v1/event-types/{}", name))

    # Webhooks

    def webhooks(
        self, workspace_id: str, *, status: WebhookStatus | None = None, page_size: int = 100
    ) -> AsyncIterator[Webhook]:
        url = base.path("/v1/workspaces/{}/webhooks", workspace_id)
        return self._all(Webhook, url, {"status": status, "limit": page_size})

    async def create_webhook(
        self,
        workspace_id: str,
        url: str | None,
        events: Iterable[str] = ("*",),
        **fields: Any,
    ) -> Webhook:
        """Fields: ``name``, ``description``, ``secret``, ``headers``, ``metadata``,
        ``retry_policy``, ``ordering``, ``rate_limit``, ``status``, ``filter``, ``auth``,
        ``destination`` (``url`` None: the destination's)."""
        body = {"events": list(events), **base.fields(fields)}
        if url is not None:
            body["url"] = url
        target = base.path("/v1/workspaces/{}/webhooks", workspace_id)
        return await self._one(Webhook, "POST", target, json=body)

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return await self._one(Webhook, "GET", base.path("/v1/webhooks/{}", webhook_id))

    async def update_webhook(self, webhook_id: str, **fields: Any) -> Webhook:
        url = base.path("/v1/webhooks/{}", webhook_id)
        return await self._one(Webhook, "PATCH", url, json=base.fields(fields))

    async def pause_webhook(self, webhook_id: str, reason: str | None = None) -> Webhook:
        """New deliveries wait (``held``) until it is resumed."""
        return await self.update_webhook(webhook_id, status="paused", status_reason=reason)

    async def resume_webhook(self, webhook_id: str) -> Webhook:
        """Active again: held deliveries go out, oldest first."""
        return await self.update_webhook(webhook_id, status="active")

    async def delete_webhook(self, webhook_id: str) -> Deleted:
        return await self._one(Deleted, "DELETE", base.path("/v1/webhooks/{}", webhook_id))

    async def get_secret(self, webhook_id: str) -> Secret:
        return await self._one(Secret, "GET", base.path("/v1/webhooks/{}/secret", webhook_id))

    async def rotate_secret(
        self, webhook_id: str, *, secret: str | None = None, grace_seconds: int | None = None
    ) -> Secret:
        """A new secret (given or generated); the old one still signs for ``grace_seconds``."""
        given = {"secret": secret, "graceSeconds": grace_seconds}
        body = {k: v for k, v in given.items() if v is not None}
        url = base.path("/v1/webhooks/{}/secret/rotate", webhook_id)
        return await self._one(Secret, "POST", url, json=body)

    async def test_webhook(
        self, webhook_id: str, *, event_type: str | None = None
    ) -> DeliveryDetail:
        """Send a test ping now, or with ``event_type`` the catalog's example of that type
        (as a test too); the delivery with its attempt."""
        body = {} if event_type is None else {"eventType": event_type}
        url = base.path("/v1/webhooks/{}/test", webhook_id)
        return await self._one(DeliveryDetail, "POST", url, json=body)

    async def recover(
        self,
        webhook_id: str,
        since: datetime | timedelta | str,
        *,
        until: datetime | timedelta | str | None = None,
        statuses: Iterable[DeliveryStatus] | None = None,
    ) -> Recovered:
        """Resend the webhook's failed deliveries created in [since, until)."""
        body: dict[str, Any] = {"since": base.timestamp(since)}
        if until is not None:
            body["until"] = base.timestamp(until)
        if statuses is not None:
            body["statuses"] = list(statuses)
        url = base.path("/v1/webhooks/{}/recover", webhook_id)
        return await self._one(Recovered, "POST", url, json=body)

    # Events

    async def send(
        self,
        workspace_id: str,
        type: str,
        data: Mapping[str, Any],
        *,
        id: str | None = None,
        channels: Iterable[str] | None = None,
        ttl: int | None = None,
        schema_version: str | None = None,
    ) -> EventAccepted:
        """Send one event (with ``channels``, also to the webhooks subscribed to one of them;
        with ``ttl``, worth delivering for that many seconds; with ``schema_version``, checked
        against that version of its type's schema rather than the latest). Its idempotency
        key (``id``, made here if not given) goes with every retry, so a send repeated after a
        lost answer creates no second event."""
        url = base.path("/v1/workspaces/{}/events", workspace_id)
        body = base.event(type, data, id, channels, ttl, schema_version)
        return await self._one(EventAccepted, "POST", url, json=body, repeatable=True)

    async def send_batch(
        self, workspace_id: str, events: Iterable[Mapping[str, Any]]
    ) -> list[BatchItem]:
        """Send up to 1,000 events ``{type, data, id?, channels?, ttl?, schema_version?}``; one
        result per event, in order. Each gets its idempotency key here if it has none, once,
        before any retry."""
        body = base.batch(events)
        url = base.path("/v1/workspaces/{}/events/batch", workspace_id)
        response = await self._send("POST", url, json=body, repeatable=True)
        return [BatchItem.model_validate(item) for item in base.answer(response)]

    def events(
        self,
        workspace_id: str,
        *,
        type: str | None = None,
        since: Since = None,
        until: Since = None,
        page_size: int = 100,
    ) -> AsyncIterator[Event]:
        params = {
            "type": type,
            "since": base.timestamp(since),
            "until": base.timestamp(until),
            "limit": page_size,
        }
        return self._all(Event, base.path("/v1/workspaces/{}/events", workspace_id), params)

    async def get_event(self, event_id: str) -> EventDetail:
        return await self._one(EventDetail, "GET", base.path("/v1/events/{}", event_id))

    # Deliveries

    def deliveries(
        self,
        workspace_id: str | None = None,
        *,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        since: Since = None,
        until: Since = None,
        q: str | None = None,
        stuck: bool | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Delivery]:
        """A workspace's deliveries, or one webhook's, newest first (``stuck=True``: only
        those faults of Hookline's own keep deferring)."""
        url = base.deliveries_url(workspace_id, webhook_id)
        params = {
            "status": status,
            "eventType": event_type,
            "eventId": event_id,
            "since": base.timestamp(since),
            "until": base.timestamp(until),
            "q": q,
            "stuck": stuck,
            "limit": page_size,
        }
        return self._all(Delivery, url, params)

    async def get_delivery(self, delivery_id: str) -> DeliveryDetail:
        """The delivery with its event and every attempt."""
        return await self._one(DeliveryDetail, "GET", base.path("/v1/deliveries/{}", delivery_id))

    async def retry(self, delivery_id: str) -> Delivery:
        """Make a pending delivery's next attempt now (no new delivery)."""
        url = base.path("/v1/deliveries/{}/retry", delivery_id)
        return await self._one(Delivery, "POST", url)

    async def resend(self, delivery_id: str) -> Delivery:
        """A new delivery of the same event to the same webhook."""
        url = base.path("/v1/deliveries/{}/resend", delivery_id)
        return await self._one(Delivery, "POST", url)

    # Portal

    async def create_portal_link(
        self, workspace_id: str, *, expires_in: int | None = None
    ) -> PortalLink:
        """A signed link to the workspace's self-service page."""
        body = {} if expires_in is None else {"expiresIn": expires_in}
        url = base.path("/v1/workspaces/{}/portal-link", workspace_id)
        return await self._one(PortalLink, "POST", url, json=body)
