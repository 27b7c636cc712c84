"""docs/receiving.md's snippets take a delivery as the reader's receiver got it (``raw_body``,
``headers``), the webhook's ``secret`` and ``public_key``, the ``scheme`` it chose, and the
reader's ``queue_work``; its apps read ``WEBHOOK_SECRET``, ``REDIS_URL`` and ``DATABASE_URL``,
and its Django views need configured settings."""

import json
import os
import time

import django
from _shop import WORKDIR
from django.conf import settings

from hookline.signing import SigningKeys, generate_keypair, generate_secret, signature_headers

secret = generate_secret()
private_key, public_key = generate_keypair()
scheme = "standard"
raw_body = json.dumps(
    {"id": "evt_1", "type": "user.created", "timestamp": "2026-01-01T00:00:00.000Z", "data": {}},
    separators=(",", ":"),
).encode()
# One delivery signed with the Standard Webhooks scheme, and with the body HMAC of brand Acme.
keys = SigningKeys(key_id="wh_1", secrets=(secret,), ed25519_seeds=(private_key,))
headers = {"Content-Type": "application/json"}
for name, brand in (("standard", "Hookline"), ("hmac-sha256-body", "Acme")):
    headers |= signature_headers(
        name,
        keys,
        msg_id="evt_1",
        timestamp=int(time.time()),
        body=raw_body,
        brand=brand,
        url="https://receiver.example/webhooks/hookline",
    )
__all__ = ["headers", "public_key", "queue_work", "raw_body", "scheme", "secret"]
queued: list[tuple[str, object]] = []


def queue_work(type: str, data: object) -> None:
    queued.append((type, data))


os.environ["WEBHOOK_SECRET"] = secret
os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/0"
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR / 'received.db'}"
settings.configure(WEBHOOK_SECRET=secret, ALLOWED_HOSTS=["*"])
django.setup()
