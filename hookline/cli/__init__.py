"""The ``hookline`` command: the server's commands and the API's, on one group."""

from __future__ import annotations

import click

from hookline.cli import server
from hookline.cli.api import send
from hookline.cli.relay import relay


@click.group()
@click.version_option(package_name="hookline")
def main() -> None:
    """Hookline: self-hostable webhook delivery."""


for command in (server.serve, server.migrate, server.config, server.listen, send):
    main.add_command(command)
main.add_command(relay)
