"""Hookline for Django: events from your models and your code, through a transactional outbox.

Add ``"hookline.django"`` to ``INSTALLED_APPS``, migrate, opt models in with
``HOOKLINE["MODELS"]``, and run ``python manage.py hookline_relay`` beside the app. Each
opted-in model's saves and deletes, and each ``send()``, write a row into the
``hookline_outbox`` table in the current transaction: the event is sent if and only if that
transaction commits, and waits in the table while Hookline is down.

    from hookline.django import send

    with transaction.atomic():
        invoice.mark_paid()
        send("invoice.paid", {"invoiceId": invoice.pk})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def send(
    type: str, data: Mapping[str, Any], *, workspace: str | None = None, using: str | None = None
) -> str:
    """Write a custom event into the outbox in the current transaction (of database ``using``);
    its event id. ``workspace`` ``None``: ``HOOKLINE["WORKSPACE"]``, where the relay sends it."""
    from hookline.django.outbox import enqueue

    return enqueue(type, data, workspace=workspace, using=using)
