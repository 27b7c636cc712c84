"""Settings of the test project: the database and Hookline come from the environment.

``APP_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://…``; ``HOOKLINE_URL``,
``HOOKLINE_API_KEY`` and ``HOOKLINE_WORKSPACE`` as a deployment would set them.
"""

import json
import os
from urllib.parse import urlsplit

SECRET_KEY = "test-project-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "hookline.django", "shop"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_url = urlsplit(os.environ.get("APP_DATABASE_URL", "sqlite:///app.sqlite3"))
if _url.scheme == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _url.path[1:],  # sqlite:///relative or sqlite:////absolute
            # Several relay processes write the same file: wait for the lock, don't fail.
            "OPTIONS": {"timeout": 30},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/"),
            "USER": _url.username or "postgres",
            "HOST": _url.hostname or "127.0.0.1",
            "PORT": _url.port or 5432,
        }
    }

HOOKLINE = {
    "URL": os.environ.get("HOOKLINE_URL"),
    "API_KEY": os.environ.get("HOOKLINE_API_KEY"),
    "WORKSPACE": os.environ.get("HOOKLINE_WORKSPACE"),
    "IDLE": 0.2,
    "MODELS": {"shop.Order": {}, "shop.Customer": {"events": ["created"], "fields": ["email"]}},
}

if os.environ.get("APP_HOOKLINE_MODELS"):  # a test's own opt-in, to check its validation
    HOOKLINE["MODELS"] = json.loads(os.environ["APP_HOOKLINE_MODELS"])
