from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hookline.django.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """The outbox, read-only: what waits, what was sent, what Hookline refused and why."""

    list_display = (
        "id",
        "event_type",
        "workspace_id",
        "created_at",
        "attempts",
        "sent_at",
        "refused_at",
        "last_error",
    )
    list_filter = (
        "event_type",
        ("sent_at", admin.EmptyFieldListFilter),
        ("refused_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("id", "event_type")
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
