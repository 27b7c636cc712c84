"""The Celery app of the peer: ``celery -A bench.peer.celery_app worker``."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer.settings")

import django
from celery import Celery

app = Celery("hookline_bench_peer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()
django.setup()

import django_webhook.tasks  # noqa: E402,F401  (registers fire_webhook on this app)
