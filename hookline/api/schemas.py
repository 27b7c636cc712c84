"""Request and response bodies of the HTTP API, as the OpenAPI document shows them.

Field names are the wire's camelCase. ``*_out`` functions turn domain objects
into response bodies.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema
from pydantic.config import JsonDict

from hookline.domain import endpoint_auth, queues
from hookline.domain import portal_brand as brand
from hookline.domain.channels import CHANNEL_PATTERN
from hookline.domain.envelope import ENVELOPES
from hookline.domain.limits import (
    MAX_CHANNEL_LENGTH,
    MAX_CHANNELS,
    MAX_DESCRIPTION,
    MAX_EVENT_PATTERNS,
    MAX_GRACE_SECONDS,
    MAX_HEADERS,
    MAX_NAME,
    MAX_RATE_LIMIT,
    MAX_SCHEMA_VERSIONS,
    MAX_STATUS_REASON,
    MAX_TTL,
    MAX_URL,
    MIN_RATE_LIMIT,
    MIN_TTL,
    SCHEMA_VERSION_PATTERN,
)
from hookline.domain.models import (
    STUCK_AFTER_FAULTS,
    ApiKey,
    Attempt,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    Role,
    Webhook,
    Workspace,
)
from hookline.domain.retry import (
    DEFAULT_MAX_RETRY_AFTER,
    EXPONENTIAL_FIELDS,
    MAX_ATTEMPTS,
    MAX_DELAY,
    MAX_TIMEOUT,
)
from hookline.ids import format_ms
from hookline.signing import SCHEMES

T = TypeVar("T")

Timestamp = Annotated[
    str,
    Field(
        description="RFC 3339 UTC with milliseconds, e.g. 2026-03-18T10:05:00.000Z.",
        json_schema_extra={
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        },
    ),
]
TimeIn = Annotated[
    str,
    Field(
        max_length=64,
        description="RFC 3339 time, e.g. 2026-03-18T10:05:00Z (or unix seconds).",
        json_schema_extra={"format": "date-time"},
    ),
]


def prefixed(prefix: str) -> Any:
    """A Hookline-made id: the type prefix and a ULID."""
    return Field(
        description=f"{prefix}_ followed by a ULID (sorts by creation time).",
        json_schema_extra={"pattern": f"^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$"},
    )


EVENT_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"
EVENT_PATTERN = r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}([./]\*)?)$"


def _range(
    kind: str, low: float, high: float, description: str, *, nullable: bool = True, **extra: Any
) -> JsonDict:
    return {
        "type": [kind, "null"] if nullable else kind,
        "minimum": low,
        "maximum": high,
        "description": description,
        **extra,
    }


def _exponential_field(key: str, description: str, default: float) -> JsonDict:
    low, high = EXPONENTIAL_FIELDS[key]
    kind = "integer" if key == "retries" else "number"
    return _range(kind, low, high, description, nullable=False, default=default)


TTL_DOC = (
    f"Seconds ({MIN_TTL} to {MAX_TTL}) the event stays worth delivering: a delivery whose "
    "next attempt would start after the event's creation + ttl is not attempted and ends "
    "expired."
)


# A workspace's default ttl, as the service checks it (422 invalid_settings).
DefaultTtlIn = Annotated[
    Any,
    WithJsonSchema(
        _range(
            "integer",
            MIN_TTL,
            MAX_TTL,
            "The ttl of the workspace's events that give none (null: none). " + TTL_DOC,
        )
    ),
]


# The retry policy as the service checks it (422 invalid_retry_policy, or invalid_settings in
# a workspace's settings). Each top-level field may be left out or null: it then comes from
# the workspace's policy, the deployment's, or the default; inside exponential, left out only.
RETRY_POLICY_SCHEMA: JsonDict = {
    "type": "object",
    "additionalProperties": False,
    "description": "How often and for how long a failed delivery is retried.",
    "properties": {
        "schedule": {
            "type": ["array", "null"],
            "minItems": 1,
            "maxItems": MAX_ATTEMPTS,
            "items": {"type": "number", "minimum": 0, "maximum": MAX_DELAY},
            "description": "One entry per attempt: the seconds to wait before it (the first "
            "is normally 0). Default 0, 5, 300, 1800, 7200, 18000, 36000, 36000.",
        },
        "exponential": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "description": "Instead of schedule: a first attempt at once, then `retries` "
            "more, waiting initial, initial * factor, initial * factor^2, … seconds, each "
            "wait at most max.",
            "properties": {
                "initial": _exponential_field("initial", "Seconds before the first retry.", 1),
                "factor": _exponential_field("factor", "Each wait is this times the last.", 2),
                "retries": _exponential_field("retries", "Retries after the first attempt.", 8),
                "max": _exponential_field("max", "The longest wait, in seconds.", 3600),
            },
        },
        "retryOn": {
            "anyOf": [
                {"const": "any"},
                {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}},
                {"type": "null"},
            ],
            "description": 'Statuses worth a retry ("any", the default, retries every '
            "non-2xx); timeouts and network errors are always retried.",
        },
        "timeout": {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "maximum": MAX_TIMEOUT,
            "default": 10,
            "description": "Seconds an attempt may take.",
        },
        "followRedirects": {"type": ["boolean", "null"], "default": False},
        "jitter": _range(
            "number", 0, 1, "Each wait varies at random by up to this fraction.", default=0.2
        ),
        "onExhausted": {
            "enum": ["fail", "pause", None],
            "default": "fail",
            "description": "After the last attempt: fail the delivery, or also pause the webhook.",
        },
        "maxRetryAfter": _range(
            "number",
            0,
            MAX_DELAY,
            "The longest wait, in seconds, that an endpoint's Retry-After (on a 429 or 503) may "
            "ask for before the next attempt; the wait is never shorter than the schedule's. "
            "0 ignores Retry-After.",
            default=DEFAULT_MAX_RETRY_AFTER,
        ),
    },
}
RetryPolicyIn = Annotated[dict[str, Any], WithJsonSchema(RETRY_POLICY_SCHEMA)]

# How deliveries are made, as the service checks it (422 invalid_settings). A field left out
# comes from the deployment's HOOKLINE_DELIVERY.
DELIVERY_SCHEMA: JsonDict = {
    "type": "object",
    "additionalProperties": False,
    "description": "How deliveries are signed, shaped and named.",
    "properties": {
        "signature": {
            "enum": list(SCHEMES),
            "default": "standard",
            "description": "standard (Standard Webhooks HMAC), ed25519 (Standard Webhooks v1a), "
            "hmac-sha256 (X-{Brand}-Signature-256 over timestamp.body), hmac-sha256-body "
            "(X-{Brand}-Hmac-Sha256 over the body), rfc9421 (HTTP Message Signatures with "
            "Content-Digest) or none.",
        },
        "envelope": {
            "enum": list(ENVELOPES),
            "default": "standard",
            "description": "The body: standard {id, type, timestamp, data}, typed {id, type, "
            "workspaceId, createdAt, data} or dated {date, event, data}.",
        },
        "brand": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
            "default": "Hookline",
            "description": "The X-{Brand}- prefix of Hookline's own headers.",
        },
        "userAgent": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "default": "Hookline-Webhook/1.0",
            "description": "The User-Agent of every delivery.",
        },
    },
}
DeliverySettingsIn = Annotated[dict[str, str], WithJsonSchema(DELIVERY_SCHEMA)]

# The customer portal's brand, as the service checks it (422 invalid_settings). A field left
# out comes from the deployment's HOOKLINE_PORTAL_BRAND.
PORTAL_SCHEMA: JsonDict = {
    "type": "object",
    "additionalProperties": False,
    "description": "How the customer portal looks to this workspace's customers. With a name "
    "or a logo set, the portal shows no Hookline name or mark.",
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": brand.MAX_NAME,
            "description": "The product's name, shown in the portal's header.",
            "examples": ["Acme LMS"],
        },
        "logo": {
            "type": "string",
            "description": "An https:// image URL, or an inline SVG document (<svg xmlns=…>…"
            f"</svg>, at most {brand.MAX_SVG // 1024} KiB, without scripts, event handlers, "
            "links or external images). Always shown as an image.",
        },
        "accentColor": {
            "type": "string",
            "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$",
            "description": "Colour of links, buttons and the current tab.",
            "examples": ["#0a7d5a"],
        },
        "theme": {"enum": [t.value for t in brand.Theme], "default": "light"},
        "title": {
            "type": "string",
            "minLength": 1,
            "maxLength": brand.MAX_TITLE,
            "description": "The page title after each page's own; default: name.",
        },
        "footerLinks": {
            "type": "array",
            "maxItems": brand.MAX_FOOTER_LINKS,
            "description": "Links in the footer; [] for no footer.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["text", "url"],
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": brand.MAX_LINK_TEXT},
                    "url": {"type": "string", "description": "https://, http:// or mailto:"},
                },
            },
        },
        "terms": {
            "type": "object",
            "additionalProperties": False,
            "description": "The words customers see for an endpoint and a webhook; plurals "
            "default to the word with an s.",
            "properties": {
                name: {"type": "string", "minLength": 1, "maxLength": brand.MAX_TERM}
                for name in brand.TERMS
            },
            "examples": [{"endpoint": "integration", "webhook": "integration"}],
        },
    },
}
PortalSettingsIn = Annotated[dict[str, Any], WithJsonSchema(PORTAL_SCHEMA)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Ok(Out, Generic[T]):
    ok: Literal[True] = True
    data: T


class OkList(Out, Generic[T]):
    ok: Literal[True] = True
    data: list[T]
    nextCursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end."
    )


class ErrorBody(Out):
    code: str = Field(description="Stable snake_case code, e.g. https_required.")
    message: str = Field(description="A human sentence saying what is wrong.")
    details: list[Any] | None = None


class ErrorResponse(Out):
    ok: Literal[False] = False
    error: ErrorBody


# -- workspaces and keys --------------------------------------------------------


class WorkspaceSettings(In):
    delivery: DeliverySettingsIn | None = Field(
        None, description="How deliveries are made; fields left out take the deployment's."
    )
    retryPolicy: RetryPolicyIn | None = Field(
        None, description="The workspace's retry policy: its webhooks' defaults."
    )
    portal: PortalSettingsIn | None = Field(
        None, description="The customer portal's brand; fields left out take the deployment's."
    )
    ttl: DefaultTtlIn | None = None


class WorkspaceCreate(In):
    id: str | None = Field(
        None,
        description="The product's own id ([A-Za-z0-9_-]{1,64}), else ws_…",
        json_schema_extra={"pattern": "^[A-Za-z0-9_-]{1,64}$"},
    )
    name: str = Field(min_length=1, max_length=MAX_NAME)
    plan: str | None = None
    notificationEmail: str | None = Field(None, max_length=320)
    settings: WorkspaceSettings | None = None
    metadata: dict[str, Any] | None = Field(None, description="The product's own key/values.")


class WorkspacePatch(In):
    name: str | None = Field(None, min_length=1, max_length=MAX_NAME)
    plan: str | None = None
    notificationEmail: str | None = Field(None, max_length=320)
    settings: WorkspaceSettings | None = None
    metadata: dict[str, Any] | None = Field(None, description="Replaces the metadata.")


class WorkspaceOut(Out):
    id: str
    name: str
    plan: str
    notificationEmail: str | None
    settings: dict[str, Any]
    metadata: dict[str, Any]
    createdAt: Timestamp
    updatedAt: Timestamp


def workspace_out(ws: Workspace) -> WorkspaceOut:
    return WorkspaceOut(
        id=ws.id,
        name=ws.name,
        plan=ws.plan,
        notificationEmail=ws.notification_email,
        settings=ws.settings.to_json(),
        metadata=ws.metadata,
        createdAt=_t(ws.created_at),
        updatedAt=_t(ws.updated_at),
    )


class ApiKeyCreate(In):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    role: Role


class ApiKeyOut(Out):
    id: str = prefixed("key")
    workspaceId: str
    name: str
    role: Role
    createdAt: Timestamp


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself, shown this once.")


class PortalLinkIn(In):
    expiresIn: int | None = Field(
        None,
        ge=60,
        le=86400,
        strict=True,
        description="Seconds the link stays valid (default 900, at most 86400).",
    )


class PortalLinkOut(Out):
    url: str = Field(
        description="Opens the admin UI signed in to this workspace only, with the admin role."
    )
    expiresAt: Timestamp


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        workspaceId=key.workspace_id,
        name=key.name,
        role=key.role,
        createdAt=_t(key.created_at),
    )


# -- event types ----------------------------------------------------------------


SCHEMAS_DOC = (
    "The JSON Schemas (2020-12) of the event type's data by version: positive integers as "
    'text ("1", "2", …), at most ' + str(MAX_SCHEMA_VERSIONS) + ". An event is validated "
    "against the version it names in schemaVersion, by default the latest. Replaces every "
    "version's schema; schema alone is version 1."
)
EXAMPLES_DOC = (
    "An example of the data by version, each valid against its version's schema (a version "
    "other than 1 needs a schema). Replaces every version's example; example alone is version 1."
)
VERSION_KEYS: JsonDict = {"propertyNames": {"pattern": SCHEMA_VERSION_PATTERN}}
DEPRECATED_DOC = (
    "The event type is on its way out: the catalog says so; its events are still accepted."
)


class EventTypeFields(In):
    category: str | None = Field(None, max_length=128)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    schema_: dict[str, Any] | None = Field(
        None, alias="schema", description="The JSON Schema of version 1."
    )
    example: dict[str, Any] | None = Field(None, description="The example of version 1.")
    schemas: dict[str, dict[str, Any]] | None = Field(
        None, description=SCHEMAS_DOC, json_schema_extra=VERSION_KEYS
    )
    examples: dict[str, dict[str, Any]] | None = Field(
        None, description=EXAMPLES_DOC, json_schema_extra=VERSION_KEYS
    )
    deprecated: bool | None = Field(None, description=DEPRECATED_DOC)


class EventTypeCreate(EventTypeFields):
    name: str = Field(
        min_length=1,
        max_length=128,
        examples=["message.created", "course/completion/create"],
        json_schema_extra={"pattern": EVENT_TYPE_PATTERN},
    )


class EventTypePatch(EventTypeFields):
    archived: bool | None = None


class EventTypeOut(Out):
    name: str
    category: str
    description: str
    schema_: dict[str, Any] | None = Field(alias="schema", description="Version 1's schema.")
    example: dict[str, Any] | None = Field(description="Version 1's example.")
    schemas: dict[str, dict[str, Any]] = Field(
        description="Every version's schema.", json_schema_extra=VERSION_KEYS
    )
    examples: dict[str, dict[str, Any]] = Field(
        description="Every version's example.", json_schema_extra=VERSION_KEYS
    )
    latestVersion: str | None = Field(
        description="The version an event that names none is validated against."
    )
    deprecated: bool = Field(description=DEPRECATED_DOC)
    archived: bool
    createdAt: Timestamp
    updatedAt: Timestamp


def event_type_out(et: EventType) -> EventTypeOut:
    return EventTypeOut.model_validate(
        {
            "name": et.name,
            "category": et.category,
            "description": et.description,
            "schema": et.first.schema,
            "example": et.first.example,
            "schemas": {v: sv.schema for v, sv in et.versions.items() if sv.schema is not None},
            "examples": {v: sv.example for v, sv in et.versions.items() if sv.example is not None},
            "latestVersion": et.latest,
            "deprecated": et.deprecated,
            "archived": et.archived,
            "createdAt": _t(et.created_at),
            "updatedAt": _t(et.updated_at),
        }
    )


# -- webhooks -------------------------------------------------------------------

WebhookStatusName = Literal["active", "paused", "disabled"]


URL_DOC = (
    "Absolute https:// URL without credentials; http:// only in dev mode or with "
    "HOOKLINE_ALLOW_HTTP. A host naming a private or reserved address, in any spelling "
    "(Unicode dots and digits included), is refused (url_not_allowed); one that is neither "
    "an address nor a host name is invalid_url. Stored and returned as it is sent: ASCII "
    "(punycode) host, lower-case scheme and host, percent-encoded path. Required to create "
    "a webhook unless destination is given (then it is the destination's, without credentials)."
)
URL_SCHEMA: JsonDict = {"format": "uri", "pattern": "^https://"}
EVENTS_DOC = (
    "Event types to receive: an exact name, '*' (everything), or a prefix ending in "
    "'.*' or '/*' (every name below it)."
)
EVENTS_SCHEMA: JsonDict = {
    "minItems": 1,
    "maxItems": MAX_EVENT_PATTERNS,
    "items": {"type": "string", "pattern": EVENT_PATTERN},
}
CHANNELS_SCHEMA: JsonDict = {
    "maxItems": MAX_CHANNELS,
    "items": {"type": "string", "pattern": CHANNEL_PATTERN},
}
CHANNEL_RULE = (
    f"At most {MAX_CHANNELS} names, each 1-{MAX_CHANNEL_LENGTH} letters, digits, hyphens, "
    "underscores, dots or colons (422 invalid_channels otherwise)."
)
WEBHOOK_CHANNELS_DOC = (
    "Channels to receive: the webhook gets only events that carry at least one of them, on "
    "top of its event types and filter (null or empty: every event, with channels or "
    "without). " + CHANNEL_RULE
)
EVENT_CHANNELS_DOC = (
    "Who the event is for: it goes to webhooks subscribed to one of these channels and to "
    "webhooks without channels (null or empty: only to webhooks without channels). " + CHANNEL_RULE
)
HEADERS_DOC = (
    "Custom headers sent with every delivery: at most 20, 4 KiB in all, values without "
    "CR/LF/NUL. Headers Hookline sets and X-{Brand}-* are reserved (reserved_header). "
    'Values are stored encrypted; member keys read them as "***".'
)
HEADERS_OUT_DOC = (
    "The custom headers. Their values are stored encrypted and shown to owner and admin keys "
    'and the admin key; a member key gets every value as "***".'
)
REQUEST_HEADERS_DOC = (
    "The headers sent. A custom header whose name contains auth, cookie, credential, key, "
    'passwd, password, secret, session or token (any case) is stored as "[redacted]"; a '
    'member key gets every other custom header value as "***". Hookline\'s own headers, '
    "signatures included, are shown as sent."
)
FORWARD_HEADERS_DOC = (
    "Whether the custom headers also go to a redirect's target on another origin (scheme, "
    "host or port), when the retry policy follows redirects. false (the default): a hop to "
    "another origin gets none of them; a hop on the same origin gets them all. "
    "Authorization, Cookie and Proxy-Authorization never go to another origin, and the "
    "signature and Hookline's own headers go to every hop."
)
HEADERS_SCHEMA: JsonDict = {
    "maxProperties": MAX_HEADERS,
    "propertyNames": {"pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
}


FILTER_DOC = (
    "Only events whose data passes this filter get a delivery (null: every subscribed event). "
    'A condition {"path": "$.order.total", "gte": 100} names one value of the data by a '
    "JSONPath and has one operator: eq, ne, in (a list), gt, gte, lt, lte (numbers), exists "
    '(true or false); {"and": [...]}, {"or": [...]} and {"not": filter} combine them. '
    "An invalid filter is 422 invalid_filter, naming where the error is."
)
AUTH_DOC = (
    "How each request authenticates to the endpoint, beyond the signature (null: no more "
    "than the signature). basic: username and password; bearer: a static token; oauth2: "
    "client credentials fetched from tokenUrl (scope optional, clientAuth basic or post); "
    "mtls: a PEM client certificate and its unencrypted key. Stored encrypted; responses "
    "show the type and the parts that are not secret. 422 invalid_auth names the field."
)
_TEXT: JsonDict = {"type": "string", "minLength": 1, "maxLength": 4096}
AUTH_KINDS: list[JsonDict] = [
    {
        "type": "object",
        "required": ["type", "username", "password"],
        "properties": {"type": {"const": "basic"}, "username": _TEXT, "password": _TEXT},
    },
    {
        "type": "object",
        "required": ["type", "token"],
        "properties": {"type": {"const": "bearer"}, "token": _TEXT},
    },
    {
        "type": "object",
        "required": ["type", "tokenUrl", "clientId", "clientSecret"],
        "properties": {
            "type": {"const": "oauth2"},
            "tokenUrl": {"type": "string", "format": "uri"},
            "clientId": _TEXT,
            "clientSecret": _TEXT,
            "scope": _TEXT,
            "clientAuth": {"enum": ["basic", "post"]},
        },
    },
    {
        "type": "object",
        "required": ["type", "certificate", "key"],
        "properties": {
            "type": {"const": "mtls"},
            "certificate": {"type": "string", "description": "PEM"},
            "key": {"type": "string", "description": "PEM, unencrypted"},
        },
    },
]
AUTH_SCHEMA: JsonDict = {"oneOf": list(AUTH_KINDS)}

AUTH_PATCH_DOC = (
    AUTH_DOC + " On a change, a secret left out (basic password, bearer token, oauth2 "
    "clientSecret, mtls key) keeps the stored one of the same type. Stored credentials go only "
    "where they were given for: moving url to another origin (scheme, host or port), or "
    "changing tokenUrl, username or clientId, without sending the secret again is 422 "
    "auth_required (details name auth, or the secret to send)."
)


def _secret_optional(kind: JsonDict) -> JsonDict:
    """A kind of auth whose secret a change may leave out (to keep the stored one)."""
    required = kind["required"]
    assert isinstance(required, list)
    return {**kind, "required": [f for f in required if f not in endpoint_auth.SECRETS.values()]}


AUTH_PATCH_SCHEMA: JsonDict = {"oneOf": [_secret_optional(kind) for kind in AUTH_KINDS]}


DESTINATION_DOC = (
    "Where deliveries go when not HTTP (null: POST to url): a queue, stream or topic. "
    "rabbitmq: url (amqp:// or amqps://), exchange, routingKey (default: the event type), "
    "username, password; nats: url (nats:// or tls://), subject (a JetStream publish), "
    "username, password; redis: url (redis:// or rediss://, path a database number), stream, "
    "maxLen, username, password; sqs: queueUrl; sns: topicArn; eventbridge: eventBusName, "
    "source; each AWS kind with region, accessKeyId and secretAccessKey (else the AWS "
    "credential chain) and endpointUrl. The envelope is the message body; the signature and "
    "delivery headers travel as message headers or attributes. With a destination, url is "
    "derived from it. Stored encrypted; responses never show a password or secret key. "
    "422 invalid_destination names the field."
)


class WebhookFields(In):
    url: str | None = Field(
        None,
        max_length=MAX_URL,
        description=URL_DOC,
        examples=["https://example.com/hook"],
        json_schema_extra=URL_SCHEMA,
    )
    name: str | None = Field(None, max_length=MAX_NAME)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    events: list[str] | None = Field(
        None,
        description=EVENTS_DOC,
        examples=[["course.completed", "content/*"]],
        json_schema_extra=EVENTS_SCHEMA,
    )
    headers: dict[str, str] | None = Field(
        None, description=HEADERS_DOC, json_schema_extra=HEADERS_SCHEMA
    )
    forwardHeadersOnRedirect: StrictBool | None = Field(None, description=FORWARD_HEADERS_DOC)
    secret: str | None = Field(
        None,
        description="Signing secret (8-256 printable ASCII); generated (whsec_…) when absent.",
        json_schema_extra={"pattern": "^[\\x21-\\x7e]{8,256}$"},
    )
    status: WebhookStatusName | None = None
    retryPolicy: RetryPolicyIn | None = None
    rateLimit: (
        Annotated[
            float,
            Field(
                strict=True,
                json_schema_extra={"minimum": MIN_RATE_LIMIT, "maximum": MAX_RATE_LIMIT},
            ),
        ]
        | None
    ) = Field(
        None,
        description=f"At most this many attempts per second, {MIN_RATE_LIMIT:g} (one every "
        f"1000 seconds) to {MAX_RATE_LIMIT:g} (invalid_rate_limit otherwise); null: no limit.",
    )
    ordering: Literal["none", "fifo"] | None = None
    metadata: dict[str, Any] | None = None
    filter: dict[str, Any] | None = Field(None, description=FILTER_DOC)
    channels: list[str] | None = Field(
        None,
        description=WEBHOOK_CHANNELS_DOC,
        examples=[["project_123"]],
        json_schema_extra=CHANNELS_SCHEMA,
    )
    auth: dict[str, Any] | None = Field(None, description=AUTH_DOC, json_schema_extra=AUTH_SCHEMA)
    destination: dict[str, Any] | None = Field(
        None,
        description=DESTINATION_DOC,
        json_schema_extra={
            "properties": {"type": {"enum": list(queues.KINDS)}},
            "required": ["type"],
        },
    )


class WebhookCreate(WebhookFields):
    """A new webhook: ``url`` is required unless ``destination`` is given."""

    events: list[str] = Field(
        description=EVENTS_DOC,
        examples=[["course.completed", "content/*"]],
        json_schema_extra=EVENTS_SCHEMA,
    )


class WebhookPatch(WebhookFields):
    auth: dict[str, Any] | None = Field(
        None, description=AUTH_PATCH_DOC, json_schema_extra=AUTH_PATCH_SCHEMA
    )
    statusReason: str | None = Field(None, max_length=MAX_STATUS_REASON)


class WebhookOut(Out):
    id: str = prefixed("wh")
    workspaceId: str
    url: str
    name: str
    description: str
    events: list[str]
    headers: dict[str, str] = Field(description=HEADERS_OUT_DOC)
    forwardHeadersOnRedirect: bool = Field(description=FORWARD_HEADERS_DOC)
    status: WebhookStatusName
    statusReason: str | None
    statusChangedBy: str | None
    statusChangedAt: Timestamp | None
    retryPolicy: dict[str, Any] | None
    rateLimit: float | None
    ordering: str
    metadata: dict[str, Any]
    filter: dict[str, Any] | None = Field(description=FILTER_DOC)
    channels: list[str] | None = Field(description=WEBHOOK_CHANNELS_DOC)
    destination: dict[str, Any] | None = Field(
        description="The destination other than HTTP (null: HTTP to url), without its password "
        "or secret key."
    )
    auth: dict[str, Any] | None = Field(
        description="The endpoint authentication's type and its parts that are not secret: "
        "basic: username; oauth2: tokenUrl, clientId, scope, clientAuth; mtls: the "
        "certificate's subject, issuer, notAfter and sha256 fingerprint."
    )
    createdAt: Timestamp
    updatedAt: Timestamp


def webhook_out(wh: Webhook) -> WebhookOut:
    return WebhookOut(
        id=wh.id,
        workspaceId=wh.workspace_id,
        url=wh.url,
        name=wh.name,
        description=wh.description,
        events=wh.events,
        headers=wh.headers,
        forwardHeadersOnRedirect=wh.forward_headers_on_redirect,
        status=wh.status.value,
        statusReason=wh.status_reason,
        statusChangedBy=wh.status_changed_by,
        statusChangedAt=format_ms(wh.status_changed_at),
        retryPolicy=None if wh.retry_policy is None else wh.retry_policy.to_json(),
        rateLimit=wh.rate_limit,
        ordering=wh.ordering,
        metadata=wh.metadata,
        filter=None if wh.filter is None else wh.filter.to_json(),
        channels=list(wh.channels) or None,
        auth=None if wh.auth is None else wh.auth.public(),
        destination=None if wh.destination is None else wh.destination.public(),
        createdAt=_t(wh.created_at),
        updatedAt=_t(wh.updated_at),
    )


class SecretOut(Out):
    secret: str = Field(description="The signing secret (whsec_… unless the caller chose one).")
    publicKey: str | None = Field(
        None, description="The ed25519 public key (whpk_…) for the ed25519 scheme."
    )


class SecretRotate(In):
    secret: str | None = Field(
        None,
        min_length=8,
        max_length=256,
        description="The new secret; generated when absent.",
    )
    graceSeconds: float = Field(
        86400,
        ge=0,
        le=MAX_GRACE_SECONDS,
        strict=True,
        description="How long the old secret (and key pair) keep signing too, in seconds.",
    )


# -- events ---------------------------------------------------------------------


class EventIn(In):
    """An event as sent; the body is read raw, so this model only documents it."""

    type: str = Field(examples=["course.completed"], pattern=EVENT_TYPE_PATTERN)
    data: dict[str, Any] = Field(description="The payload: a JSON object, as sent.")
    id: str | None = Field(
        None,
        description="Idempotency key: a repeat within the retention period returns the original.",
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
    )
    channels: list[str] | None = Field(
        None,
        description=EVENT_CHANNELS_DOC,
        examples=[["project_123", "project_group_11"]],
        json_schema_extra=CHANNELS_SCHEMA,
    )
    schemaVersion: str | int | None = Field(
        None,
        description="The version of the event type's schema the data follows (a positive "
        "integer, as a number or as text); by default the latest. A version the event type "
        "does not have is refused (422 unknown_schema_version).",
        examples=["2"],
        json_schema_extra={"pattern": SCHEMA_VERSION_PATTERN, "minimum": 1},
    )
    ttl: int | None = Field(
        None,
        ge=MIN_TTL,
        le=MAX_TTL,
        description=TTL_DOC + " Left out: the workspace's settings.ttl, else none "
        "(422 invalid_ttl otherwise).",
    )


class EventBatchIn(In):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventAccepted(Out):
    id: str
    type: str
    workspaceId: str
    createdAt: Timestamp
    deliveries: int


class BatchItem(Out):
    ok: bool
    status: int
    data: EventAccepted | None = None
    error: ErrorBody | None = None


class DeliveryOut(Out):
    id: str = prefixed("dlv")
    eventId: str
    eventType: str
    webhookId: str = prefixed("wh")
    workspaceId: str
    status: Literal["pending", "held", "sending", "succeeded", "failed", "expired"] = Field(
        description="expired: its event's ttl ran out before its next attempt could start."
    )
    attemptCount: int
    nextAttemptAt: Timestamp | None
    lastStatusCode: int | None
    lastError: str | None = Field(
        description="Why the last attempt failed (an attempt error such as timeout), or, "
        "after a fault of Hookline's own deferred the delivery without an attempt, "
        "internal_error: <stage>: <exception class> (stage: prepare, send, decide or record)."
    )
    stuck: bool = Field(
        description=f"True when {STUCK_AFTER_FAULTS} or more faults of Hookline's own in a "
        "row have deferred the pending delivery without an attempt (lastError says which): "
        "Hookline keeps retrying it, and its operator has the fault in the log."
    )
    createdAt: Timestamp
    completedAt: Timestamp | None
    expiresAt: Timestamp | None = Field(
        description="When its event's ttl runs out: an attempt that would start later is not "
        "made and the delivery ends expired (null: the event has no ttl)."
    )
    resentFrom: str | None
    tags: list[Literal["test", "resent", "recovered"]]


class EventOut(Out):
    id: str
    type: str
    workspaceId: str
    createdAt: Timestamp
    channels: list[str] | None = Field(description="The channels the event carries (null: none).")
    data: dict[str, Any]


class EventDetail(EventOut):
    deliveries: list[DeliveryOut]


def event_out(ev: Event, data: dict[str, Any]) -> EventOut:
    return EventOut(
        id=ev.id,
        type=ev.type,
        workspaceId=ev.workspace_id,
        createdAt=_t(ev.created_at),
        channels=list(ev.channels) or None,
        data=data,
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        eventId=d.event_id,
        eventType=d.event_type,
        webhookId=d.webhook_id,
        workspaceId=d.workspace_id,
        status=d.status.value,
        attemptCount=d.attempt_count,
        nextAttemptAt=format_ms(d.next_attempt_at)
        if d.status in (DeliveryStatus.PENDING, DeliveryStatus.HELD)
        else None,
        lastStatusCode=d.last_status_code,
        lastError=d.last_error,
        stuck=d.stuck,
        createdAt=_t(d.created_at),
        completedAt=format_ms(d.completed_at),
        expiresAt=format_ms(d.expires_at),
        resentFrom=d.resent_from,
        tags=d.tags,
    )


class TokenRequest(Out):
    url: str = Field(description="The OAuth2 token URL asked.")
    status: int | None = Field(description="Its HTTP status; null when it did not answer.")
    error: str | None = Field(
        description="Why no token came of it: a network error such as timeout, "
        "token_refused (not a 2xx) or invalid_token_response; null when a token did."
    )
    durationMs: float


class RequestRecord(Out):
    method: str
    url: str = Field(description="The URL posted to; after redirects, the last hop.")
    headers: dict[str, str] = Field(description=REQUEST_HEADERS_DOC)
    body: str
    tokenRequests: list[TokenRequest] | None = Field(
        None,
        exclude_if=lambda v: v is None,  # only in the attempts of OAuth2 webhooks
        description="For a webhook with OAuth2 auth: the token requests this attempt made "
        "(none when a kept token was used; a second after the endpoint answered 401).",
    )


class ResponseRecord(Out):
    status: int | None = Field(
        description="The HTTP status; null for a destination other than HTTP, whose "
        "acknowledgement the body describes (e.g. the message id or stream sequence)."
    )
    headers: dict[str, str]
    body: str
    truncated: bool


class AttemptOut(Out):
    id: str = prefixed("att")
    number: int
    startedAt: Timestamp
    durationMs: float
    request: RequestRecord
    response: ResponseRecord | None
    error: str | None
    outcome: Literal["success", "failure"]


def attempt_out(a: Attempt) -> AttemptOut:
    return AttemptOut(
        id=a.id,
        number=a.number,
        startedAt=_t(a.started_at),
        durationMs=a.duration_ms,
        request=RequestRecord(**a.request),
        response=ResponseRecord(**a.response) if a.response else None,
        error=a.error,
        outcome=a.outcome,
    )


class DeliveryDetail(DeliveryOut):
    event: EventOut | None
    attempts: list[AttemptOut]


class TestIn(In):
    eventType: str | None = Field(
        None,
        max_length=128,
        description="Send this catalog event type's example instead of a test ping, flagged "
        "and tagged as a test all the same (404 if the catalog has no such type, 422 "
        "no_example if it has no example).",
    )


class RecoverIn(In):
    since: TimeIn = Field(description="Resend deliveries created at or after this time.")
    until: TimeIn | None = Field(None, description="… and before this time (default: now).")
    statuses: list[Literal["failed", "succeeded", "expired"]] | None = Field(
        None,
        description='Which deliveries to resend (default ["failed"]); expired ones only when '
        "listed.",
    )


class RecoverOut(Out):
    count: int


class Health(Out):
    status: str


def _t(ms: int) -> str:
    return format_ms(ms) or ""
