"""Destinations other than HTTP: queues, streams and topics a webhook may publish to. Pure.

A webhook's ``destination`` is null (HTTP: POST to its ``url``) or one of:

- ``rabbitmq``: ``url`` (``amqp://`` or ``amqps://``; ``username``/``password`` apart),
  ``exchange`` (``""``: the default exchange), ``routingKey`` (default: the event type);
- ``nats``: ``url`` (``nats://`` or ``tls://``), ``subject``: a JetStream publish, acknowledged
  by the stream that takes the subject;
- ``redis``: ``url`` (``redis://`` or ``rediss://``, with a database number as its path),
  ``stream``, ``maxLen`` (optional, approximate trimming): one ``XADD`` per attempt;
- ``sqs``: ``queueUrl``; ``sns``: ``topicArn``; ``eventbridge``: ``eventBusName``, ``source``
  (default ``hookline``): each with ``region``, ``accessKeyId``/``secretAccessKey`` (optional:
  else the standard AWS credential chain) and ``endpointUrl`` (optional, e.g. a local stack).

``parse`` checks one and returns it typed (``RabbitMQ``, ``Nats``, ``Redis``, ``SQS``, ``SNS``
or ``EventBridge``: a ``Destination``); ``checked`` applies the deployment's rules to its hosts
and gives the URL the webhook shows (no credentials);
``load`` reads back what a store kept (``to_json``, sealed). ``public()`` is what the API shows
(never a password or secret key).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from yarl import URL

from hookline.domain.endpoint_auth import is_utf8
from hookline.domain.limits import MAX_DESTINATION_TEXT, MAX_STREAM_LENGTH
from hookline.errors import Invalid

KINDS = ("rabbitmq", "nats", "redis", "sqs", "sns", "eventbridge")
# What each kind is called where people read it.
LABELS = {
    "rabbitmq": "RabbitMQ exchange",
    "nats": "NATS JetStream subject",
    "redis": "Redis stream",
    "sqs": "Amazon SQS queue",
    "sns": "Amazon SNS topic",
    "eventbridge": "Amazon EventBridge bus",
}
AWS_KINDS = frozenset({"sqs", "sns", "eventbridge"})
SECRETS = frozenset({"password", "secretAccessKey"})
SCHEMES = {
    "rabbitmq": {"amqp": 5672, "amqps": 5671},
    "nats": {"nats": 4222, "tls": 4222},
    "redis": {"redis": 6379, "rediss": 6379},
}
# Each kind's fields: required, then optional.
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rabbitmq": (("url", "exchange"), ("routingKey", "username", "password")),
    "nats": (("url", "subject"), ("username", "password")),
    "redis": (("url", "stream"), ("maxLen", "username", "password")),
    "sqs": (("queueUrl", "region"), ("endpointUrl", "accessKeyId", "secretAccessKey")),
    "sns": (("topicArn", "region"), ("endpointUrl", "accessKeyId", "secretAccessKey")),
    "eventbridge": (
        ("eventBusName", "region"),
        ("source", "endpointUrl", "accessKeyId", "secretAccessKey"),
    ),
}
# Names in JSON → field names.
_FIELD_NAMES = {
    "routingKey": "routing_key",
    "maxLen": "max_len",
    "queueUrl": "queue_url",
    "topicArn": "topic_arn",
    "eventBusName": "event_bus_name",
    "endpointUrl": "endpoint_url",
    "accessKeyId": "access_key_id",
    "secretAccessKey": "secret_access_key",
}
_JSON_NAMES = {field: name for name, field in _FIELD_NAMES.items()}


class _Stored:
    """What every kind of destination shares: its JSON, what may be shown, its secrets."""

    __slots__ = ()
    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """The destination as the store keeps it (sealed): the fields it sets."""
        out: dict[str, Any] = {"type": self.kind}
        for each in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, each.name)
            if value is not None:
                out[_JSON_NAMES.get(each.name, each.name)] = value
        return out

    def public(self) -> dict[str, Any]:
        """Everything but passwords and secret keys."""
        return {k: v for k, v in self.to_json().items() if k not in SECRETS}

    def secret_values(self) -> tuple[str, ...]:
        """The secrets it holds, to mask wherever a client library might quote them."""
        return tuple(v for k, v in self.to_json().items() if k in SECRETS and v)


@dataclass(frozen=True, kw_only=True, slots=True)
class Broker(_Stored):
    """A broker reached at ``url`` (its own scheme), with credentials apart."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def connection(self) -> tuple[str, str | None, str | None]:
        """What tells one connection from another."""
        return (self.url, self.username, self.password)


