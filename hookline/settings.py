"""The one typed settings object: every default lives here.

Settings come from the environment (``HOOKLINE_*``); complex values are JSON.
``load_settings`` builds them once at start and they are passed down from there.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    InstanceOf,
    PlainSerializer,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hookline.domain.egress_proxy import EgressProxy, parse_no_proxy, parse_proxy
from hookline.domain.origins import Origin, parse_origin
from hookline.domain.portal_brand import InvalidBrand, PortalBrand, parse_brand
from hookline.domain.portal_offer import InvalidOffer, PortalOffer, parse_offer
from hookline.domain.retry import InvalidPolicy, PolicyLayer, parse_policy
from hookline.domain.scheduling import workspace_slots
from hookline.domain.workspace_settings import DeliveryFormat, InvalidSettings, parse_format
from hookline.sandbox.pool import SandboxLimits

DEFAULT_PLANS: dict[str, dict[str, Any]] = {
    "free": {"maxWebhooks": 10},
    "pro": {"maxWebhooks": None},
}


def _json_setting(value: Any, name: str) -> Any:
    """A JSON setting's value: the environment's text decoded, or a value given as is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from exc


def _retry_policy(value: Any) -> PolicyLayer:
    if isinstance(value, PolicyLayer):
        return value
    try:
        return parse_policy(_json_setting(value, RETRY_POLICY), RETRY_POLICY) or PolicyLayer()
    except InvalidPolicy as exc:
        raise ValueError("; ".join(exc.problems)) from exc


def _delivery(value: Any) -> DeliveryFormat:
    if isinstance(value, DeliveryFormat):
        return value
    try:
        return parse_format(_json_setting(value, DELIVERY), DELIVERY)
    except InvalidSettings as exc:
        raise ValueError("; ".join(exc.problems)) from exc


