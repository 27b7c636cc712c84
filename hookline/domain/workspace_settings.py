"""What a workspace may set for all its webhooks: the delivery format, a retry policy and its
customer portal's brand. Pure.

A workspace's ``settings`` is JSON with four optional members: three layers over the
deployment's own, ``delivery`` (``signature``, ``envelope``, ``brand``, ``userAgent``: how
deliveries are signed, shaped and named), ``retryPolicy`` (a ``PolicyLayer``) and
``portal`` (a ``BrandLayer``: how the customer portal looks); and ``ttl``, the seconds an
event that gives none stays worth delivering (``parse_ttl``).
``parse_settings`` turns the JSON into ``WorkspaceSettings`` or says every rule it breaks;
``DeliveryFormat.over`` gives the format a delivery is made in. ``SVIX_FORMAT`` is what a
receiver written for Svix verifies and parses (``svix-*`` headers, the data as the body);
``svix_settings`` is the ``settings`` JSON of a workspace that delivers so by default.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any

from hookline.domain.envelope import ENVELOPES
from hookline.domain.limits import MAX_TTL, MIN_TTL
from hookline.domain.portal_brand import BrandLayer, brand_problems, load_brand
from hookline.domain.retry import InvalidPolicy, PolicyLayer, load_policy, parse_policy
from hookline.signing import SCHEMES

BRAND_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
MAX_USER_AGENT = 256


@dataclass(frozen=True, kw_only=True, slots=True)
class FormatLayer:
    """A workspace's overrides of the delivery format; a field left out (None) is the
    deployment's."""

    signature: str | None = None
    envelope: str | None = None
    brand: str | None = None
    user_agent: str | None = None
    nulls: frozenset[str] = frozenset()  # the fields given as null, shown as given

    def to_json(self) -> dict[str, str | None]:
        fields = {
            "signature": self.signature,
            "envelope": self.envelope,
            "brand": self.brand,
            "userAgent": self.user_agent,
        }
        return {k: v for k, v in fields.items() if v is not None or k in self.nulls}


# Svix's wire format: the Standard Webhooks signature under ``svix-*`` names, no envelope.
SVIX_FORMAT = FormatLayer(signature="svix", envelope="raw")


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryFormat:
    """How deliveries are made: the signature scheme, the envelope, the ``X-{brand}-`` prefix
    of Hookline's headers and the User-Agent."""

    signature: str = "standard"
    envelope: str = "standard"
    brand: str = "Hookline"
    user_agent: str = "Hookline-Webhook/1.0"

    def over(self, layer: FormatLayer | None) -> DeliveryFormat:
        """This format with ``layer``'s overrides (each distinct pair merged once: both are
        frozen, and every delivery of a workspace asks for the same)."""
        return self if layer is None else _over(self, layer)

    def to_json(self) -> dict[str, str]:
        return {
            "signature": self.signature,
            "envelope": self.envelope,
            "brand": self.brand,
            "userAgent": self.user_agent,
        }


