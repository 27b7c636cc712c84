"""``model.created`` / ``.updated`` / ``.deleted`` for the models ``HOOKLINE["MODELS"]`` opts in.

The handlers run on the connection of the save or delete, inside its transaction (inside
``atomic`` or ``ATOMIC_REQUESTS``), so a rollback takes the outbox row with it. Bulk
operations (``QuerySet.update``, ``bulk_create``, raw SQL) send no signals, hence no events.
"""

from __future__ import annotations

import json
from typing import Any

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import post_delete, post_save

from hookline.django.conf import Config, ModelEvents
from hookline.django.outbox import enqueue


def serialize(spec: ModelEvents, instance: models.Model) -> dict[str, Any]:
    """``{"model": "shop.order", "pk": …, "fields": {…}}``, JSON-safe: Django's own shape."""
    [row] = serializers.serialize("python", [instance], fields=spec.fields)
    encoded: dict[str, Any] = json.loads(json.dumps(row, cls=DjangoJSONEncoder))
    return encoded


def _workspace(spec: ModelEvents, instance: models.Model) -> str | None:
    if callable(spec.workspace):
        return spec.workspace(instance)
    return spec.workspace


def _emit(spec: ModelEvents, kind: str, instance: models.Model, using: str) -> None:
    if kind in spec.events:
        data = serialize(spec, instance)
        enqueue(f"{spec.type}.{kind}", data, workspace=_workspace(spec, instance), using=using)


def connect(config: Config) -> None:
    """Connect the handlers of every opted-in model (once: the uid makes it idempotent)."""
    for spec in config.models:

        def saved(
            sender: type[models.Model],
            instance: models.Model,
            created: bool,
            using: str,
            raw: bool = False,
            spec: ModelEvents = spec,
            **kwargs: Any,
        ) -> None:
            if not raw:  # loaddata is not a change the application made
                _emit(spec, "created" if created else "updated", instance, using)

        def deleted(
            sender: type[models.Model],
            instance: models.Model,
            using: str,
            spec: ModelEvents = spec,
            **kwargs: Any,
        ) -> None:
            _emit(spec, "deleted", instance, using)

        label = spec.model._meta.label
        post_save.connect(
            saved, sender=spec.model, weak=False, dispatch_uid=f"hookline:{label}:save"
        )
        post_delete.connect(
            deleted, sender=spec.model, weak=False, dispatch_uid=f"hookline:{label}:delete"
        )
