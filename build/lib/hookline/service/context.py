"""What every service needs: settings, the store, the secret box, a wake-up call."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookline.domain.destinations import Network, parse_networks
from hookline.domain.envelope import ENVELOPES
from hookline.domain.models import Workspace
from hookline.domain.retry import validate_policy
from hookline.errors import Invalid
from hookline.metrics import Metrics
from hookline.secrets import SecretBox
from hookline.service.cache import ConfigCache
from hookline.settings import Settings
from hookline.signing import SCHEMES
from hookline.store.port import Store

BRAND_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
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
    def allow_http(self) -> bool:
        return self.settings.dev or self.settings.allow_http

    def delivery_settings(self, ws_settings: dict[str, Any]) -> dict[str, str]:
        return {**self.settings.delivery, **(ws_settings.get("delivery") or {})}

    def brand(self, ws: Workspace) -> str:
        return self.delivery_settings(ws.settings)["brand"]


def validate_workspace_settings(raw: Any) -> dict[str, Any]:
    """Check a workspace's ``settings`` (delivery and retryPolicy overrides)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid("settings must be an object.", code="invalid_settings")
    unknown = set(raw) - {"delivery", "retryPolicy"}
    problems = [f"settings.{k} is not a known setting" for k in sorted(unknown)]
    delivery = raw.get("delivery")
    if delivery is not None:
        problems += validate_delivery(delivery)
    problems += validate_policy(raw.get("retryPolicy"), "settings.retryPolicy")
    if problems:
        raise Invalid(
            summary("The workspace settings are invalid", problems),
            code="invalid_settings",
            details=problems,
        )
    return raw


def summary(lead: str, problems: list[str]) -> str:
    """``lead``, the first problem, and how many more the details list."""
    more = f" (and {len(problems) - 1} more, see details)" if len(problems) > 1 else ""
    return f"{lead}: {problems[0]}{more}."


def validate_delivery(delivery: Any) -> list[str]:
    if not isinstance(delivery, dict):
        return ["settings.delivery must be an object"]
    problems = [
        f"settings.delivery.{k} is not a known field"
        for k in delivery
        if k not in ("signature", "envelope", "brand", "userAgent")
    ]
    if "signature" in delivery and delivery["signature"] not in SCHEMES:
        problems.append(f"settings.delivery.signature must be one of {', '.join(SCHEMES)}")
    if "envelope" in delivery and delivery["envelope"] not in ENVELOPES:
        problems.append(f"settings.delivery.envelope must be one of {', '.join(ENVELOPES)}")
    brand = delivery.get("brand")
    if brand is not None and not (isinstance(brand, str) and BRAND_RE.fullmatch(brand)):
        problems.append("settings.delivery.brand must be 1-32 letters, digits or dashes")
    agent = delivery.get("userAgent")
    if agent is not None and not (
        isinstance(agent, str) and 0 < len(agent) <= 256 and agent.isprintable()
    ):
        problems.append("settings.delivery.userAgent must be 1-256 printable characters")
    return problems


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))