@functools.lru_cache(maxsize=1024)
def _over(base: DeliveryFormat, layer: FormatLayer) -> DeliveryFormat:
    return replace(
        base,
        signature=layer.signature or base.signature,
        envelope=layer.envelope or base.envelope,
        brand=layer.brand or base.brand,
        user_agent=layer.user_agent or base.user_agent,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkspaceSettings:
    delivery: FormatLayer | None = None
    retry_policy: PolicyLayer | None = None
    portal: BrandLayer | None = None
    ttl: int | None = None  # seconds an event that gives no ttl stays worth delivering
    nulls: frozenset[str] = frozenset()  # the settings given as null, shown as given

    def to_json(self) -> dict[str, Any]:
        """The settings as the API shows them and the stores keep them."""
        shown: dict[str, Any] = dict.fromkeys(sorted(self.nulls))
        if self.delivery is not None:
            shown["delivery"] = self.delivery.to_json()
        if self.retry_policy is not None:
            shown["retryPolicy"] = self.retry_policy.to_json()
        if self.portal is not None:
            shown["portal"] = self.portal.to_json()
        if self.ttl is not None:
            shown["ttl"] = self.ttl
        return shown


def svix_settings() -> dict[str, Any]:
    """The ``settings`` of a new workspace whose deliveries are in Svix's wire format (what
    a workspace created through the Svix-compatible API starts with); the brand and the
    User-Agent stay the deployment's."""
    return {"delivery": SVIX_FORMAT.to_json()}


class InvalidSettings(ValueError):
    """Settings break their rules; ``problems`` are human-readable, one per rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_settings(raw: Any) -> WorkspaceSettings:
    """The settings a JSON value gives (null: none); ``InvalidSettings`` saying every rule
    it breaks."""
    if raw is None:
        return WorkspaceSettings()
    if not isinstance(raw, dict):
        raise InvalidSettings(["settings must be an object"])
    unknown = set(raw) - {"delivery", "retryPolicy", "portal", "ttl"}
    problems = [f"settings.{k} is not a known setting" for k in sorted(unknown)]
    delivery = raw.get("delivery")
    if delivery is not None:
        problems += format_problems(delivery, "settings.delivery")
    portal = raw.get("portal")
    if portal is not None:
        problems += brand_problems(portal, "settings.portal")
    if raw.get("ttl") is not None and parse_ttl(raw["ttl"]) is None:
        problems.append(f"settings.ttl {TTL_RULE}")
    try:
        parse_policy(raw.get("retryPolicy"), "settings.retryPolicy")
    except InvalidPolicy as exc:
        problems += exc.problems
    if problems:
        raise InvalidSettings(problems)
    return load_settings(raw)


def load_settings(raw: dict[str, Any]) -> WorkspaceSettings:
    """The settings a stored (already parsed) JSON value holds."""
    delivery, policy, portal = raw.get("delivery"), raw.get("retryPolicy"), raw.get("portal")
    return WorkspaceSettings(
        delivery=None if delivery is None else _format_layer(delivery),
        retry_policy=None if policy is None else load_policy(policy),
        portal=None if portal is None else load_brand(portal),
        ttl=None if raw.get("ttl") is None else int(raw["ttl"]),
        nulls=_nulls(raw),
    )


TTL_RULE = f"must be a whole number of seconds from {MIN_TTL} to {MAX_TTL}"


def parse_ttl(raw: Any) -> int | None:
    """A ttl in seconds (an integer, or a float with no fraction, within the range), or None
    when ``raw`` is not one."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if isinstance(raw, float) and not raw.is_integer():
        return None
    return int(raw) if MIN_TTL <= raw <= MAX_TTL else None


def parse_format(raw: Any, name: str) -> DeliveryFormat:
    """A complete delivery format: the defaults with what ``raw`` (JSON) sets;
    ``InvalidSettings`` when it breaks a rule. ``name`` is what the messages call it."""
    problems = format_problems(raw, name)
    if problems:
        raise InvalidSettings(problems)
    return DeliveryFormat().over(_format_layer(raw))


def format_problems(raw: Any, name: str) -> list[str]:
    """Human-readable problems with a JSON delivery format; empty when valid."""
    if not isinstance(raw, dict):
        return [f"{name} must be an object"]
    problems = [
        f"{name}.{k} is not a known field"
        for k in raw
        if k not in ("signature", "envelope", "brand", "userAgent")
    ]
    if "signature" in raw and raw["signature"] not in SCHEMES:
        problems.append(f"{name}.signature must be one of {', '.join(SCHEMES)}")
    if "envelope" in raw and raw["envelope"] not in ENVELOPES:
        problems.append(f"{name}.envelope must be one of {', '.join(ENVELOPES)}")
    brand = raw.get("brand")
    if brand is not None and not (isinstance(brand, str) and BRAND_RE.fullmatch(brand)):
        problems.append(f"{name}.brand must be 1-32 letters, digits or dashes")
    agent = raw.get("userAgent")
    if agent is not None and not (
        isinstance(agent, str) and 0 < len(agent) <= MAX_USER_AGENT and agent.isprintable()
    ):
        problems.append(f"{name}.userAgent must be 1-{MAX_USER_AGENT} printable characters")
    return problems


def _format_layer(raw: dict[str, Any]) -> FormatLayer:
    return FormatLayer(
        signature=raw.get("signature"),
        envelope=raw.get("envelope"),
        brand=raw.get("brand"),
        user_agent=raw.get("userAgent"),
        nulls=_nulls(raw),
    )


def _nulls(raw: dict[str, Any]) -> frozenset[str]:
    return frozenset(name for name, value in raw.items() if value is None)