@dataclass(frozen=True, kw_only=True, slots=True)
class RabbitMQ(Broker):
    kind: ClassVar[str] = "rabbitmq"
    exchange: str
    routing_key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Nats(Broker):
    kind: ClassVar[str] = "nats"
    subject: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Redis(Broker):
    kind: ClassVar[str] = "redis"
    stream: str
    max_len: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Aws(_Stored):
    """An AWS service in ``region``; without keys, the deployment's own credential chain."""

    region: str
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)

    @property
    def client(self) -> tuple[str, str, str | None, str | None, str | None]:
        """What tells one client from another."""
        return (
            self.kind,
            self.region,
            self.endpoint_url,
            self.access_key_id,
            self.secret_access_key,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SQS(Aws):
    kind: ClassVar[str] = "sqs"
    queue_url: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SNS(Aws):
    kind: ClassVar[str] = "sns"
    topic_arn: str


@dataclass(frozen=True, kw_only=True, slots=True)
class EventBridge(Aws):
    kind: ClassVar[str] = "eventbridge"
    event_bus_name: str
    source: str | None = None


Destination = RabbitMQ | Nats | Redis | SQS | SNS | EventBridge
_KIND: dict[str, type[Destination]] = {
    k.kind: k for k in (RabbitMQ, Nats, Redis, SQS, SNS, EventBridge)
}

_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_SUBJECT = re.compile(r"[^\s*>.]+(?:\.[^\s*>.]+)*")
_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,255}")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?")


def parse(value: Any) -> Destination:
    """The destination a JSON value gives; raise ``Invalid`` (``invalid_destination``) naming
    the field. Its hosts are as given: ``checked`` applies the deployment's rules to them."""
    if not isinstance(value, dict) or value.get("type") not in KINDS:
        raise _invalid("destination.type", f"type is one of {', '.join(KINDS)} (or no destination)")
    kind = value["type"]
    required, optional = _FIELDS[kind]
    unknown = sorted(set(value) - {"type", *required, *optional})
    if unknown:
        raise _invalid(
            f"destination.{unknown[0]}",
            f"a {kind} destination takes {', '.join(required + optional)}",
        )
    out: dict[str, Any] = {"type": kind}
    for name in required + optional:
        given = value.get(name)
        if given is None:
            if name in required:
                raise _invalid(f"destination.{name}", f"a {kind} destination needs {name}")
            continue
        if name == "maxLen":
            if (
                not isinstance(given, int)
                or isinstance(given, bool)
                or not 1 <= given <= MAX_STREAM_LENGTH
            ):
                raise _invalid("destination.maxLen", "maxLen is a whole number from 1 to 10^9")
        elif (
            not isinstance(given, str)
            or len(given) > MAX_DESTINATION_TEXT
            or (not given and name != "exchange")
        ):
            raise _invalid(
                f"destination.{name}",
                f"{name} is a string of 1 to {MAX_DESTINATION_TEXT} characters",
            )
        elif not is_utf8(given) or any(ord(ch) < 32 for ch in given):
            raise _invalid(f"destination.{name}", f"{name} must be text without control characters")
        out[name] = given
    if kind in SCHEMES:
        _broker_url(kind, out["url"])
    else:
        _aws(kind, out)
    if kind == "nats" and not _SUBJECT.fullmatch(out["subject"]):
        raise _invalid("destination.subject", "subject is tokens separated by dots, no wildcards")
    if kind == "redis" and not _NAME.fullmatch(out["stream"]):
        raise _invalid("destination.stream", "stream is 1 to 255 letters, digits and _ . : / -")
    return load(out)


