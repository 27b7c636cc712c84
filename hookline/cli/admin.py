"""The operator's commands: workspaces and their plans, API keys, portal links.

They share ``api_command`` (``--url``, ``--key``, ``--json``, the exit codes) with the other
API commands; what a key may do is the server's to decide, as for any API call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from hookline.cli.api import api_command, duration, out, print_json, when_text
from hookline.client import ApiKey, Client

ROLES = ["owner", "admin", "member", "publisher"]


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.5
    """A length of time: ``90s``, ``15m``, ``1h``, ``1d``; in whole seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        length = duration(str(value))
        if length is None:
            self.fail(f"{value!r} is not a duration (90s, 15m, 1h, 1d)", param, ctx)
        return int(length.total_seconds())


# workspaces


@click.group()
def workspaces() -> None:
    """List workspaces and change their plans (admin key)."""


@api_command(workspaces, name="list")
def list_workspaces(client: Client, as_json: bool) -> None:
    """Workspaces, newest first, with their plans."""
    rows = list(client.workspaces())
    if as_json:
        print_json(rows)
        return
    table = Table("id", "plan", "name", "created", box=None)
    for ws in rows:
        table.add_row(escape(ws.id), escape(ws.plan), escape(ws.name), when_text(ws.created_at))
    out.print(table)


@api_command(workspaces, name="set-plan")
@click.argument("workspace_id", metavar="WORKSPACE")
@click.argument("plan")
def set_plan(client: Client, as_json: bool, workspace_id: str, plan: str) -> None:
    """Put WORKSPACE on PLAN, one of the deployment's plans (admin key)."""
    ws = client.update_workspace(workspace_id, plan=plan)
    if as_json:
        print_json(ws)
    else:
        out.print(f"{escape(ws.id)} is on the {escape(ws.plan)} plan")


# keys


@click.group()
def keys() -> None:
    """Create, list and revoke a workspace's API keys (admin key or the workspace's owner)."""


@api_command(keys, name="create")
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the key may do.")
def create_key(client: Client, as_json: bool, workspace: str, name: str, role: str) -> None:
    """Create a key; prints it this once (Hookline keeps only its hash)."""
    created = client.create_api_key(workspace, name, role)  # type: ignore[arg-type]
    if as_json:
        print_json(created)
        return
    out.print(_key_table([created]))
    out.print(f"key: {created.key}")
    click.echo("store the key now: it is not shown again", err=True)


@api_command(keys, name="list")
@click.option("--workspace", "-w", required=True, help="Workspace id.")
def list_keys(client: Client, as_json: bool, workspace: str) -> None:
    """The workspace's keys, newest first (never the keys themselves)."""
    rows = list(client.api_keys(workspace))
    if as_json:
        print_json(rows)
    else:
        out.print(_key_table(rows))


@api_command(keys, name="revoke")
@click.argument("key_id")
def revoke_key(client: Client, as_json: bool, key_id: str) -> None:
    """Revoke a key: requests with it are refused from now on."""
    deleted = client.revoke_api_key(key_id)
    if as_json:
        print_json(deleted)
    else:
        out.print(f"{escape(deleted.id)} is revoked")


def _key_table(rows: Iterable[ApiKey]) -> Table:
    table = Table("id", "role", "name", "created", box=None)
    for key in rows:
        table.add_row(key.id, key.role, escape(key.name), when_text(key.created_at))
    return table


# portal-link


@api_command(name="portal-link")
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.option("--expires", type=Duration(), default=None,
              help="How long the link stays valid: 1m to 1d (default 15m).")  # fmt: skip
def portal_link(client: Client, as_json: bool, workspace: str, expires: int | None) -> None:
    """A link that signs a customer in to WORKSPACE's portal, once, before it expires."""
    link = client.create_portal_link(workspace, expires_in=expires)
    if as_json:
        print_json(link)
        return
    click.echo(link.url)
    click.echo(f"valid once, until {when_text(link.expires_at)} UTC", err=True)
