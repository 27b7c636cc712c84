"""The outbox table: one row per event, written in the application's own transaction."""

from __future__ import annotations

from django.db import models


class OutboxEvent(models.Model):
    """An event waiting to be relayed, or relayed (``sent_at``), or refused for good."""

    id = models.CharField(max_length=40, primary_key=True, help_text="The event's id in Hookline.")
    workspace_id = models.CharField(max_length=128, null=True, blank=True)
    event_type = models.CharField(max_length=128)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_by = models.CharField(max_length=64, null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "hookline_outbox"
        verbose_name = "outbox event"
        indexes = [  # noqa: RUF012 (Django reads Meta, never mutates it)
            # What a claim reads: the pending rows, oldest first; sent ones stay out of it.
            models.Index(
                fields=["created_at", "id"],
                name="hookline_outbox_pending",
                condition=models.Q(sent_at__isnull=True, refused_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"
