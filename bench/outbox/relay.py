"""The one relay the package allows on SQLite: ``python -m bench.outbox.relay``.

django-domain-events' ``run_relay`` refuses a database without ``SKIP LOCKED``
unless told that exactly one relay runs (``allow_unsafe_concurrency``, its
development shape), and ``deliver_events`` does not pass that; so on SQLite the
bench runs this single relay. On PostgreSQL it runs the package's own
``deliver_events`` command, as many as it measures. SIGTERM stops it between
deliveries, as ``deliver_events`` does.
"""

from __future__ import annotations

import os
import signal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.outbox.settings")

import django

django.setup()

from django_domain_events import run_relay  # noqa: E402

stopping = False


def _stop(signum: int, frame: object) -> None:
    global stopping
    stopping = True


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    run_relay(
        worker_id=f"sqlite-relay:{os.getpid()}",
        allow_unsafe_concurrency=True,
        stop=lambda: stopping,
    )
