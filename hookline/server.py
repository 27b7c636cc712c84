"""One program with roles: ``all`` (API, UI and dispatchers), ``api`` or ``worker``.

``all`` serves the API and UI in this process and runs ``HOOKLINE_WORKERS``
dispatcher processes beside it (``supervisor.py``); with ``HOOKLINE_WORKERS=0`` the
dispatcher runs in this process instead. Before it serves or claims anything, every
role checks that its encryption key is the deployment's (it opens the store's key
check) and refuses to start if not. Every role shares one stop signal: SIGTERM or
SIGINT stops new claims and new requests, lets in-flight attempts finish (or
releases them), stops the dispatcher processes, exports the spans still buffered
when tracing is on (``tracing.py``), then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import uvicorn

from hookline import tracing
from hookline.data_dir import ensure_generated_keys
from hookline.dispatch.dispatcher import Dispatcher
from hookline.dispatch.transport import Transport
from hookline.errors import HooklineError
from hookline.forkserver import fork_preloaded
from hookline.ids import now_ms
from hookline.logs import announce, fatal, setup_logging
from hookline.secrets import SecretBox
from hookline.service import Context, Services
from hookline.service.configuration import Process
from hookline.service.operational import provision
from hookline.settings import Settings, load_settings
from hookline.store import open_store
from hookline.store.port import Store
from hookline.supervisor import ForkServer, Supervisor, watch_parent

Role = Literal["all", "api", "worker"]
log = logging.getLogger("hookline")


class _Server(uvicorn.Server):
    """uvicorn, minus its own signal handling: Hookline's stop signal drives it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def dispatcher_processes(settings: Settings, role: Role) -> int:
    """How many dispatcher processes ``role`` starts beside itself."""
    if role != "all":
        return 0
    return os.cpu_count() or 1 if settings.workers is None else settings.workers


async def serve(
    settings: Settings, role: Role, *, supervised: bool = False, forks: ForkServer | None = None
) -> None:
    """Serve ``role`` until stopped; ``forks`` (a fork server this process forked) forks the
    dispatcher processes (else a fresh one is started for them)."""
    setup_logging(settings)
    if supervised:
        watch_parent()
    tracing.setup(settings.tracing, role)
    try:
        await _serve(settings, role, supervised=supervised, forks=forks)
    finally:
        tracing.shutdown()  # export the spans still buffered


def dispatcher_for(ctx: Context, transport: Transport | None = None) -> Dispatcher:
    """A dispatcher on the store, settings and networks of ``ctx`` (its operational events wake
    whatever ``ctx.wake`` wakes by then)."""
    return Dispatcher(
        ctx.store,
        ctx.settings,
        ctx.box,
        metrics=ctx.metrics,
        networks=ctx.allowed_networks,
        wake_all=lambda: ctx.wake(),
        transport=transport,
    )


