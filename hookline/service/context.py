"""What every service needs: settings, the store, the secret box, a wake-up call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookline.domain.models import Workspace
from hookline.domain.network_guard import Network, parse_networks, url_hint
from hookline.domain.portal_brand import PortalBrand
from hookline.domain.workspace_settings import (
    DeliveryFormat,
    InvalidSettings,
    WorkspaceSettings,
    parse_settings,
)
from hookline.errors import Invalid, summary
from hookline.metrics import Metrics
from hookline.secrets import SecretBox
from hookline.service.cache import ConfigCache
from hookline.service.configuration import Process
from hookline.settings import Settings
from hookline.store.port import Store

MAX_LIMIT = 250
DEFAULT_LIMIT = 50


@dataclass(kw_only=True)
class Context:
    settings: Settings
    store: Store
    box: SecretBox
    wake: Callable[[], None] = lambda: None
    allowed_networks: tuple[Network, ...] = field(default=())
    metrics: Metrics = field(default_factory=Metrics)
    # What this server is: its role and the dispatcher processes it runs (``hookline serve``
    # sets them; an application built without it is one process that does everything).
    process: Process = field(default_factory=lambda: Process(role="all", dispatcher_processes=0))
    cache: ConfigCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = ConfigCache(self.store)

    @classmethod
    def build(cls, settings: Settings, store: Store, box: SecretBox) -> Context:
        return cls(
            settings=settings,
            store=store,
            box=box,
            allowed_networks=parse_networks(settings.allowed_networks),
        )

    @property
    def url_hint(self) -> str:
        """What a webhook URL may be on this deployment (its mode, http://, allowed networks)."""
        return url_hint(
            allow_http=self.settings.http_allowed,
            open_network=self.settings.dev,
            allowed=self.allowed_networks,
        )

    def delivery_format(self, ws_settings: WorkspaceSettings) -> DeliveryFormat:
        """How a workspace's deliveries are made: the deployment's format, its overrides."""
        return self.settings.delivery.over(ws_settings.delivery)

    def portal_brand(self, ws_settings: WorkspaceSettings) -> PortalBrand:
        """How a workspace's customer portal looks: the deployment's brand, its overrides."""
        return self.settings.portal_brand.over(ws_settings.portal)

    def brand(self, ws: Workspace) -> str:
        return self.delivery_format(ws.settings).brand


def parsed_settings(raw: Any) -> WorkspaceSettings:
    """A workspace's ``settings`` (delivery, retryPolicy and portal overrides) from JSON."""
    try:
        return parse_settings(raw)
    except InvalidSettings as exc:
        raise Invalid(
            summary("The workspace settings are invalid", exc.problems),
            code="invalid_settings",
            details=exc.problems,
        ) from exc


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))