def checked(
    destination: Destination,
    *,
    check_host: Callable[[URL], None],
    check_url: Callable[[str], str],
    aws_default_credentials: bool = False,
) -> tuple[Destination, str]:
    """``destination`` with its URLs as they are used, and the URL the webhook shows, if this
    deployment lets a webhook reach them: ``check_host`` applies the rules of webhook hosts to
    a broker's host, ``check_url`` those of webhook URLs to an AWS endpoint. An AWS
    destination without keys would publish as the deployment itself: only when
    ``aws_default_credentials``."""
    if isinstance(destination, Broker):
        url = URL(destination.url)
        try:
            check_host(url)
        except Invalid as exc:
            raise _invalid("destination.url", exc.message.rstrip(".")) from exc
        return destination, str(url.with_port(url.port or SCHEMES[destination.kind][url.scheme]))
    if destination.endpoint_url is not None:
        endpoint = _checked_url("endpointUrl", destination.endpoint_url, check_url)
        destination = dataclasses.replace(destination, endpoint_url=endpoint)
    if isinstance(destination, SQS):
        queue_url = _checked_url("queueUrl", destination.queue_url, check_url)
        destination = dataclasses.replace(destination, queue_url=queue_url)
        shown = queue_url
    elif isinstance(destination, SNS):
        shown = destination.topic_arn
    else:
        shown = f"eventbridge://{destination.region}/{destination.event_bus_name}"
    if destination.access_key_id is None and not aws_default_credentials:
        raise _invalid(
            "destination.accessKeyId",
            "give accessKeyId and secretAccessKey (this deployment does not lend its own "
            "AWS credentials to webhooks)",
        )
    return destination, shown


def load(raw: dict[str, Any]) -> Destination:
    """The destination a stored (already parsed) JSON value holds."""
    fields = {_FIELD_NAMES.get(k, k): v for k, v in raw.items() if k != "type"}
    return _KIND[raw["type"]](**fields)


def _broker_url(kind: str, given: str) -> None:
    try:
        url = URL(given)
        url.port  # noqa: B018 - raises on a malformed port
    except (TypeError, ValueError) as exc:
        raise _invalid("destination.url", f"the URL is malformed: {exc}") from exc
    schemes = SCHEMES[kind]
    if url.scheme not in schemes or not url.raw_host:
        raise _invalid(
            "destination.url", f"the URL is {' or '.join(f'{s}://' for s in schemes)}host[:port]"
        )
    if url.raw_user is not None or url.raw_password is not None:
        raise _invalid("destination.url", "credentials go in username and password, not the URL")
    if url.query_string or url.fragment:
        raise _invalid("destination.url", "the URL takes no query or fragment")
    database = url.path[1:]
    if kind == "redis" and database and not (database.isascii() and database.isdigit()):
        raise _invalid("destination.url", "a Redis URL's path is a database number")


def _aws(kind: str, out: dict[str, Any]) -> None:
    if not _REGION.fullmatch(out["region"]):
        raise _invalid("destination.region", "region is an AWS region such as eu-west-1")
    if ("accessKeyId" in out) != ("secretAccessKey" in out):
        raise _invalid(
            "destination.secretAccessKey", "give accessKeyId and secretAccessKey together"
        )
    if kind == "sns" and not _TOPIC_ARN.fullmatch(out["topicArn"]):
        raise _invalid("destination.topicArn", "topicArn is an SNS topic ARN")
    if kind == "eventbridge" and not _NAME.fullmatch(out["eventBusName"]):
        raise _invalid("destination.eventBusName", "eventBusName is an event bus name or ARN")


def _checked_url(name: str, url: str, check_url: Callable[[str], str]) -> str:
    try:
        return check_url(url)
    except Invalid as exc:
        raise _invalid(f"destination.{name}", exc.message.rstrip(".")) from exc


def _invalid(field: str, why: str) -> Invalid:
    return Invalid(
        f"{why}.", code="invalid_destination", details=[{"field": field, "message": why}]
    )
