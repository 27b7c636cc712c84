"""Webhooks: the rules of their settings, CRUD, status changes and secrets."""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import TypeVar

from hookline.domain import endpoint_auth, queues
from hookline.domain.endpoint_auth import MTLS, EndpointAuth, SecretLeftOut
from hookline.domain.headers import is_reserved, masked
from hookline.domain.limits import MAX_GRACE_SECONDS
from hookline.domain.models import GraceKey, Webhook, Workspace
from hookline.domain.network_guard import check_host, check_url
from hookline.domain.portal_offer import HTTP
from hookline.domain.queues import Destination
from hookline.domain.statuses import WebhookStatus
from hookline.domain.webhook_commands import (
    UNSET,
    WebhookChange,
    WebhookCreate,
    WebhookPatch,
    check_secret,
)
from hookline.errors import Forbidden, Invalid, NotFound
from hookline.ids import format_ms, new_id, now_ms
from hookline.service.access import Action, Principal
from hookline.service.context import Context, clamp_limit
from hookline.service.operational import Notice, Operational, about
from hookline.service.workspaces import Workspaces
from hookline.signing import generate_keypair, generate_secret, public_key_of
from hookline.store.port import Page, StatusChange, WebhookChanges
from hookline.tls import client_context

T = TypeVar("T")
MAX_PREVIOUS_KEYS = 4


