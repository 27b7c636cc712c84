"""The API's commands, for people and scripts: they need only the client side."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

import click


@click.command()
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.option("--type", "-t", "event_type", required=True, help="Event type.")
@click.option("--data", "-d", default="{}", show_default=True, help="Event data as JSON.")
@click.option("--id", "event_id", default=None, help="Idempotency key.")
@click.option(
    "--url",
    envvar="HOOKLINE_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Hookline's base URL (HOOKLINE_URL).",
)
@click.option(
    "--key",
    envvar=["HOOKLINE_API_KEY", "HOOKLINE_ADMIN_KEY"],
    default=None,
    help="A workspace or admin key (HOOKLINE_API_KEY).",
)
def send(
    workspace: str, event_type: str, data: str, event_id: str | None, url: str, key: str | None
) -> None:
    """Send an event through the API."""
    base = _base_url(url)
    if not key:
        raise click.ClickException("give --key or set HOOKLINE_API_KEY to a workspace or admin key")
    try:
        payload: dict[str, Any] = {"type": event_type, "data": json.loads(data)}
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--data is not JSON: {exc}") from exc
    if event_id:
        payload["id"] = event_id
    request = urllib.request.Request(
        f"{base}/v1/workspaces/{workspace}/events",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            click.echo(resp.read().decode())
    except urllib.error.HTTPError as exc:
        click.echo(exc.read().decode(), err=True)
        sys.exit(1)
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach {base}: {exc.reason}") from exc


def _base_url(url: str) -> str:
    base = url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise click.ClickException(
            f"{url!r} has no scheme: write it as http://{base} (or https://…)"
        )
    return base
