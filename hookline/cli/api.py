"""The API's commands, for people and scripts, on ``hookline.client``, and what every one of
them shares (``api_command``, times, output); ``tail`` is in ``hookline.cli.tail``.

Every command reads ``HOOKLINE_URL`` and ``HOOKLINE_API_KEY`` (or ``--url``/``--key``) and
takes ``--json``: then it prints the API's own shape, ``{"ok": true, "data": …}`` (``tail``:
one delivery object a line). Exit codes: 0 done, 1 Hookline refused (``code: message`` on
stderr), 2 bad usage (click's own code), 3 Hookline could not be reached (``cannot reach
Hookline at …`` on stderr: worth trying again later).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hookline.client import (
    ApiError,
    Client,
    ClientError,
    ConnectionFailed,
    Delivery,
    Retries,
    Webhook,
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3
DELIVERY_STATUSES = ["pending", "held", "sending", "succeeded", "failed", "expired"]
FINAL = frozenset({"succeeded", "failed", "expired"})
STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "expired": "dim",
    "pending": "yellow",
    "sending": "cyan",
    "held": "magenta",
}
# Larger recoveries show a progress bar until their deliveries settle.
RECOVER_BAR_FROM = 20
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Piped output keeps whole lines (ids uncut) rather than the 80 columns of no terminal.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 240)


def duration(text: str) -> timedelta | None:
    """``30s``, ``15m``, ``1h``, ``2d`` or ``1w`` as a timedelta; None for other text."""
    match = _DURATION.match(text.strip())
    return timedelta(**{_UNITS[match[2]]: int(match[1])}) if match else None


class When(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.5
    """A time: a duration back from now (``30s``, ``15m``, ``1h``, ``2d``, ``1w``) or RFC 3339."""

    name = "when"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        back = duration(text)
        if back is not None:
            return datetime.now(UTC) - back
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is neither a duration (30s, 15m, 1h, 2d, 1w) "
                "nor an RFC 3339 time (2026-03-18T10:05:00Z)",
                param,
                ctx,
            )
        return when if when.tzinfo else when.replace(tzinfo=UTC)


WHEN = When()


def api_command(
    group: click.Group | None = None, **settings: Any
) -> Callable[[Callable[..., Any]], click.Command]:
    """A command with ``--url``, ``--key`` and ``--json``, whose function gets a ``client``
    and whose API errors end it with the exit codes of this module."""

    def wrap(fn: Callable[..., Any]) -> click.Command:
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
        @click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
        @functools.wraps(fn)
        def run(url: str, key: str | None, as_json: bool, **kwargs: Any) -> Any:
            client = api_client(url, key)
            with answered(client):
                return fn(client=client, as_json=as_json, **kwargs)

        decorator = group.command(**settings) if group else click.command(**settings)
        return decorator(run)

    return wrap


def api_client(url: str, key: str | None) -> Client:
    """A client of Hookline at ``url`` with ``key``; bad usage (exit 2) without a key."""
    if not key:
        raise click.UsageError("give --key or set HOOKLINE_API_KEY to a workspace or admin key")
    try:
        return Client(url, key, retries=Retries(attempts=2, maximum=2.0))
    except ClientError as exc:
        raise click.UsageError(str(exc)) from exc


@contextlib.contextmanager
def answered(client: Client) -> Iterator[None]:
    """Use ``client`` (closed after), ending the command with this module's exit codes when
    Hookline refuses (1) or cannot be reached (3)."""
    try:
        with client:
            yield
    except ApiError as exc:
        click.echo(f"{exc.code}: {exc.message}", err=True)
        sys.exit(EXIT_REFUSED)
    except ConnectionFailed as exc:
        click.echo(
            f"cannot reach Hookline at {client.base_url} (set HOOKLINE_URL or --url): {exc}",
            err=True,
        )
        sys.exit(EXIT_UNREACHABLE)


def dump(value: BaseModel | Iterable[BaseModel] | dict[str, Any]) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        return value
    return [dump(item) for item in value]


def print_json(value: BaseModel | Iterable[BaseModel] | dict[str, Any]) -> None:
    """The API's envelope around ``value``, on one line."""
    click.echo(json.dumps({"ok": True, "data": dump(value)}))