async def _serve(
    settings: Settings, role: Role, *, supervised: bool, forks: ForkServer | None
) -> None:
    admin_key, generated = ensure_generated_keys(settings)
    if generated:  # now: a start that fails later must not lose the only sight of it
        announce(
            settings,
            f"Admin key (generated, shown once; stored in {settings.data_dir}/admin.key):",
            adminKey=admin_key,
        )
    assert settings.encryption_key is not None
    box = SecretBox(settings.encryption_key.get_secret_value())
    store = open_store(settings, box)
    await store.open()
    await checked_key(store, box, settings)
    ctx = Context.build(settings, store, box)
    workers = dispatcher_processes(settings, role)
    ctx.process = Process(role=role, dispatcher_processes=workers)
    supervisor = Supervisor(
        workers, _worker_env(settings), grace=settings.shutdown_grace, forks=forks
    )
    in_process = role == "worker" or (role == "all" and workers == 0)
    dispatcher = dispatcher_for(ctx) if in_process else None
    ctx.wake = _wake(store, dispatcher.wake if dispatcher is not None else None)
    services = Services(ctx)
    if role in ("all", "api") and settings.operator_webhook_url:
        await _provision_operator(services, settings, store)
    # Bind first: a port in use fails the start before any delivery is claimed.
    servers: list[tuple[_Server, socket.socket]] = []
    if role in ("all", "api") or settings.port != 0:
        from hookline.api.app import create_app, create_ops_app

        # The worker role serves only /healthz, /readyz and /metrics (none with --port 0).
        app = create_app(services) if role != "worker" else create_ops_app(services)
        try:
            servers.append(_listener(app, settings.host, settings.port, settings))
        except SystemExit:
            await store.close()
            raise SystemExit(
                f"Hookline cannot listen on {settings.host}:{settings.port} (see above; usually "
                "another program has the port). Choose another with --port or HOOKLINE_PORT "
                "(make run PORT=…), or another address with --host or HOOKLINE_HOST."
            ) from None
    metrics_at = settings.metrics_listener
    if metrics_at is not None and not supervised:  # a dispatcher's counters reach the API's
        from hookline.api.app import create_metrics_app

        try:
            servers.append(_listener(create_metrics_app(services), *metrics_at, settings))
        except SystemExit:
            await store.close()
            raise SystemExit(
                f"Hookline cannot listen on {settings.metrics_address} for /metrics (see above; "
                "usually another program has the port). Choose another HOOKLINE_METRICS_ADDRESS."
            ) from None

    stopped = asyncio.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        log.info("stopping: no new claims, draining in-flight attempts")
        stopped.set()
        if dispatcher is not None:
            dispatcher.stop()
        supervisor.stop()
        for server, _ in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    if not supervised:
        _banner(settings, role, workers)
    try:
        tasks = []
        if dispatcher is not None:
            tasks.append(asyncio.create_task(dispatcher.run(), name="hookline-dispatcher"))
        if workers:
            tasks.append(asyncio.create_task(supervisor.run(), name="hookline-supervisor"))
        for server, bound in servers:
            tasks.append(asyncio.create_task(server.serve([bound]), name="hookline-http"))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()
        await asyncio.gather(*tasks)
    finally:
        await services.transformations.close()
        await store.close()
        log.info("stopped")


def _listener(app: Any, host: str, port: int, settings: Settings) -> tuple[_Server, socket.socket]:
    """An HTTP server of ``app`` and its socket, bound now (SystemExit if it cannot be)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace),
    )
    return _Server(config), config.bind_socket()


async def _provision_operator(services: Services, settings: Settings, store: Store) -> None:
    """Keep the deployment's operator webhook at ``HOOKLINE_OPERATOR_WEBHOOK_URL``, or exit
    saying why the URL or secret is refused."""
    secret = settings.operator_webhook_secret
    try:
        wh = await provision(
            services,
            settings.operator_webhook_url,
            secret.get_secret_value() if secret is not None else None,
        )
    except HooklineError as exc:
        await store.close()
        raise SystemExit(
            f"Hookline cannot start: HOOKLINE_OPERATOR_WEBHOOK_URL or _SECRET is refused: {exc}"
        ) from None
    log.info("operational webhooks go to %s (webhook %s of %s)", wh.url, wh.id, wh.workspace_id)


class WrongEncryptionKey(Exception):
    """This process's encryption key cannot open the secrets stored in the database."""


# What the key check token seals: any process holding the deployment's key can open it.
KEY_CHECK = "hookline key check"
WRONG_KEY = (
    "Hookline cannot start: its encryption key is not the key the secrets in {database} are "
    "sealed with, so this process could neither sign deliveries nor read webhook secrets. "
    "Every process of a deployment (the API and every worker, on every machine) needs the "
    "same key: set HOOKLINE_ENCRYPTION_KEY to the deployment's key in each of them (a process "
    "without it generates a key of its own into {key_file})."
)


async def check_encryption_key(store: Store, box: SecretBox) -> None:
    """Raise ``WrongEncryptionKey`` unless ``box`` holds the key of the store's secrets.

    The store keeps a token sealed with the deployment's key, written by the first
    process that finds none (two starting at once agree on whichever was stored first).
    A database from before the token existed is checked against a webhook secret first.
    """
    token = await store.key_check()
    if token is None:
        secret = await store.any_webhook_secret()
        if secret is not None and not _opens(box, secret):
            raise WrongEncryptionKey
        token = await store.set_key_check(box.seal(KEY_CHECK), now=now_ms())
    if not _opens(box, token):
        raise WrongEncryptionKey