class Webhooks:
    def __init__(self, ctx: Context, workspaces: Workspaces, operational: Operational) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.workspaces = workspaces
        self.operational = operational

    async def get(self, who: Principal, wh_id: str, action: Action = Action.READ) -> Webhook:
        wh = await self.store.get_webhook(wh_id)
        if wh is None or not who.sees(wh.workspace_id):
            raise NotFound("No such webhook.")
        who.check(wh.workspace_id, action, "webhook")
        return _shown(who, wh)

    async def create(self, who: Principal, ws_id: str, new: WebhookCreate) -> Webhook:
        ws = await self.workspaces.get(who, ws_id, Action.MANAGE)
        self._check_offered(who, new.fields, _or(new.fields.auth, None), creating=True)
        fields = self._checked(ws, new.fields)
        _check_http_only(_or(fields.auth, None), _or(fields.destination, None))
        secret = new.secret or generate_secret()
        now = now_ms()
        wh = Webhook(
            id=new_id("wh"),
            workspace_id=ws.id,
            url=fields.url,
            name=_or(fields.name, ""),
            description=_or(fields.description, ""),
            events=fields.events,
            headers=_or(fields.headers, {}),
            status=new.status,
            status_reason=None,
            status_changed_by=who.key_id,
            status_changed_at=now,
            retry_policy=_or(fields.retry_policy, None),
            rate_limit=_or(fields.rate_limit, None),
            ordering=_or(fields.ordering, "none"),
            metadata=_or(fields.metadata, {}),
            created_at=now,
            updated_at=now,
            filter=_or(fields.filter, None),
            auth=_or(fields.auth, None),
            destination=_or(fields.destination, None),
            forward_headers_on_redirect=_or(fields.forward_headers_on_redirect, False),
            channels=_or(fields.channels, ()),
            transformation=_or(fields.transformation, None),
        )
        private, _public = generate_keypair()
        await self.store.create_webhook(
            wh,
            self.ctx.box.seal(secret),
            max_webhooks=self.workspaces.plan(ws.plan).max_webhooks,
            signing_key=self.ctx.box.seal(private),
        )
        return wh

    async def list(
        self,
        who: Principal,
        ws_id: str,
        *,
        status: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Webhook]:
        await self.workspaces.get(who, ws_id)
        page = await self.store.list_webhooks(
            ws_id,
            status=None if status is None else WebhookStatus(status),
            limit=clamp_limit(limit),
            cursor=cursor,
        )
        return replace(page, items=[_shown(who, wh) for wh in page.items])

    async def update(self, who: Principal, wh_id: str, change: WebhookChange) -> Webhook:
        wh = await self.get(who, wh_id, Action.MANAGE)
        ws = await self.workspaces.get(who, wh.workspace_id)
        self._check_offered(who, change.fields, change.auth, creating=False)
        changes = WebhookChanges(patch=self.checked_change(ws, change, wh))
        if change.secret is not None:
            changes.secret = self.ctx.box.seal(change.secret)
        if change.status is not None and change.status is not wh.status:
            changes.status = StatusChange(
                status=change.status, reason=change.status_reason, by=who.key_id, at=now_ms()
            )
        await self.store.update_webhook(wh_id, changes, now_ms())
        if changes.status is not None and changes.status.status is WebhookStatus.ACTIVE:
            self.ctx.wake()
        updated = await self.get(who, wh_id)
        if changes.status is not None and changes.status.status is not WebhookStatus.ACTIVE:
            done = changes.status
            await self.operational.tell(
                [
                    Notice(
                        type=f"endpoint.{done.status.value}",
                        webhook=updated,
                        fields=about(updated, done.at, by=done.by, reason=done.reason),
                    )
                ]
            )
        return updated

    async def delete(self, who: Principal, wh_id: str) -> None:
        await self.get(who, wh_id, Action.MANAGE)
        await self.store.delete_webhook(wh_id)

    async def secret(self, who: Principal, wh_id: str) -> tuple[str, str | None]:
        """The signing secret and the ed25519 public key (``whpk_``) of the webhook."""
        await self.get(who, wh_id, Action.MANAGE)
        keys = await self.store.get_webhook_keys(wh_id)
        if keys is None or keys.secret is None:
            raise NotFound("No such webhook.")
        public = public_key_of(self.ctx.box.open(keys.signing_key)) if keys.signing_key else None
        return self.ctx.box.open(keys.secret), public

    async def rotate(
        self, who: Principal, wh_id: str, *, secret: str | None, grace_seconds: float
    ) -> tuple[str, str | None]:
        """Replace the secret and key pair; the old ones keep signing for ``grace_seconds``."""
        wh = await self.get(who, wh_id, Action.MANAGE)
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise Invalid(
                f"graceSeconds is 0 to {MAX_GRACE_SECONDS} (30 days).", code="invalid_grace"
            )
        new_secret = secret or generate_secret()
        check_secret(new_secret)
        current = await self.store.get_webhook_keys(wh_id)
        if current is None:
            raise NotFound("No such webhook.")
        now = now_ms()
        previous = [k for k in current.previous_keys or [] if k.expires_at > now]
        if grace_seconds > 0 and current.secret is not None:
            expires = now + round(grace_seconds * 1000)
            previous.insert(
                0,
                GraceKey(
                    secret=current.secret, signing_key=current.signing_key, expires_at=expires
                ),
            )
        private, public = generate_keypair()
        changes = WebhookChanges(
            secret=self.ctx.box.seal(new_secret),
            signing_key=self.ctx.box.seal(private),
            previous_keys=previous[:MAX_PREVIOUS_KEYS],
        )
        await self.store.update_webhook(wh_id, changes, now)
        grace = format_ms(previous[0].expires_at) if grace_seconds > 0 else None
        await self.operational.tell(
            [
                Notice(
                    type="endpoint.secret_rotated",
                    webhook=wh,
                    fields=about(wh, now, by=who.key_id, graceUntil=grace),
                )
            ]
        )
        return new_secret, public

    def checked_change(
        self, ws: Workspace, change: WebhookChange, wh: Webhook | None = None
    ) -> WebhookPatch:
        """The new values ``change`` gives ``wh`` of ``ws`` (None: a webhook to be), if every
        rule lets them be: its URL and hosts may be reached, its headers are not reserved,
        its auth goes with HTTP only and a stored secret stays where it was given for."""
        fields = self._checked(ws, change.fields)
        stored = None if wh is None else wh.auth
        auth = change.auth
        if isinstance(auth, SecretLeftOut):
            auth = auth.with_secret(stored)
        if auth is not UNSET and auth is not None:
            auth = self._checked_auth(auth)
        if wh is None:
            _check_http_only(_or(auth, None), _or(fields.destination, None))
        else:
            _check_http_only(_or(auth, wh.auth), _or(fields.destination, wh.destination))
        if wh is not None and wh.auth is not None:
            kept = isinstance(change.auth, SecretLeftOut)
            if kept or auth is UNSET:
                _check_credentials_stay(wh, _or(fields.url, wh.url), _or(auth, wh.auth), kept=kept)
        return fields if auth is UNSET else replace(fields, auth=auth)

    def _check_offered(
        self,
        who: Principal,
        fields: WebhookPatch,
        auth: EndpointAuth | SecretLeftOut | None,
        *,
        creating: bool,
    ) -> None:
        """A portal user gives a webhook only what the deployment's portal offer names
        (403 ``not_offered``); clearing an option is always allowed. Keys are not bound."""
        if not who.portal:
            return
        offer = self.ctx.settings.portal_offer
        destination = fields.destination
        if destination is not UNSET and destination is not None:
            kind: str | None = destination.kind
        elif creating or destination is None:
            kind = HTTP
        else:
            kind = None
        refused: list[tuple[str, str]] = []
        if kind is not None and kind not in offer.destinations:
            what = "HTTP endpoints" if kind == HTTP else f"{queues.LABELS[kind]} destinations"
            refused.append(("destination" if kind != HTTP else "url", what))
        if auth is not UNSET and auth is not None and not offer.auth:
            refused.append(("auth", "endpoint authentication"))
        if fields.filter is not UNSET and fields.filter is not None and not offer.filters:
            refused.append(("filter", "payload filters"))
        headers = fields.headers is not UNSET and bool(fields.headers)
        if (headers or fields.forward_headers_on_redirect is True) and not offer.headers:
            refused.append(("headers", "custom headers"))
        if (
            fields.rate_limit is not UNSET
            and fields.rate_limit is not None
            and not offer.rate_limit
        ):
            refused.append(("rateLimit", "rate limits"))
        if refused:
            raise Forbidden(
                f"This portal does not offer {refused[0][1]}; ask the provider of this service if you "
                "need them.",
                code="not_offered",
                details=[{"field": f, "message": f"{w} are not offered"} for f, w in refused],
            )

    def _checked_url(self, url: str) -> str:
        """``url`` as it is sent, if this deployment's rules let a webhook reach it."""
        return check_url(
            url,
            allow_http=self.ctx.settings.http_allowed,
            open_network=self.ctx.settings.dev,
            allowed=self.ctx.allowed_networks,
        )

    def _checked_auth(self, auth: EndpointAuth) -> EndpointAuth:
        auth = endpoint_auth.checked(auth, self._checked_url)
        _check_tls_loads(auth)
        return auth

    def _checked(self, ws: Workspace, fields: WebhookPatch) -> WebhookPatch:
        """``fields`` with their URLs as they are sent, if this deployment lets a webhook of
        ``ws`` reach them and take those headers."""
        if fields.destination is not UNSET and fields.destination is not None:
            destination, url = queues.checked(
                fields.destination,
                check_host=lambda url: check_host(
                    url, open_network=self.ctx.settings.dev, allowed=self.ctx.allowed_networks
                ),
                check_url=self._checked_url,
                aws_default_credentials=self.ctx.settings.aws_default_credentials,
            )
            fields = replace(fields, destination=destination, url=url)
        elif fields.url is not UNSET:
            fields = replace(fields, url=self._checked_url(fields.url))
        if fields.headers is not UNSET:
            _check_not_reserved(fields.headers, self.ctx.brand(ws))
        if fields.auth is not UNSET and fields.auth is not None:
            fields = replace(fields, auth=self._checked_auth(fields.auth))
        return fields


