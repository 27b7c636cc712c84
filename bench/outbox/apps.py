from __future__ import annotations

from django.apps import AppConfig


class OutboxBenchConfig(AppConfig):
    name = "bench.outbox"
    label = "outbox"

    def ready(self) -> None:
        from bench.outbox import events  # noqa: F401  (declares the event)