def when_text(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def status_text(status: str, width: int = 0) -> str:
    """The status in its colour, padded outside the markup so that columns line up."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status:<{width}}[/]"


def outcome_text(d: Delivery) -> str:
    """The last status code, else the last error (as text, not markup); for a stuck
    delivery ``stuck:`` and the fault that keeps deferring it."""
    if d.stuck:
        return escape(f"stuck: {d.last_error}")
    if d.last_status_code is not None:
        return str(d.last_status_code)
    return escape(d.last_error or "-")


# send


@api_command()
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.option("--type", "-t", "event_type", required=True, help="Event type.")
@click.option("--data", "-d", default="{}", show_default=True, help="Event data as JSON.")
@click.option("--id", "event_id", default=None, help="Idempotency key (made for you if not given).")
@click.option("--channel", "channels", multiple=True,
              help="A channel the event carries (repeat for more).")  # fmt: skip
@click.option("--ttl", type=int, default=None,
              help="Seconds the event stays worth delivering (default: the workspace's).")  # fmt: skip
@click.option("--schema-version", default=None,
              help="The version of the type's schema the data follows (default: the latest).")  # fmt: skip
def send(
    client: Client,
    as_json: bool,
    workspace: str,
    event_type: str,
    data: str,
    event_id: str | None,
    channels: tuple[str, ...],
    ttl: int | None,
    schema_version: str | None,
) -> None:
    """Send an event through the API."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--data is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise click.UsageError("--data must be a JSON object")
    accepted = client.send(
        workspace,
        event_type,
        payload,
        id=event_id,
        channels=channels or None,
        ttl=ttl,
        schema_version=schema_version,
    )
    if as_json:
        print_json(accepted)
        return
    out.print(
        f"accepted {escape(accepted.id)} ({escape(accepted.type)}) in {accepted.workspace_id}: "
        f"{accepted.deliveries} deliver{'y' if accepted.deliveries == 1 else 'ies'}"
    )


# webhooks


@click.group()
def webhooks() -> None:
    """List, show, create, pause and resume webhooks."""


def _webhook_table(rows: Iterable[Webhook]) -> Table:
    table = Table("id", "status", "url", "events", "name", box=None)
    for wh in rows:
        table.add_row(
            wh.id,
            _webhook_status(wh.status),
            escape(wh.url),
            escape(", ".join(wh.events)),
            escape(wh.name or ""),
        )
    return table


def _webhook_status(status: str) -> str:
    return {"active": "[green]active[/]", "paused": "[yellow]paused[/]"}.get(
        status, f"[red]{status}[/]"
    )


@api_command(webhooks, name="list")
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.option(
    "--status",
    type=click.Choice(["active", "paused", "disabled"]),
    default=None,
    help="Only webhooks in this status.",
)
def list_webhooks(client: Client, as_json: bool, workspace: str, status: str | None) -> None:
    """The workspace's webhooks."""
    rows = list(client.webhooks(workspace, status=status))  # type: ignore[arg-type]
    if as_json:
        print_json(rows)
    else:
        out.print(_webhook_table(rows))


@api_command(webhooks, name="create")
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.argument("target", metavar="URL")
@click.option(
    "--event",
    "-e",
    "events",
    multiple=True,
    help="An event type or pattern it subscribes to (repeat it; default every event: *).",
)
@click.option("--name", default=None, help="A name people recognise it by.")
@click.option("--description", default=None, help="What it is for.")
def create_webhook(
    client: Client,
    as_json: bool,
    workspace: str,
    target: str,
    events: tuple[str, ...],
    name: str | None,
    description: str | None,
) -> None:
    """Create a webhook to URL; prints it and its signing secret."""
    fields = {k: v for k, v in {"name": name, "description": description}.items() if v}
    wh = client.create_webhook(workspace, target, events or ("*",), **fields)
    secret = client.get_secret(wh.id)
    if as_json:
        print_json({**dump(wh), "secret": secret.secret})
        return
    out.print(_webhook_table([wh]))
    out.print(f"secret: {secret.secret}")


@api_command(webhooks, name="show")
@click.argument("webhook_id")
def show_webhook(client: Client, as_json: bool, webhook_id: str) -> None:
    """One webhook and its settings (not its secret: see the API for that)."""
    wh = client.get_webhook(webhook_id)
    if as_json:
        print_json(wh)
        return
    fields = {
        "id": wh.id,
        "status": _webhook_status(wh.status),
        "reason": wh.status_reason,
        "url": wh.url,
        "events": ", ".join(wh.events),
        "name": wh.name,
        "description": wh.description,
        "ordering": wh.ordering,
        "rate limit": None if wh.rate_limit is None else f"{wh.rate_limit:g}/s",
        "retry policy": json.dumps(wh.retry_policy) if wh.retry_policy else None,
        "headers": ", ".join(wh.headers),
        "created": when_text(wh.created_at),
        "updated": when_text(wh.updated_at),
    }
    table = Table(box=None, show_header=False)
    for label, value in fields.items():
        if value:
            table.add_row(f"{label}:", value if label == "status" else escape(value))
    out.print(table)


@api_command(webhooks, name="pause")
@click.argument("webhook_id")
@click.option("--reason", default=None, help="Why, shown beside its status.")
def pause_webhook(client: Client, as_json: bool, webhook_id: str, reason: str | None) -> None:
    """Pause a webhook: new deliveries wait until it is resumed."""
    _changed(client.pause_webhook(webhook_id, reason), as_json)


@api_command(webhooks, name="resume")
@click.argument("webhook_id")
def resume_webhook(client: Client, as_json: bool, webhook_id: str) -> None:
    """Resume a webhook: what waited goes out, oldest first."""
    _changed(client.resume_webhook(webhook_id), as_json)


def _changed(wh: Webhook, as_json: bool) -> None:
    if as_json:
        print_json(wh)
    else:
        out.print(f"{wh.id} is {_webhook_status(wh.status)}")


# deliveries


@click.group()
def deliveries() -> None:
    """Search the Send Logs."""


def _delivery_filters(fn: F) -> F:
    for option in reversed(
        [
            click.option("--workspace", "-w", default=None, help="A workspace's deliveries."),
            click.option("--webhook", default=None, help="One webhook's deliveries."),
            click.option(
                "--status",
                type=click.Choice(DELIVERY_STATUSES),
                default=None,
                help="Only deliveries in this status.",
            ),
            click.option("--event-type", default=None, help="Only deliveries of this type."),
        ]
    ):
        fn = option(fn)
    return fn


def _scope(workspace: str | None, webhook: str | None) -> None:
    if (workspace is None) == (webhook is None):
        raise click.UsageError("give one of --workspace and --webhook")


@api_command(deliveries, name="list")
@_delivery_filters
@click.option("--since", type=WHEN, default=None, help="Created since: 1h, 30m, 2d or RFC 3339.")
@click.option("--until", type=WHEN, default=None, help="Created before: 1h, 30m or RFC 3339.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="At most this many, newest first.")  # fmt: skip
def list_deliveries(
    client: Client,
    as_json: bool,
    workspace: str | None,
    webhook: str | None,
    status: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> None:
    """Deliveries, newest first, with their last outcome."""
    _scope(workspace, webhook)
    found = client.deliveries(
        workspace,
        webhook_id=webhook,
        status=status,  # type: ignore[arg-type]
        event_type=event_type,
        since=since,
        until=until,
        page_size=min(limit, 250),
    )
    rows = list(islice(found, limit))
    if as_json:
        print_json(rows)
        return
    table = Table("created", "id", "status", "event", "event id", "last", "tries", box=None)
    for d in rows:
        table.add_row(
            when_text(d.created_at),
            d.id,
            status_text(d.status),
            escape(d.event_type),
            d.event_id,
            outcome_text(d),
            str(d.attempt_count),
        )
    out.print(table)


# recover


@api_command()
@click.option("--webhook", required=True, help="The webhook whose failed deliveries to resend.")
@click.option("--since", type=WHEN, required=True, help="Failed since: 1h, 2d or RFC 3339.")
@click.option("--until", type=WHEN, default=None, help="Failed before: 1h or RFC 3339.")
@click.option("--wait/--no-wait", default=None,
              help=f"Follow the resent deliveries until they settle (default: above {RECOVER_BAR_FROM}).")  # fmt: skip
@click.option("--wait-timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Give up following after this many seconds.")  # fmt: skip
def recover(
    client: Client,
    as_json: bool,
    webhook: str,
    since: datetime,
    until: datetime | None,
    wait: bool | None,
    wait_timeout: float,
) -> None:
    """Resend a webhook's failed deliveries of a period, with a progress bar on long runs."""
    started = datetime.now(UTC) - timedelta(seconds=5)  # room for the server's clock
    count = client.recover(webhook, since, until=until).count
    follow = wait if wait is not None else (count > RECOVER_BAR_FROM and not as_json)
    if not follow or count == 0:
        if as_json:
            print_json({"count": count})
        else:
            out.print(f"resending {count} deliver{'y' if count == 1 else 'ies'} of {webhook}")
        return
    settled = _follow_recovery(client, webhook, started, count, wait_timeout, bar=not as_json)
    tally = {s: sum(1 for v in settled.values() if v == s) for s in ("succeeded", "failed")}
    if as_json:
        print_json({"count": count, **tally, "unsettled": count - len(settled)})
    else:
        out.print(
            f"resent {count}: {tally['succeeded']} succeeded, {tally['failed']} failed, "
            f"{count - len(settled)} not settled"
        )


def _follow_recovery(
    client: Client, webhook: str, since: datetime, count: int, timeout: float, *, bar: bool
) -> dict[str, str]:
    """The final status of each recovered delivery, as they settle (polled, with a deadline).

    Ctrl-C only stops the watching (the server goes on resending), so it ends with what settled.
    """
    settled: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    progress = Progress(
        TextColumn("resending"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not bar,
        console=err,
    )
    task = progress.add_task("recover", total=count)
    try:
        if bar:
            err.print(f"following {count} resent deliveries (Ctrl-C stops watching)", style="dim")
        with progress:
            while len(settled) < count and time.monotonic() < deadline:
                for d in client.deliveries(webhook_id=webhook, since=since, page_size=250):
                    if "recovered" in d.tags and d.status in FINAL:
                        settled[d.id] = d.status
                progress.update(task, completed=len(settled))
                if len(settled) < count:
                    time.sleep(0.5)
    except KeyboardInterrupt:
        err.print("stopped following; Hookline goes on resending", style="dim")
    return settled
