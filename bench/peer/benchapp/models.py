"""One event per row: django-webhook sends ``{"object": {id, type, data}, "topic", …}``."""

from __future__ import annotations

from django.db import models


class BenchEvent(models.Model):
    type = models.CharField(max_length=128)
    data = models.JSONField()

    class Meta:
        app_label = "benchapp"
