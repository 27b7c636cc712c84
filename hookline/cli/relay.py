"""``hookline relay``: moves the events of an application's SQLAlchemy outbox to Hookline.

SQLAlchemy (the ``sqlalchemy`` extra) is imported when the command runs, never when the
CLI loads: the rest of the command line works without it.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from hookline.client import Client, ClientError
from hookline.outbox.relay import EXIT_WAITING, MAX_BATCH, Backoff, Relay

if TYPE_CHECKING:
    from hookline.outbox.sqlalchemy import SQLAlchemySource

log = logging.getLogger("hookline.outbox")

NO_SQLALCHEMY = "hookline relay needs SQLAlchemy: pip install 'hookline[sqlalchemy]'"


@click.command()
@click.option(
    "--database-url",
    envvar="HOOKLINE_OUTBOX_DATABASE_URL",
    required=True,
    metavar="URL",
    help="The application's database, e.g. sqlite:///app.db or postgresql://user@host/app "
    "(HOOKLINE_OUTBOX_DATABASE_URL).",
)
@click.option(
    "--workspace",
    "-w",
    envvar="HOOKLINE_WORKSPACE",
    default=None,
    help="Workspace of the rows that name none (HOOKLINE_WORKSPACE).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH),
    default=100,
    show_default=True,
    help="Rows claimed and sent at a time.",
)
@click.option(
    "--idle",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Seconds to wait whenever nothing is due.",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1.0),
    default=60.0,
    show_default=True,
    help="Seconds a claim lasts; a relay that dies leaves its rows to others after it.",
)
@click.option(
    "--backoff-max",
    type=click.FloatRange(min=1.0),
    default=300.0,
    show_default=True,
    help="Longest wait in seconds before a row Hookline could not take is tried again.",
)
@click.option(
    "--once", is_flag=True, help="Relay what is due, then exit (3 if some rows must wait)."
)
@click.option("--create-table", is_flag=True, help="Create the outbox table if it is missing.")
@click.option(
    "--requeue-refused",
    is_flag=True,
    help="Put every refused row back to pending, say how many, and exit.",
)
@click.option(
    "--url",
    envvar="HOOKLINE_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Hookline's base URL (HOOKLINE_URL).",
)
@click.option("--key", envvar="HOOKLINE_API_KEY", default=None, help="API key (HOOKLINE_API_KEY).")
def relay(
    database_url: str,
    workspace: str | None,
    batch_size: int,
    idle: float,
    lease: float,
    backoff_max: float,
    once: bool,
    create_table: bool,
    requeue_refused: bool,
    url: str,
    key: str | None,
) -> None:
    """Relay the outbox table of an SQLAlchemy application to Hookline.

    Runs until SIGTERM or SIGINT; any number of copies may share one table.
    """
    _configure_logging()
    source = _open_source(database_url, create_table=create_table)
    if requeue_refused:
        count = source.requeue_refused()
        click.echo(f"{count} refused row(s) back to pending")
        return
    if not key:
        raise click.UsageError("give --key or set HOOKLINE_API_KEY to a key that may send events")
    try:
        client = Client(url, key)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    with client:
        mover = Relay(
            source,
            client,
            workspace=workspace,
            batch_size=batch_size,
            lease=lease,
            backoff=Backoff(maximum=backoff_max),
        )
        if once:
            sys.exit(EXIT_WAITING if mover.drain().retried else 0)
        mover.run(_stop_on_signals(), idle=idle)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO: the relay's own lines say what each pass did.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _open_source(database_url: str, *, create_table: bool) -> SQLAlchemySource:
    """The outbox of ``database_url``, once the database answered and the table exists."""
    try:
        import sqlalchemy as sa

        from hookline.outbox import sqlalchemy as outbox
    except ImportError as exc:
        raise click.ClickException(NO_SQLALCHEMY) from exc
    try:
        engine = outbox.create_engine(database_url)
    except sa.exc.ArgumentError as exc:
        raise click.UsageError(f"--database-url is not a database URL: {exc}") from exc
    except ImportError as exc:
        raise click.ClickException(
            f"no driver for {database_url.split(':', 1)[0]}: {exc}"
            " (for PostgreSQL: pip install 'psycopg[binary]')"
        ) from exc
    shown = engine.url.render_as_string(hide_password=True)
    try:
        if create_table:
            outbox.create_table(engine)
        elif not sa.inspect(engine).has_table(outbox.TABLE_NAME):
            raise click.ClickException(
                f"{shown} has no {outbox.TABLE_NAME} table: create it with your migrations"
                " (hookline.outbox.alembic) or run with --create-table"
            )
    except sa.exc.DBAPIError as exc:
        raise click.ClickException(f"cannot use {shown}: {exc.orig}") from exc
    return outbox.SQLAlchemySource(engine)


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the relay finishes its batch and exits 0."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("outbox relay stopping on %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
