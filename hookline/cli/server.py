"""The server's commands: serve, migrate, config, listen.

They import the server lazily, so ``hookline --help`` and the client's commands
work where only the client side is installed, and the client lazily, so that
``hookline serve`` does not hold it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

if TYPE_CHECKING:
    from hookline.settings import Settings

SERVER_MISSING = "the server is not installed here: pip install 'hookline[server]'"


def _settings(**overrides: Any) -> Settings:
    try:
        from pydantic_settings import SettingsError

        from hookline.settings import load_settings
    except ModuleNotFoundError as exc:
        raise click.ClickException(SERVER_MISSING) from exc
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "\n".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
        raise click.ClickException(f"invalid settings:\n{problems}") from exc
    except SettingsError as exc:
        raise click.ClickException(f"invalid settings:\n{exc}") from exc


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    """``  HOOKLINE_NAME: what is wrong`` (the value itself is not shown: it may be a secret)."""
    message = message.removeprefix("Value error, ")
    if not loc:
        return f"  {message}"
    name, *path = (str(p) for p in loc)
    where = f"HOOKLINE_{name.upper()}" + "".join(f"[{p}]" for p in path)
    return f"  {message}" if message.startswith(where) else f"  {where}: {message}"


@click.command()
@click.option("--host", default=None, help="Bind address (HOOKLINE_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (HOOKLINE_PORT, default 8000).")
@click.option(
    "--role",
    type=click.Choice(["all", "api", "worker"]),
    default="all",
    show_default=True,
    help="API and dispatcher in one process, or one of them.",
)
@click.option(
    "--dev",
    is_flag=True,
    default=None,
    help="Allow http:// and private destinations (HOOKLINE_DEV).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text, or one JSON object a line (HOOKLINE_LOG_FORMAT, default text).",
)
def serve(
    host: str | None,
    port: int | None,
    role: str,
    dev: bool | None,
    log_format: str | None,
) -> None:
    """Run the server."""
    try:
        settings = _settings(host=host, port=port, dev=dev, log_format=log_format)
    except click.ClickException as exc:
        wanted = log_format or os.environ.get("HOOKLINE_LOG_FORMAT", "text")
        if wanted.strip().lower() != "json":
            raise
        from hookline.logs import fatal

        fatal("json", exc.message)
        sys.exit(exc.exit_code)
    metrics_dir = None
    if role == "all" and settings.workers != 0:
        # Before the metrics library is imported: every process then keeps its counters in
        # files here, which the API's /metrics adds up (the dispatcher processes inherit it).
        metrics_dir = Path(tempfile.mkdtemp(prefix="hookline-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from hookline.data_dir import DataDirError
    from hookline.server import run

    try:
        run(settings, role, metrics_dir=metrics_dir)  # type: ignore[arg-type]
    except DataDirError as exc:
        if settings.log_format != "json":
            raise click.ClickException(str(exc)) from None
        from hookline.logs import fatal

        fatal("json", str(exc))
        sys.exit(1)


@click.command()
def migrate() -> None:
    """Apply schema migrations (and seal custom headers older versions stored in clear)."""
    settings = _settings()
    from hookline.data_dir import DataDirError, ensure_encryption_key
    from hookline.secrets import SecretBox
    from hookline.server import checked_key
    from hookline.store import open_store

    async def go() -> None:
        box = SecretBox(ensure_encryption_key(settings))
        store = open_store(settings, box)
        await store.open()
        await checked_key(store, box, settings)
        await store.close()

    try:
        asyncio.run(go())
    except DataDirError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("migrations applied")


LOCAL_VIEW = (
    "the configuration this shell's environment gives (HOOKLINE_* here), not a running "
    "server's: `hookline config --url URL` asks a server for its own (with the admin key)"
)


@click.command()
@click.option(
    "--url",
    default=None,
    metavar="URL",
    help="Ask the server at URL for its own configuration (admin key) instead.",
)
@click.option(
    "--key",
    envvar=["HOOKLINE_API_KEY", "HOOKLINE_ADMIN_KEY"],
    default=None,
    help="The admin key, with --url (HOOKLINE_API_KEY or HOOKLINE_ADMIN_KEY).",
)
def config(url: str | None, key: str | None) -> None:
    """Print the effective configuration (secrets masked) and what it resolves to: this
    environment's, or with --url a running server's."""
    if url is not None:
        from hookline.cli.api import answered, api_client

        client = api_client(url, key)
        with answered(client):
            shown = client.config()
    else:
        settings = _settings()
        from hookline.service.configuration import configuration

        click.echo(LOCAL_VIEW, err=True)
        shown = configuration(settings)
    click.echo(json.dumps(shown, indent=2, sort_keys=True))


@click.command()
@click.option("--port", type=int, default=9000, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--secret", default=None, help="The webhook's secret: verify signatures with it.")
@click.option("--public-key", default=None, help="The whpk_ key, for the ed25519 scheme.")
@click.option(
    "--status",
    type=click.IntRange(200, 599),
    default=200,
    show_default=True,
    help="Status to answer, with its reason phrase as the body.",
)
def listen(port: int, host: str, secret: str | None, public_key: str | None, status: int) -> None:
    """A local receiver that verifies (any scheme) and prints each delivery."""
    try:
        from hookline.listen import run_listener
    except ModuleNotFoundError as exc:
        raise click.ClickException(SERVER_MISSING) from exc

    run_listener(host=host, port=port, secret=secret, status=status, public_key=public_key)
