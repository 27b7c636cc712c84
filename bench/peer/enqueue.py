"""Set up the peer's database and enqueue N events: ``python -m bench.peer.enqueue``.

Creates the tables, one webhook to the receiver subscribed to BenchEvent
creations (with a signing secret), then saves N BenchEvent rows, which makes
django-webhook enqueue one ``fire_webhook`` task each on Redis. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.peer.celery_app import app  # noqa: F401  (Django set up, tasks bound to this app)


def main(url: str, n: int) -> dict[str, float]:
    from django.core.management import call_command
    from django_webhook.models import (
        Webhook,
        WebhookSecret,
        WebhookTopic,
        populate_topics_from_settings,
    )

    from bench.api import event_data
    from bench.peer.benchapp.models import BenchEvent

    call_command("migrate", run_syncdb=True, verbosity=0)
    populate_topics_from_settings()
    hook = Webhook.objects.create(url=url, active=True)
    hook.topics.set(WebhookTopic.objects.filter(name="benchapp.BenchEvent/create"))
    WebhookSecret.objects.create(webhook=hook, token="bench-secret-0123456789")
    started = time.monotonic()
    for k in range(n):
        BenchEvent.objects.create(type="bench.peer", data=event_data(k, id=f"peer-{k}"))
    seconds = time.monotonic() - started
    return {"n": n, "enqueue_s": seconds, "enqueue_rate": n / seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, required=True)
    args = parser.parse_args()
    print(json.dumps(main(args.url, args.n)), flush=True)