def _check_http_only(auth: EndpointAuth | None, destination: Destination | None) -> None:
    """Endpoint auth goes with HTTP only: its credentials must never travel in a message."""
    if auth is not None and destination is not None:
        raise Invalid(
            "auth is for HTTP endpoints; a destination takes its own credentials "
            '(remove auth with "auth": null to give this webhook a destination).',
            code="invalid_auth",
            details=[{"field": "auth", "message": "not with a destination"}],
        )


def _check_credentials_stay(wh: Webhook, url: str, auth: EndpointAuth, *, kept: bool) -> None:
    """Stored credentials go only where they were given for, since nobody can read them back:
    a new URL origin, token URL, username or client id needs the secret sent again
    (``auth_required``). Refused rather than dropped, so that deliveries do not start failing
    at the receiver unnoticed."""
    assert wh.auth is not None
    why = endpoint_auth.moved(wh.url, wh.auth, url, auth)
    if why is None:
        return
    secret = wh.auth.secret_field
    if kept:
        field, send = f"auth.{secret}", f"send auth.{secret} again"
    else:
        field, send = "auth", f'send auth again with its {secret} (or "auth": null)'
    raise Invalid(
        f"{why}: {send}; stored credentials go only where they were given for.",
        code="auth_required",
        details=[{"field": field, "message": f"{why}: {send}"}],
    )


def _check_tls_loads(auth: EndpointAuth | None) -> None:
    """A client certificate TLS itself would refuse (a key too small) is refused now, not at
    every attempt."""
    if not isinstance(auth, MTLS):
        return
    try:
        client_context(auth.certificate, auth.key)
    except ssl.SSLError as exc:
        raise Invalid(
            f"TLS refuses this certificate and key: {exc.reason or exc}.",
            code="invalid_auth",
            details=[{"field": "auth.key", "message": "refused by TLS"}],
        ) from exc


def _check_not_reserved(headers: dict[str, str], brand: str) -> None:
    for name in headers:
        if is_reserved(name, brand):
            raise Invalid(f"Header {name!r} is reserved: Hookline sets it.", code="reserved_header")


def _shown(who: Principal, wh: Webhook) -> Webhook:
    """``wh`` as ``who`` may see it: custom header values masked below admin."""
    return wh if who.sees_secrets else replace(wh, headers=masked(wh.headers))


def _or(value: T, default: T) -> T:
    """``value``, or ``default`` when it is ``UNSET``."""
    return default if value is UNSET else value