def _portal_origins(value: Any) -> tuple[Origin, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        text = value.strip()
        items = _json_setting(text, PORTAL_ORIGINS) if text.startswith("[") else text.split(",")
    else:
        items = value
    if not isinstance(items, list):
        raise ValueError(f"{PORTAL_ORIGINS} is a comma-separated list of origins")
    try:
        return tuple(parse_origin(str(item)) for item in items if str(item).strip())
    except ValueError as exc:
        raise ValueError(f"{PORTAL_ORIGINS}: {exc}") from exc


def _portal_brand(value: Any) -> PortalBrand:
    if isinstance(value, PortalBrand):
        return value
    try:
        return PortalBrand().over(parse_brand(_json_setting(value, PORTAL_BRAND), PORTAL_BRAND))
    except InvalidBrand as exc:
        raise ValueError("; ".join(exc.problems)) from exc


def _brand_json(brand: PortalBrand) -> dict[str, Any]:
    layer = {
        "name": brand.name,
        "logo": None if brand.logo is None else brand.logo.to_json(),
        "accentColor": None if brand.accent is None else brand.accent.color,
        "theme": brand.theme.value,
        "title": brand.title,
        "footerLinks": None
        if brand.footer is None
        else [{"text": link.text, "url": link.url} for link in brand.footer],
        "terms": brand.terms.to_json(),
    }
    return {k: v for k, v in layer.items() if v is not None}


def _portal_offer(value: Any) -> PortalOffer:
    if isinstance(value, PortalOffer):
        return value
    try:
        return parse_offer(_json_setting(value, PORTAL_OFFER), PORTAL_OFFER)
    except InvalidOffer as exc:
        raise ValueError(str(exc)) from exc


MIN_METRICS_TOKEN = 16
RETRY_POLICY, DELIVERY = "HOOKLINE_RETRY_POLICY", "HOOKLINE_DELIVERY"
PORTAL_ORIGINS, PORTAL_BRAND = "HOOKLINE_PORTAL_ORIGINS", "HOOKLINE_PORTAL_BRAND"
PORTAL_OFFER = "HOOKLINE_PORTAL_OFFER"
RetryPolicySetting = Annotated[
    InstanceOf[PolicyLayer],
    NoDecode,
    BeforeValidator(_retry_policy),
    PlainSerializer(lambda layer: layer.to_json()),
]
PortalOfferSetting = Annotated[
    InstanceOf[PortalOffer],
    NoDecode,
    BeforeValidator(_portal_offer),
    PlainSerializer(lambda offer: offer.to_json()),
]
DeliverySetting = Annotated[
    InstanceOf[DeliveryFormat],
    NoDecode,
    BeforeValidator(_delivery),
    PlainSerializer(lambda fmt: fmt.to_json()),
]

PortalOriginsSetting = Annotated[
    tuple[InstanceOf[Origin], ...],
    NoDecode,
    BeforeValidator(_portal_origins),
    PlainSerializer(lambda origins: [origin.text for origin in origins]),
]
PortalBrandSetting = Annotated[
    InstanceOf[PortalBrand],
    NoDecode,
    BeforeValidator(_portal_brand),
    PlainSerializer(_brand_json),
]


class Settings(BaseSettings):
    """Deployment settings. Each field's description is its documentation."""

    model_config = SettingsConfigDict(env_prefix="HOOKLINE_", extra="ignore")

    data_dir: Path = Field(
        Path(".hookline"),
        description="Directory for the SQLite database when HOOKLINE_DATABASE_URL is unset and for "
        "the keys generated when HOOKLINE_ADMIN_KEY or HOOKLINE_ENCRYPTION_KEY is; never touched "
        "when all three are set. Kept private to its owner (0700, files 0600).",
    )
    database_url: str = Field(
        "",
        description="`sqlite:///path` (default: `<data_dir>/hookline.db`) or `postgresql://…`",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, description="Port the HTTP server listens on.")
    public_url: str = Field(
        "", description="Base URL shown to users (default: `http://<host>:<port>`)."
    )
    dev: bool = Field(
        False, description="Dev mode: allows http:// URLs and private/loopback destinations."
    )
    allow_http: bool = Field(False, description="Allow http:// webhook URLs outside dev mode.")
    admin_key: SecretStr | None = Field(
        None, description="The admin key; generated into the data directory when unset."
    )
    encryption_key: SecretStr | None = Field(
        None,
        description="Fernet key encrypting webhook secrets, keys and custom header values at rest; "
        "generated when unset.",
    )
    max_event_bytes: int = Field(262144, description="Largest accepted event request body.")
    strict_event_types: bool = Field(
        False, description="Reject events whose type is not in the catalog."
    )
    retention_days: float = Field(
        30, description="Deliveries, attempts and events older than this are purged."
    )
    purge_interval: float = Field(
        60, description="Seconds between the dispatcher's purges of expired data."
    )
    retry_policy: RetryPolicySetting = Field(
        default_factory=PolicyLayer,
        description="Deployment default retry policy (JSON, fields and ranges below); fields left "
        "out take their defaults. An invalid policy stops the server at start.",
    )
    delivery: DeliverySetting = Field(
        default_factory=DeliveryFormat,
        description="Deployment default delivery format (JSON): signature, envelope, brand, "
        "userAgent; fields left out take their defaults. An invalid format stops the server "
        "at start.",
    )
    portal_origins: PortalOriginsSetting = Field(
        default_factory=tuple,
        description="Origins allowed to show the customer portal in a frame, comma-separated "
        '(or a JSON list), e.g. "https://app.example.com,https://admin.example.com" '
        "(scheme://host[:port], no path, no wildcard). Empty: the portal cannot be framed. "
        "A malformed origin stops the server at start.",
    )
    portal_brand: PortalBrandSetting = Field(
        default_factory=PortalBrand,
        description="Deployment default brand of the customer portal (JSON: name, logo, "
        "accentColor, theme, title, footerLinks, terms; see docs/portal.md); a workspace's "
        "settings.portal overrides it field by field. An invalid brand stops the server at "
        "start.",
    )
    portal_offer: PortalOfferSetting = Field(
        default_factory=PortalOffer,
        description="What a portal user may give a webhook (JSON): `destinations`, the kinds "
        'offered (`"http"` and any of `rabbitmq`, `nats`, `redis`, `sqs`, `sns`, '
        '`eventbridge`; default `["http"]`), and whether `auth`, `filters`, `headers` (custom '
        "headers) and `rateLimit` are offered (each true by default). The portal's form shows "
        "only what is offered and the API refuses the rest for a portal session (403 "
        "`not_offered`); keys are not bound by it.",
    )
    plans: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: dict(DEFAULT_PLANS),
        description='Plans by name (JSON): {"free": {"maxWebhooks": 10}, "pro": {"maxWebhooks": null}}.',
    )
    default_plan: str = Field("free", description="Plan of workspaces created without one.")
    smtp_url: str = Field("", description="smtp://user:pass@host:port for failure e-mails.")
    mail_from: str = Field("hookline@localhost", description="From address of failure e-mails.")
    operator_webhook_url: str = Field(
        "",
        description="Where Hookline sends its operational webhooks (endpoint.paused, "
        "endpoint.disabled, endpoint.recovered, delivery.exhausted, endpoint.secret_rotated): "
        "a webhook of the operator workspace, kept at this URL. Empty: none from the "
        "deployment (operator webhooks made through the API still get them).",
    )
    operator_webhook_secret: SecretStr | None = Field(
        None,
        description="The whsec_… secret that webhook signs with (default: one is generated; "
        "read it with GET /v1/webhooks/{id}/secret).",
    )
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs of private networks that may be delivered to, comma-separated "
        '(or a JSON list), e.g. "10.1.0.0/16,192.168.7.0/24".',
    )
    egress_proxy: SecretStr | None = Field(
        None,
        description="Proxy every delivery leaves through: http://, https://, socks5:// or "
        "socks5h:// with a host and a port, maybe user:password (masked by `hookline config`), "
        "e.g. http://proxy.internal:3128 (see docs/egress-proxy.md). A malformed "
        "one (a host that is neither a host name nor an IP address, port 0, …) stops the "
        "server and `hookline config` at start.",
    )
    egress_no_proxy: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts reached directly, not through HOOKLINE_EGRESS_PROXY, comma-separated: "
        "host names (with their subdomains), .domain suffixes (subdomains only), IP addresses, "
        'CIDRs, or * for every host, e.g. "internal.example.com,.corp.example,10.0.0.0/8".',
    )
    workers: int | None = Field(
        None,
        ge=0,
        le=64,
        description="Dispatcher processes `hookline serve` starts beside the API (0 to 64; "
        "default: one per CPU core). 0 runs the dispatcher in the API's own process.",
    )
    worker_concurrency: int = Field(
        128, description="Attempts in flight at once per worker process."
    )
    endpoint_concurrency: int = Field(
        16,
        description="Most attempts in flight at once to one webhook, per worker process. A "
        "webhook starts with 2 and gets one more for each attempt that ends without timing "
        "out; a timeout halves its number (down to 1), so an endpoint that hangs holds one or "
        "two slots, not all of these.",
    )
    workspace_share: float = Field(
        0.75,
        description="Share of a worker's slots one workspace's attempts may hold at once, "
        "greater than 0 and at most 1: a workspace gets ceil(share * worker_concurrency) "
        "slots (at least 1), so one tenant's hanging endpoints cannot hold up the others' "
        "deliveries. 1 turns the limit off.",
    )
    claim_batch: int = Field(256, description="Most deliveries claimed in one query.")
    poll_interval: float = Field(
        0.25, description="Seconds between queue polls when nothing wakes the worker."
    )
    lease_seconds: float = Field(
        60, description="How long a claimed delivery stays with its worker before it is retaken."
    )
    shutdown_grace: float = Field(
        10, description="Seconds in-flight attempts get to finish on SIGTERM."
    )
    fault_retry_seconds: float = Field(
        5,
        description="First wait before a delivery is tried again after a fault of Hookline's "
        "own (a bug, a database error); it doubles with each fault in a row, up to 10 minutes.",
    )
    transform_time_ms: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Milliseconds a webhook transformation may run per attempt (1 to 10000); "
        "past it the attempt fails with transformation_error.",
    )
    transform_memory_mb: int = Field(
        64,
        ge=8,
        le=1024,
        description="Megabytes of JavaScript heap a webhook transformation may use per "
        "attempt (8 to 1024); past it the attempt fails with transformation_error.",
    )
    transform_processes: int = Field(
        2,
        ge=1,
        le=64,
        description="Sandbox processes that run webhook transformations, per Hookline process "
        "that needs them (1 to 64): the transformations that run at once.",
    )
    aws_default_credentials: bool = Field(
        False,
        description="Let an SQS, SNS or EventBridge destination without keys of its own "
        "publish with this deployment's AWS credentials (environment, config files, instance "
        "role). Off: such a destination is refused, since any workspace could then write "
        "wherever the deployment's role may.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token `/metrics` requires (`Authorization: Bearer <token>`; 401 "
        "`unauthorized` without it), at least 16 characters, no spaces. Unset: `/metrics` "
        "answers anyone who reaches the port.",
    )
    metrics_address: str = Field(
        "",
        description="`host:port` of a listener of its own for `/metrics`, e.g. "
        "`127.0.0.1:9464` or `[::1]:9464`: every process that serves HTTP (the API, a "
        "worker) serves `/metrics` there and no longer on `HOOKLINE_PORT`. Empty: `/metrics` "
        "is on `HOOKLINE_PORT`. A malformed address stops the server at start.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log line format: `json` prints every line of every process (banner "
        "included) as one JSON object.",
    )
    tracing: Literal["off", "otlp"] = Field(
        "off",
        description="OpenTelemetry tracing: `off`, or `otlp` to export spans over OTLP/HTTP "
        "as the standard `OTEL_*` variables configure it (endpoint, service name, sampler).",
    )
    trace_propagation: bool = Field(
        False,
        description="Send each attempt's W3C `traceparent` (and `tracestate`) to the receiver; "
        "takes effect with tracing on.",
    )
    log_level: str = Field("INFO", description="Log level.")

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _cidr_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return value

    @field_validator("egress_no_proxy", mode="before")
    @classmethod
    def _no_proxy_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("egress_no_proxy")
    @classmethod
    def _valid_no_proxy(cls, value: list[str]) -> list[str]:
        parse_no_proxy(value)  # ValueError names the bad entry
        return value

    @field_validator("egress_proxy")
    @classmethod
    def _valid_egress_proxy(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            parse_proxy(value.get_secret_value())  # ValueError says what is wrong
            return value
        return None

    @field_validator("operator_webhook_url")
    @classmethod
    def _valid_operator_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"HOOKLINE_OPERATOR_WEBHOOK_URL is an https:// URL, not {value!r}")
        return value

    @field_validator("operator_webhook_secret")
    @classmethod
    def _valid_operator_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("whsec_"):
            raise ValueError("HOOKLINE_OPERATOR_WEBHOOK_SECRET is a whsec_… secret")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _valid_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if len(token) < MIN_METRICS_TOKEN or any(ch.isspace() for ch in token):
            raise ValueError(
                f"HOOKLINE_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters, "
                "without spaces"
            )
        return value

    @field_validator("metrics_address")
    @classmethod
    def _valid_metrics_address(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_address(value, "HOOKLINE_METRICS_ADDRESS")  # ValueError says what is wrong
        return value

    @field_validator("plans")
    @classmethod
    def _valid_plans(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not value:
            raise ValueError("HOOKLINE_PLANS names at least one plan")
        for name, limits in value.items():
            limit = limits.get("maxWebhooks")
            if set(limits) - {"maxWebhooks"} or not (
                limit is None or (type(limit) is int and limit >= 0)
            ):
                raise ValueError(
                    f'HOOKLINE_PLANS: plan {name!r} is {{"maxWebhooks": <a whole number or '
                    f"null>}}, not {json.dumps(limits)}"
                )
        return value

    @model_validator(mode="after")
    def _default_plan_is_a_plan(self) -> Settings:
        if self.default_plan not in self.plans:
            raise ValueError(
                f"HOOKLINE_DEFAULT_PLAN {self.default_plan!r} is not one of HOOKLINE_PLANS "
                f"({', '.join(self.plans)})"
            )
        return self

    @field_validator("workspace_share")
    @classmethod
    def _valid_share(cls, value: float) -> float:
        if not 0 < value <= 1:  # also NaN
            raise ValueError(f"HOOKLINE_WORKSPACE_SHARE must be above 0 and at most 1, not {value}")
        return value

    @property
    def sqlite_path(self) -> Path:
        url = self.database_url or f"sqlite:///{self.data_dir / 'hookline.db'}"
        if not url.startswith("sqlite:///"):
            raise ValueError(f"not a SQLite URL: {url}")
        return Path(url.removeprefix("sqlite:///"))

    @property
    def database_display(self) -> str:
        """The database URL with any password masked, for logs and banners."""
        if not self.database_url:
            return str(self.sqlite_path)
        return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", self.database_url)

    @property
    def metrics_listener(self) -> tuple[str, int] | None:
        """Where ``/metrics`` has a listener of its own; None: on the HTTP port."""
        return parse_address(self.metrics_address, "") if self.metrics_address else None

    @property
    def egress(self) -> EgressProxy | None:
        """The egress proxy deliveries leave through, with its no-proxy list; None: none."""
        if self.egress_proxy is None:
            return None
        return parse_proxy(
            self.egress_proxy.get_secret_value(), parse_no_proxy(self.egress_no_proxy)
        )

    @property
    def http_allowed(self) -> bool:
        """Whether webhooks may use http:// URLs (always in dev mode)."""
        return self.dev or self.allow_http

    @property
    def workspace_concurrency(self) -> int:
        """Attempts in flight at once for one workspace, per worker process."""
        return workspace_slots(self.workspace_share, self.worker_concurrency)

    @property
    def sandbox_limits(self) -> SandboxLimits:
        """What each webhook transformation may use, and how many run at once."""
        return SandboxLimits(
            time_ms=self.transform_time_ms,
            memory_bytes=self.transform_memory_mb * 1024 * 1024,
            processes=self.transform_processes,
        )

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets masked, for `hookline config`."""
        shown = self.model_dump(mode="json")
        for name in ("admin_key", "encryption_key", "operator_webhook_secret", "metrics_token"):
            shown[name] = "***" if shown[name] else None
        if self.database_url:
            shown["database_url"] = self.database_display
        egress = self.egress
        shown["egress_proxy"] = None if egress is None else egress.display
        if "@" in self.smtp_url:
            scheme, _, rest = self.smtp_url.partition("://")
            shown["smtp_url"] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return shown


def parse_address(text: str, name: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) as a host and a port from 1 to 65535."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{name} is host:port (e.g. 127.0.0.1:9464), not {text!r}")
    if ":" in host and not text.startswith("["):
        raise ValueError(f"{name}: an IPv6 address goes in brackets ([::1]:9464), not {text!r}")
    return host, int(port)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
