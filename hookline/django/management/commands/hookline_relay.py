"""``python manage.py hookline_relay``: send the outbox to Hookline until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hookline.client import Client, ClientError
from hookline.django.conf import config
from hookline.django.outbox import DjangoSource
from hookline.outbox import Relay
from hookline.outbox.relay import EXIT_WAITING


class Command(BaseCommand):
    help = "Relay the Hookline outbox: send pending events in batches until SIGTERM or Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help=f"Relay what is due, then exit ({EXIT_WAITING} if some events must wait).",
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Events per batch.")
        parser.add_argument("--idle", type=float, default=None, help="Seconds between polls.")
        parser.add_argument("--database", default="default", help="The outbox's database alias.")
        parser.add_argument(
            "--requeue-refused",
            action="store_true",
            help="Put the events Hookline refused back in line (after fixing why), then exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settings = config()
        source = DjangoSource(options["database"])
        if options["requeue_refused"]:
            self.stdout.write(f"requeued {source.requeue_refused()} refused event(s)")
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        try:
            client = Client(settings.url, settings.api_key)
        except ClientError as exc:
            raise CommandError(f'{exc} (or set HOOKLINE["URL"] / HOOKLINE["API_KEY"])') from exc
        relay = Relay(
            source,
            client,
            workspace=settings.workspace,
            batch_size=options["batch_size"] or settings.batch_size,
            lease=settings.lease,
        )
        with client:
            if options["once"]:
                report = relay.drain()
                self.stdout.write(
                    f"sent {report.sent}, retried {report.retried}, refused {report.refused}"
                )
                if report.retried:
                    raise CommandError(
                        f"{report.retried} event(s) must wait for another run: {report.errors[-1]}",
                        returncode=EXIT_WAITING,
                    )
                return
            stop = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            relay.run(stop, idle=options["idle"] or settings.idle)
