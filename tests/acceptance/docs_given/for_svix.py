"""docs/svix.md's program takes ``ENDPOINT_URL``, where the application's customer receives
webhooks (tests/acceptance/test_svix_docs.py checks a delivery at a real receiver)."""

import os

__all__: list[str] = []
os.environ["ENDPOINT_URL"] = "https://receiver.example/webhooks"
