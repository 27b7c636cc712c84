"""The server's commands: serve, migrate, config, listen.

They import the server lazily, so ``hookline --help`` and the client's commands
work where only the client side is installed."""

from __future__ import annotations

import asyncio
import json
import os
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
    settings = _settings(host=host, port=port, dev=dev, log_format=log_format)
    metrics_dir = None
    if role == "all" and settings.workers != 0:
        # Before the metrics library is imported: every process then keeps its counters in
        # files here, which the API's /metrics adds up (the dispatcher processes inherit it).
        metrics_dir = Path(tempfile.mkdtemp(prefix="hookline-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from hookline.server import run

    run(settings, role, metrics_dir=metrics_dir)  # type: ignore[arg-type]


@click.command()
def migrate() -> None:
    """Apply schema migrations (and seal custom headers older versions stored in clear)."""
    settings = _settings()
    from hookline.secrets import SecretBox
    from hookline.server import checked_key
    from hookline.settings import ensure_encryption_key
    from hookline.store import open_store

    async def go() -> None:
        box = SecretBox(ensure_encryption_key(settings))
        store = open_store(settings, box)
        await store.open()
        await checked_key(store, box, settings)
        await store.close()

    asyncio.run(go())
    click.echo("migrations applied")


@click.command()
def config() -> None:
    """Print the effective configuration (secrets masked) and what it resolves to."""
    settings = _settings()
    shown = settings.masked()
    shown["effective"] = _effective(settings)
    click.echo(json.dumps(shown, indent=2, sort_keys=True))


def _effective(settings: Settings) -> dict[str, Any]:
    """What the settings amount to: the mode, the database, the keys, the default retry policy."""
    from hookline.domain.retry import RetryPolicy

    policy = RetryPolicy.resolve(settings.retry_policy)
    key_file = settings.data_dir / "admin.key"
    if settings.admin_key is not None:
        admin_key = "*** (from HOOKLINE_ADMIN_KEY)"
    elif key_file.exists():
        admin_key = f"*** (in {key_file})"
    else:
        admin_key = f"none yet: generated into {key_file} on the first start"
    return {
        "mode": "dev (http:// and private destinations allowed)" if settings.dev else "production",
        "database": settings.database_display
        if settings.database_url.startswith("postgres")
        else str(settings.sqlite_path.absolute()),
        "admin_key": admin_key,
        "retry_policy": {
            "schedule": list(policy.schedule),
            "retryOn": policy.retry_on if policy.retry_on == "any" else sorted(policy.retry_on),
            "timeout": policy.timeout,
            "followRedirects": policy.follow_redirects,
            "jitter": policy.jitter,
            "onExhausted": policy.on_exhausted,
            "maxRetryAfter": policy.max_retry_after,
        },
    }


@click.command()
@click.option("--port", type=int, default=9000, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--secret", default=None, help="The webhook's secret: verify signatures with it.")
@click.option("--public-key", default=None, help="The whpk_ key, for the ed25519 scheme.")
@click.option("--status", type=int, default=200, show_default=True, help="Status to answer.")
def listen(port: int, host: str, secret: str | None, public_key: str | None, status: int) -> None:
    """A local receiver that verifies (any scheme) and prints each delivery."""
    try:
        from hookline.listen import run_listener
    except ModuleNotFoundError as exc:
        raise click.ClickException(SERVER_MISSING) from exc

    run_listener(host=host, port=port, secret=secret, status=status, public_key=public_key)
