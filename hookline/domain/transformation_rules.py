"""What a transformation may return: the rules of a webhook's URL and custom headers in this
deployment, applied to the webhook object ``handler`` returned. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hookline.domain import transformations
from hookline.domain.headers import is_reserved
from hookline.domain.models import Webhook
from hookline.domain.network_guard import Network, check_url
from hookline.domain.transformations import Cancelled, InvalidResult, Transformed
from hookline.domain.webhook_commands import parse_headers


@dataclass(frozen=True, kw_only=True, slots=True)
class UrlRules:
    """The rules a webhook URL follows in this deployment."""

    allow_http: bool
    open_network: bool
    allowed: Sequence[Network] = ()

    def check(self, url: str) -> str:
        return check_url(
            url, allow_http=self.allow_http, open_network=self.open_network, allowed=self.allowed
        )


def read(text: str, wh: Webhook, *, rules: UrlRules, brand: str) -> Transformed | Cancelled:
    """What the transformation of ``wh`` returned (JSON text), checked by the rules of a
    webhook's URL and headers in this deployment and workspace (``brand``)."""

    def url_rule(url: str) -> str:
        if url == wh.url:
            return url
        if wh.destination is not None:
            raise InvalidResult("A webhook with a destination has no URL to change.")
        return rules.check(url)

    def header_rule(headers: dict[str, str]) -> None:
        parse_headers(headers)
        for name in headers:
            if is_reserved(name, brand):
                raise InvalidResult(f"Header {name!r} is reserved: Hookline sets it.")

    return transformations.parse_result(text, check_url=url_rule, check_headers=header_rule)
