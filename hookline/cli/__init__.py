"""The ``hookline`` command: the server's commands and the API's, on one group.

A command's module is imported when that command runs (or help lists it), so
``hookline serve``, and the dispatchers it forks, do not hold the API client and
the terminal libraries (httpx, rich) of the others."""

from __future__ import annotations

import importlib

import click

# Each command's name: its module and the name of the click command in it.
COMMANDS = {
    "serve": ("hookline.cli.server", "serve"),
    "migrate": ("hookline.cli.server", "migrate"),
    "config": ("hookline.cli.server", "config"),
    "listen": ("hookline.cli.server", "listen"),
    "send": ("hookline.cli.api", "send"),
    "webhooks": ("hookline.cli.api", "webhooks"),
    "deliveries": ("hookline.cli.api", "deliveries"),
    "recover": ("hookline.cli.api", "recover"),
    "tail": ("hookline.cli.tail", "tail"),
    "workspaces": ("hookline.cli.admin", "workspaces"),
    "keys": ("hookline.cli.admin", "keys"),
    "portal-link": ("hookline.cli.admin", "portal_link"),
    "relay": ("hookline.cli.relay", "relay"),
}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=_Commands)
@click.version_option(package_name="hookline")
def main() -> None:
    """Hookline: self-hostable webhook delivery."""
