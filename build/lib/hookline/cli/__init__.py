"""The ``hookline`` command: the server's commands and the API's, on one group."""

from __future__ import annotations

import click

from hookline.cli import server
from hookline.cli.api import deliveries, recover, send, tail, webhooks


@click.group()
@click.version_option(package_name="hookline")
def main() -> None:
    """Hookline: self-hostable webhook delivery."""


for command in (
    server.serve,
    server.migrate,
    server.config,
    server.listen,
    send,
    webhooks,
    deliveries,
    recover,
    tail,
):
    main.add_command(command)
