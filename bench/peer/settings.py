"""Django settings for the peer, all in code; paths and broker come from the bench (env)."""

from __future__ import annotations

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_webhook",
    "bench.peer.benchapp",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_PEER_DB", "/tmp/hookline-bench-peer.db"),
        # The same SQLite setup as Hookline's (WAL, synchronous=NORMAL); several worker
        # processes write to one file, so writes take the lock at BEGIN and wait for it.
        "OPTIONS": {
            "timeout": 60,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DJANGO_WEBHOOK = {"MODELS": ["benchapp.BenchEvent"], "USE_CACHE": True, "STORE_EVENTS": True}

CELERY_BROKER_URL = os.environ.get("BENCH_PEER_BROKER", "redis://127.0.0.1:6379/14")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_PEER_QUEUE", "hookline-bench-peer")
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": [], "level": "WARNING"},
}
