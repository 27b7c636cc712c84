"""``settings.HOOKLINE``, checked once when the app loads.

HOOKLINE = {
    "URL": "https://hooks.example.com",   # else HOOKLINE_URL
    "API_KEY": env("HOOKLINE_API_KEY"),   # else HOOKLINE_API_KEY
    "WORKSPACE": "ws_acme",               # where events without their own go
    "MODELS": {
        "shop.Order": {},                 # order.created / order.updated / order.deleted
        "shop.Customer": {
            "events": ["created", "deleted"],
            "fields": ["id", "email"],    # default: every concrete field
            "type": "customer",           # the types' prefix; default the model's name
            "workspace": lambda customer: customer.tenant_id,   # or an id
        },
    },
}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models

EVENTS = ("created", "updated", "deleted")
_MODEL_KEYS = {"events", "fields", "type", "workspace"}
_KEYS = {"URL", "API_KEY", "WORKSPACE", "MODELS", "BATCH_SIZE", "LEASE", "IDLE"}

Workspace = str | Callable[[models.Model], str | None] | None


@dataclass(frozen=True, kw_only=True)
class ModelEvents:
    """What one opted-in model sends."""

    model: type[models.Model]
    events: frozenset[str]
    fields: tuple[str, ...] | None  # None: every concrete field
    type: str
    workspace: Workspace


@dataclass(frozen=True, kw_only=True)
class Config:
    url: str | None
    api_key: str | None
    workspace: str | None
    models: tuple[ModelEvents, ...]
    batch_size: int
    lease: float
    idle: float


def _fail(message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"settings.HOOKLINE: {message}")


@cache
def config() -> Config:
    given = getattr(settings, "HOOKLINE", {})
    if not isinstance(given, Mapping):
        raise _fail("is a dict")
    unknown = set(given) - _KEYS
    if unknown:
        raise _fail(f"unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    opted = given.get("MODELS", {})
    if not isinstance(opted, Mapping):
        raise _fail('"MODELS" maps "app_label.Model" to its options, e.g. {"shop.Order": {}}')
    return Config(
        url=_text(given, "URL"),
        api_key=_text(given, "API_KEY"),
        workspace=_text(given, "WORKSPACE"),
        models=tuple(_model(label, options) for label, options in opted.items()),
        batch_size=_number(given, "BATCH_SIZE", 100, int, 1, 1000),
        lease=_number(given, "LEASE", 60.0, float, 1, 3600),
        idle=_number(given, "IDLE", 1.0, float, 0.05, 60),
    )


def _text(given: Mapping[str, Any], key: str) -> str | None:
    value = given.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _fail(f'"{key}" is a non-empty string')
    return value


def _number(
    given: Mapping[str, Any], key: str, default: float, kind: type, low: float, high: float
) -> Any:
    value = given.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(f'"{key}" is a number from {low} to {high}, not {value!r}')
    return kind(value)


def _model(label: str, options: Any) -> ModelEvents:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise _fail(f'"MODELS" names {label!r}, which is not an installed model: {exc}') from exc
    if not isinstance(options, Mapping):
        raise _fail(f'"MODELS"["{label}"] is a dict of options ({{}} for the defaults)')
    unknown = set(options) - _MODEL_KEYS
    if unknown:
        raise _fail(f'"MODELS"["{label}"]: unknown option(s) {sorted(unknown)}')
    events = options.get("events", EVENTS)
    if isinstance(events, str) or not set(events) <= set(EVENTS) or not events:
        raise _fail(f'"MODELS"["{label}"]["events"] is a list of {list(EVENTS)}')
    return ModelEvents(
        model=model,
        events=frozenset(events),
        fields=_fields(label, model, options.get("fields")),
        type=options.get("type") or model._meta.model_name or label.lower(),
        workspace=options.get("workspace"),
    )


def _fields(label: str, model: type[models.Model], fields: Any) -> tuple[str, ...] | None:
    if fields is None or fields == "__all__":
        return None
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise _fail(f'"MODELS"["{label}"]["fields"] is a list of field names or "__all__"')
    for name in fields:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise _fail(f'"MODELS"["{label}"]["fields"]: {label} has no field {name!r}') from exc
    return tuple(fields)