async def checked_key(store: Store, box: SecretBox, settings: Settings) -> None:
    """Check the key, then seal what older versions left in clear; exit with ``WRONG_KEY``
    (the store closed) when the key is not the deployment's."""
    try:
        await check_encryption_key(store, box)
    except WrongEncryptionKey:
        await store.close()
        raise SystemExit(
            WRONG_KEY.format(
                database=settings.database_display, key_file=settings.data_dir / "encryption.key"
            )
        ) from None
    await store.seal_plain_headers()


def _opens(box: SecretBox, token: str) -> bool:
    try:
        box.open(token)
    except RuntimeError:
        return False
    return True


def _wake(store: Store, local: Callable[[], None] | None) -> Callable[[], None]:
    """What services call when they created work that is due now."""
    if local is None:
        return store.work_created

    def wake() -> None:
        local()
        store.work_created()

    return wake


def _worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a dispatcher process: this one's, with the keys and command-line
    choices made explicit so that it runs with the same settings."""
    assert settings.admin_key is not None and settings.encryption_key is not None
    env = dict(os.environ)
    env.update(
        HOOKLINE_DATA_DIR=str(settings.data_dir.resolve()),
        HOOKLINE_DATABASE_URL=settings.database_url
        or f"sqlite:///{settings.sqlite_path.resolve()}",
        HOOKLINE_ADMIN_KEY=settings.admin_key.get_secret_value(),
        HOOKLINE_ENCRYPTION_KEY=settings.encryption_key.get_secret_value(),
        HOOKLINE_DEV="true" if settings.dev else "false",
        HOOKLINE_LOG_FORMAT=settings.log_format,
        HOOKLINE_LOG_LEVEL=settings.log_level,
    )
    return env


def _banner(settings: Settings, role: Role, workers: int) -> None:
    base = settings.base_url
    lines = [f"Hookline {role} role on {settings.database_display}"]
    if workers:
        lines.append(f"Dispatchers: {workers} processes (HOOKLINE_WORKERS)")
    if settings.dev:
        lines.append(
            "DEV MODE: http:// URLs and private/loopback destinations are ALLOWED. "
            "Never run like this in production."
        )
    if (egress := settings.egress) is not None:
        lines.append(f"Deliveries leave through {egress.display} (HOOKLINE_EGRESS_PROXY)")
    lines.append(f"Admin key: from HOOKLINE_ADMIN_KEY or {settings.data_dir}/admin.key")
    if settings.tracing == "otlp":
        sent = " (traceparent sent to receivers)" if settings.trace_propagation else ""
        lines.append(f"Tracing:  OTLP/HTTP to {tracing.traces_endpoint()}{sent}")
    if role != "worker":
        lines += [f"UI:       {base}/ui", f"API:      {base}/v1", f"API docs: {base}/docs"]
    if settings.metrics_address:
        token = " (bearer token required)" if settings.metrics_token is not None else ""
        lines.append(f"Metrics:  http://{settings.metrics_address}/metrics{token}")
    for line in lines:
        announce(settings, line)


def run_dispatcher() -> None:
    """A dispatcher of ``hookline serve``, forked by its fork server in the environment the
    supervisor sent: the worker role, supervised, with no HTTP port."""
    run(load_settings(port=0), "worker", supervised=True)


def run(
    settings: Settings, role: Role, *, supervised: bool = False, metrics_dir: Path | None = None
) -> None:
    """Serve until stopped; ``metrics_dir`` (the processes' shared metrics) is removed after."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    forks = None
    if (
        dispatcher_processes(settings, role)
        and (preloaded := fork_preloaded(run_dispatcher)) is not None
    ):
        forks = ForkServer(*preloaded)
    try:
        asyncio.run(serve(settings, role, supervised=supervised, forks=forks))
    except SystemExit as exc:
        if not isinstance(exc.code, str):
            raise
        fatal(settings.log_format, exc.code)  # why it cannot start (a port in use, a wrong key)
        raise SystemExit(1) from None
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
