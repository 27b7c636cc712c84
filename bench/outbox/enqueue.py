"""Set up the outbox peer's database and fire N events: ``python -m bench.outbox.enqueue``.

Migrates, registers one endpoint (the receiver's URL, a ``whsec_`` secret,
subscribed to ``bench.outbox``) through the package's ``register_endpoint``, then
fires N events, each in its own transaction as an application would with its
own change; each writes the event row and one delivery row. Prints JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.outbox.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django_domain_events import fire  # noqa: E402
from django_outbound_webhooks import register_endpoint  # noqa: E402

from bench.api import DATA_FILLER  # noqa: E402
from bench.outbox.events import BenchEvent  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"bench-outbox-secret-0123456789ab").decode()


def main(url: str, n: int) -> dict[str, float]:
    call_command("migrate", verbosity=0)
    register_endpoint(name="bench", url=url, secret=SECRET, event_names=["bench.outbox"])
    started = time.monotonic()
    for k in range(n):
        with transaction.atomic():
            fire(BenchEvent(n=k, user=f"user_{k % 1000}", note=DATA_FILLER, id=f"outbox-{k}"))
    seconds = time.monotonic() - started
    return {"n": n, "enqueue_s": seconds, "enqueue_rate": n / seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, required=True)
    args = parser.parse_args()
    print(json.dumps(main(args.url, args.n)), flush=True)
