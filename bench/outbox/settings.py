"""Django settings of the outbox peer, all in code; the database comes from the bench (env).

``BENCH_OUTBOX_DB`` is a SQLite path, or a ``postgresql://`` URL (psycopg 3, so
that the relay waits on LISTEN/NOTIFY as the package documents).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_domain_events",
    "django_outbound_webhooks",
    "bench.outbox.apps.OutboxBenchConfig",
]

DATABASES: dict[str, dict[str, object]]
_db = os.environ.get("BENCH_OUTBOX_DB", "/tmp/hookline-bench-outbox.db")
if _db.startswith("postgresql://"):
    _url = urlsplit(_db)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/"),
            "USER": _url.username or "postgres",
            "HOST": _url.hostname or "127.0.0.1",
            "PORT": str(_url.port or 5432),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _db,
            # The same SQLite setup as Hookline's and the other peer's (WAL,
            # synchronous=NORMAL); a write waits for the lock rather than failing.
            "OPTIONS": {
                "timeout": 60,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The receiver is on 127.0.0.1: the package's development switch allows loopback
# (its request-forgery policy still runs on every attempt).
DJANGO_OUTBOUND_WEBHOOKS = {"ALLOW_PRIVATE_ADDRESSES": True}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
