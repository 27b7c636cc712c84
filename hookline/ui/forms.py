"""The webhook form: what the page shows, the body it hands the service layer, and the
service's validation errors put back next to the field they are about."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from hookline.domain import endpoint_auth, queues
from hookline.domain.limits import MAX_URL
from hookline.domain.models import EventType, Webhook, Workspace
from hookline.domain.portal_offer import PortalOffer
from hookline.domain.webhook_commands import parse_change
from hookline.errors import HooklineError, Invalid
from hookline.service import Principal, Services
from hookline.ui.web import Form

# The API's own limits (hookline.api.schemas.WebhookFields), checked before the service's rules.
BLANK_HEADER_ROWS = 2

FIELD_OF_CODE = {
    "invalid_url": "url",
    "https_required": "url",
    "url_not_allowed": "url",
    "invalid_events": "events",
    "invalid_header": "headers",
    "reserved_header": "headers",
    "invalid_name": "name",
    "invalid_description": "description",
    "invalid_filter": "filter",
    "invalid_channels": "channels",
    "invalid_auth": "auth",
    "auth_required": "auth",
    "invalid_destination": "destination",
}
# The form's fields of each kind of endpoint auth (form name → auth field); secret ones are
# never shown, and left empty on an edit they are left out: the service keeps the stored
# secret while it goes to the same place, and otherwise asks for it again.
AUTH_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "basic": (("auth_username", "username"), ("auth_password", "password")),
    "bearer": (("auth_token", "token"),),
    "oauth2": (
        ("auth_token_url", "tokenUrl"),
        ("auth_client_id", "clientId"),
        ("auth_client_secret", "clientSecret"),
        ("auth_scope", "scope"),
        ("auth_client_auth", "clientAuth"),
    ),
    "mtls": (("auth_certificate", "certificate"), ("auth_key", "key")),
}
SECRET_FIELDS = frozenset(endpoint_auth.SECRETS.values())
# Where a stored destination secret goes: it is kept for an empty field only while these
# stay the same, so that nobody who may edit a webhook can send its secret to a host of
# their own choosing.
SECRET_GOES_TO = (
    "url",
    "endpointUrl",
    "queueUrl",
    "topicArn",
    "region",
    "username",
    "accessKeyId",
)
# The fields the form groups under "Advanced options", collapsed unless one is set.
ADVANCED = frozenset({"description", "destination", "headers", "filter", "channels", "auth"})
PATTERN_SPLIT = re.compile(r"[\s,]+")
CATALOG_PAGES = 20


@dataclass(kw_only=True)
class WebhookForm:
    """The values a webhook form shows, and the errors by field ("" for the whole form)."""

    name: str = ""
    url: str = ""
    description: str = ""
    events: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    forward_headers: bool = False  # the custom headers go with a redirect to another origin
    filter: str = ""  # the filter as JSON text, "" for none
    channels: str = ""  # channel names as typed, separated by spaces or commas; "" for none
    auth_type: str = ""  # "" for none
    auth: dict[str, str] = field(default_factory=dict)  # by auth field; secrets only as typed
    destination_type: str = ""  # "" for HTTP
    destination: str = ""  # the destination's fields as JSON text, without its secrets
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def advanced_open(self) -> bool:
        """Whether "Advanced options" start open: one of them is set, or has an error."""
        return bool(
            ADVANCED & set(self.errors)
            or self.description
            or self.destination_type
            or self.headers
            or self.forward_headers
            or self.filter
            or self.channels
            or self.auth_type
        )

    @classmethod
    def of(cls, wh: Webhook) -> WebhookForm:
        return cls(
            name=wh.name,
            url=wh.url,
            description=wh.description,
            events=list(wh.events),
            headers=list(wh.headers.items()),
            forward_headers=wh.forward_headers_on_redirect,
            filter=json.dumps(wh.filter.to_json(), indent=2) if wh.filter else "",
            channels=" ".join(wh.channels),
            auth_type=wh.auth.kind if wh.auth else "",
            auth={
                k: str(v)
                for k, v in (wh.auth.to_json() if wh.auth else {}).items()
                if k not in SECRET_FIELDS | {"type"}
            },
            destination_type=wh.destination.kind if wh.destination else "",
            destination=json.dumps(
                {k: v for k, v in wh.destination.public().items() if k != "type"},
                indent=2,
            )
            if wh.destination
            else "",
        )

    @classmethod
    def parse(cls, form: Form) -> WebhookForm:
        chosen = form.getlist("events")
        chosen += [p for p in PATTERN_SPLIT.split(form.get("more_events")) if p]
        names, values = form.getlist("header_name"), form.getlist("header_value")
        return cls(
            name=form.get("name").strip(),
            url=form.get("url").strip(),
            description=form.get("description").strip(),
            events=list(dict.fromkeys(chosen)),
            headers=[(n.strip(), v) for n, v in zip(names, values, strict=False) if n or v],
            forward_headers="forward_headers" in form,
            filter=form.get("filter").strip(),
            channels=form.get("channels").strip(),
            auth_type=form.get("auth_type"),
            auth={
                name: form.get(key).strip()
                for fields in AUTH_FIELDS.values()
                for key, name in fields
                if form.get(key).strip()
            },
            destination_type=form.get("destination_type"),
            destination=form.get("destination").strip(),
        )

    def header_rows(self) -> list[tuple[str, str]]:
        """The rows the user filled in and one blank row (two on an empty form)."""
        blanks = max(1, BLANK_HEADER_ROWS - len(self.headers))
        return [*self.headers, *[("", "")] * blanks]

    def extra_patterns(self, catalog: list[EventType]) -> str:
        """The chosen patterns without a checkbox of their own, for the free-text field."""
        boxes = set(checkbox_patterns(catalog))
        return "\n".join(p for p in self.events if p not in boxes)

    def body(
        self,
        stored_destination: queues.Destination | None = None,
        offer: PortalOffer | None = None,
    ) -> dict[str, Any]:
        """The service's request body; the API's length limits are checked here first.
        A destination's secret left out keeps the stored one, for the same kind and place.
        With a portal's ``offer``, the options it does not offer are left out (the form does
        not show them, and what an operator set there stays)."""
        body = self._body(stored_destination)
        if offer is None:
            return body
        hidden = {
            "filter": not offer.filters,
            "auth": not offer.auth,
            "headers": not offer.headers,
            "forwardHeadersOnRedirect": not offer.headers,
            "destination": not offer.queues,
        }
        return {k: v for k, v in body.items() if not hidden.get(k)}

    def _body(self, stored_destination: queues.Destination | None) -> dict[str, Any]:
        if len(self.url) > MAX_URL:
            self.errors["url"] = f"The URL is at most {MAX_URL} characters."
        if not self.url and self.destination_type not in queues.KINDS:
            self.errors["url"] = "Enter the endpoint URL."
        if not self.events:
            self.errors["events"] = "Choose at least one event, or enter a pattern such as course.*"
        headers: dict[str, str] = {}
        for name, value in self.headers:
            if not name:
                self.errors["headers"] = f"The header with value {value!r} needs a name."
            elif name.lower() in (n.lower() for n in headers):
                self.errors["headers"] = f"Header {name!r} is given twice."
            headers[name] = value
        return {
            "name": self.name,
            "url": self.url,
            "description": self.description,
            "events": self.events,
            "headers": headers,
            "forwardHeadersOnRedirect": self.forward_headers,
            "filter": self._filter(),
            "channels": [c for c in PATTERN_SPLIT.split(self.channels) if c],
            "auth": self._auth(),
            "destination": self._destination(stored_destination),
        }

    def _destination(self, stored: queues.Destination | None) -> dict[str, Any] | None:
        if self.destination_type not in queues.KINDS:
            return None
        try:
            fields = json.loads(self.destination or "{}")
        except ValueError as exc:
            self.errors["destination"] = f"The destination settings are not valid JSON: {exc}."
            return None
        if not isinstance(fields, dict):
            self.errors["destination"] = "The destination settings are a JSON object."
            return None
        return _keep_secrets({**fields, "type": self.destination_type}, stored)

    def _filter(self) -> Any:
        if not self.filter:
            return None
        try:
            return json.loads(self.filter)
        except ValueError as exc:
            self.errors["filter"] = f"The filter is not valid JSON: {exc}."
            return None

    def _auth(self) -> dict[str, Any] | None:
        if self.auth_type not in AUTH_FIELDS:
            return None
        auth: dict[str, Any] = {"type": self.auth_type}
        for _key, name in AUTH_FIELDS[self.auth_type]:
            if name in self.auth:
                auth[name] = self.auth[name]
        return auth

    def check_each_field(
        self, svc: Services, ws: Workspace, body: dict[str, Any], stored: Webhook | None = None
    ) -> None:
        """The service stops at the first wrong field, so each field still without an error
        is checked on its own by the service's rules (an edit's against ``stored``): every
        message shows at once."""
        unchecked = {
            n: body[n]
            for n in (
                "url",
                "name",
                "description",
                "events",
                "headers",
                "filter",
                "channels",
                "auth",
                "destination",
            )
            if n in body and n not in self.errors
        }
        # A destination brings its own URL; without one, the URL is checked as it is.
        unchecked.pop("url" if body.get("destination") is not None else "destination", None)
        for name, value in unchecked.items():
            try:
                svc.webhooks.checked_change(ws, parse_change({name: value}), stored)
            except Invalid as exc:
                self.take(exc)

    def take(self, exc: HooklineError) -> None:
        """Show a service error next to its field (or above the form)."""
        where = FIELD_OF_CODE.get(exc.error_code, "") if isinstance(exc, Invalid) else ""
        message = exc.message
        bad = [d["pattern"] for d in exc.details or [] if isinstance(d, dict) and "pattern" in d]
        if bad:
            message += " Not valid: " + ", ".join(repr(p) for p in bad) + "."
        fields = [d["field"] for d in exc.details or [] if isinstance(d, dict) and "field" in d]
        if fields:
            message = f"{fields[0]}: {message}"
        self.errors[where] = message


def _keep_secrets(given: dict[str, Any], destination: queues.Destination | None) -> dict[str, Any]:
    """The destination ``given`` with the stored secrets it leaves out, when it is the same
    kind going to the same place (``SECRET_GOES_TO``); otherwise as it is."""
    if destination is None or destination.kind != given["type"]:
        return given
    stored = destination.to_json()
    if any(given.get(k) != stored.get(k) for k in SECRET_GOES_TO if k in given or k in stored):
        return given
    return {**{k: stored[k] for k in queues.SECRETS & stored.keys()}, **given}


def checkbox_patterns(catalog: list[EventType]) -> list[str]:
    """Every pattern the form offers a checkbox for: *, each category's prefix, each type."""
    found = ["*"]
    for category, types in by_category(catalog):
        pattern = category_pattern(category, types)
        found += ([pattern] if pattern else []) + [t.name for t in types]
    return found


def category_pattern(category: str, types: list[EventType]) -> str | None:
    """``course.*`` or ``course/*`` when every type of the category is below that prefix."""
    for sep in (".", "/"):
        if all(t.name.startswith(f"{category}{sep}") for t in types):
            return f"{category}{sep}*"
    return None


def by_category(catalog: list[EventType]) -> list[tuple[str, list[EventType]]]:
    groups: dict[str, list[EventType]] = {}
    for et in sorted(catalog, key=lambda e: (e.category, e.name)):
        groups.setdefault(et.category, []).append(et)
    return list(groups.items())


async def whole_catalog(svc: Services, who: Principal) -> list[EventType]:
    """Every event type in the catalog (up to CATALOG_PAGES pages of 250)."""
    types: list[EventType] = []
    cursor: str | None = None
    for _ in range(CATALOG_PAGES):
        page = await svc.catalog.list(
            who, category=None, include_archived=False, limit=250, cursor=cursor
        )
        types += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return types
