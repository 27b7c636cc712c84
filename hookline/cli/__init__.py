"""The ``hookline`` command: the server's commands and the API's, on one group."""

from __future__ import annotations

import click

from hookline.cli import server
from hookline.cli.admin import keys, portal_link, workspaces
from hookline.cli.api import deliveries, recover, send, webhooks
from hookline.cli.relay import relay
from hookline.cli.tail import tail


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
    workspaces,
    keys,
    portal_link,
    relay,
):
    main.add_command(command)
