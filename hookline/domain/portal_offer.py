"""What the customer portal offers its users: a deployment's choice. Pure.

A portal user (signed in by a portal link) may give a webhook only the destination kinds and
options the offer names; the portal's form shows only those, and the service refuses the
others (403 ``not_offered``) whatever sends them. Keys, and the admin UI signed in with one,
are not bound by it. By default a customer gets HTTP endpoints with custom headers, a payload
filter, endpoint authentication and a rate limit; queues, streams and topics (which point
into networks the operator runs) only when the deployment lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookline.domain.queues import KINDS

HTTP = "http"
DESTINATIONS = (HTTP, *KINDS)
OPTIONS = {"auth": "auth", "filters": "filters", "headers": "headers", "rateLimit": "rate_limit"}


class InvalidOffer(ValueError):
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalOffer:
    destinations: tuple[str, ...] = (HTTP,)
    auth: bool = True
    filters: bool = True
    headers: bool = True
    rate_limit: bool = True

    @property
    def http(self) -> bool:
        return HTTP in self.destinations

    @property
    def queues(self) -> tuple[str, ...]:
        """The destination kinds other than HTTP offered, in the order of ``queues.KINDS``."""
        return tuple(k for k in KINDS if k in self.destinations)

    def to_json(self) -> dict[str, Any]:
        return {
            "destinations": list(self.destinations),
            **{key: getattr(self, name) for key, name in OPTIONS.items()},
        }


def parse_offer(raw: Any, name: str) -> PortalOffer:
    """The offer a setting's JSON gives; fields left out keep their defaults."""
    if raw is None:
        return PortalOffer()
    if not isinstance(raw, dict):
        raise InvalidOffer(f"{name} is a JSON object.")
    unknown = set(raw) - {"destinations", *OPTIONS}
    if unknown:
        raise InvalidOffer(f"{name} has unknown fields: {', '.join(sorted(unknown))}.")
    fields: dict[str, Any] = {}
    if "destinations" in raw:
        kinds = raw["destinations"]
        if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(DESTINATIONS):
            raise InvalidOffer(
                f"{name}.destinations is a non-empty list of {', '.join(DESTINATIONS)}."
            )
        fields["destinations"] = tuple(k for k in DESTINATIONS if k in kinds)
    for key, attr in OPTIONS.items():
        if key in raw:
            if not isinstance(raw[key], bool):
                raise InvalidOffer(f"{name}.{key} is true or false.")
            fields[attr] = raw[key]
    return PortalOffer(**fields)
