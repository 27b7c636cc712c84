from __future__ import annotations

from django.apps import AppConfig


class HooklineConfig(AppConfig):
    name = "hookline.django"
    label = "hookline"
    verbose_name = "Hookline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hookline.django import signals
        from hookline.django.conf import config

        signals.connect(config())
