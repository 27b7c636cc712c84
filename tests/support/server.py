"""The real ``hookline serve`` as a subprocess, and a small client for its API.

``Hookline(data_dir, ...)`` is one process; ``with Hookline(...).running() as server`` starts
it and, once the block ends, stops it with SIGTERM and checks that it exited 0 (what every
server fixture does). Readiness and every later expectation are polled with a deadline;
nothing here sleeps to synchronize.

A server runs on SQLite in its data directory, or on the PostgreSQL database it
is given (``database_url``; ``support.postgres.create_database`` makes one).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import httpx

from . import subprocesses
from .net import free_port
from .polling import poll

ADMIN_KEY = "hk_admin_acceptance_" + "x" * 24
START_TIMEOUT = 30.0

Role = Literal["all", "api", "worker"]


class Hookline:
    """One ``hookline serve`` process (``--dev`` unless ``dev=False``) with its own data directory
    and log file.

    ``database_url`` (a PostgreSQL URL) replaces the SQLite file of the data directory.
    ``role="worker"`` with ``http=False`` runs a worker without HTTP (``--port 0``): it is
    ready once its banner is printed (the database was reached and migrated).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        admin_key: str | None = ADMIN_KEY,
        env: dict[str, str] | None = None,
        console_script: bool = False,
        dev: bool = True,
        database_url: str | None = None,
        role: Role = "all",
        http: bool = True,
    ) -> None:
        if not http and role != "worker":
            raise ValueError("only a worker runs without HTTP")
        self.data_dir = data_dir
        self.dev = dev
        self.admin_key = admin_key
        self.database_url = database_url
        self.role = role
        self.http = http
        self._env = env or {}
        self._command = (
            [str(Path(sys.executable).with_name("hookline"))]
            if console_script
            else [sys.executable, "-m", "hookline"]
        )
        self._log: IO[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._pick_port()

    def start(self, *, same_port: bool = False) -> Hookline:
        """Start on a free port; if another process takes the port first, try another.

        ``same_port`` restarts on the last port, for clients that keep its URL (an outbox
        relay); it fails if the port was taken meanwhile.
        """
        if same_port:
            if self._start():
                return self
            raise AssertionError(f"port {self.port} was taken:\n{self.output()}")
        for _ in range(3):
            self._pick_port()
            if self._start():
                return self
        raise AssertionError(f"hookline found no free port:\n{self.output()}")

    @contextlib.contextmanager
    def running(self) -> Iterator[Hookline]:
        """Started for the block; then SIGTERM, and it must exit 0 (its log says why not)."""
        self.start()
        try:
            yield self
        finally:
            code = self.terminate()
            assert code == 0, f"hookline exited with {code}:\n{self.output()}"

    def _pick_port(self) -> None:
        self.port = free_port() if self.http else 0
        self.base_url = f"http://127.0.0.1:{self.port}"
        name = f"serve-{self.port}" if self.http else f"{self.role}-{uuid.uuid4().hex[:8]}"
        self.log_path = self.data_dir / f"{name}.log"

    def _start(self) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        env.update(
            HOOKLINE_DATA_DIR=str(self.data_dir), HOOKLINE_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1"
        )
        env.update(self._env)
        if self.admin_key is not None:
            env["HOOKLINE_ADMIN_KEY"] = self.admin_key
        if self.database_url is not None:
            env["HOOKLINE_DATABASE_URL"] = self.database_url
        self._log = self.log_path.open("ab")
        role = [] if self.role == "all" else ["--role", self.role]
        self.proc = subprocess.Popen(
            [
                *self._command,
                "serve",
                *(["--dev"] if self.dev else []),
                *role,
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
        )
        try:
            return self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> bool:
        """True once /healthz answers (or, without HTTP, the banner is out); False if the port
        was taken; fails otherwise."""
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    if "Address already in use" in self.output():
                        self.stop()
                        return False
                    raise AssertionError(
                        f"hookline exited with {self.proc.returncode}:\n{self.output()}"
                    )
                if not self.http:
                    if f"Hookline {self.role} role on" in self.output():
                        return True
                else:
                    try:
                        if client.get("/healthz").status_code == 200:
                            return True
                    except httpx.TransportError:
                        pass
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"hookline not ready within {START_TIMEOUT} s:\n{self.output()}"
                    )
                time.sleep(0.05)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.stop()

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-attempt, without draining."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.stop()

    def stop(self) -> None:
        """Make sure the process is gone and every handle closed (idempotent)."""
        subprocesses.stop(self.proc, self._log, timeout=20)
        self._log = None

    def api(self, key: str | None = None) -> Api:
        return Api(self.base_url, key or self.admin_key or "")


class Api:
    """httpx with the bearer key, plus helpers that unwrap ``{"ok": true, "data": …}``."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=20.0
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, *, status: int, **kwargs: Any) -> Any:
        """Send a request, assert its status, return ``data`` (or the error for failures)."""
        resp = self.http.request(method, path, **kwargs)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.text}"
        body = resp.json()
        return body["data"] if resp.is_success else body["error"]

    def get(self, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, status=status, **kwargs)

    def post(self, path: str, json: Any = None, *, status: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, status=status, json=json, **kwargs)

    def patch(self, path: str, json: Any, *, status: int = 200) -> Any:
        return self.call("PATCH", path, status=status, json=json)

    # -- domain shortcuts -----------------------------------------------------

    def workspace(self, **fields: Any) -> str:
        ws = self.post(
            "/v1/workspaces", {"name": "acceptance", "plan": "pro", **fields}, status=201
        )
        return str(ws["id"])

    def webhook(self, ws_id: str, url: str, **fields: Any) -> dict[str, Any]:
        body = {"url": url, "events": ["*"], **fields}
        wh: dict[str, Any] = self.post(f"/v1/workspaces/{ws_id}/webhooks", body, status=201)
        return wh

    def send(self, ws_id: str, type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        event: dict[str, Any] = self.post(
            f"/v1/workspaces/{ws_id}/events", {"type": type, "data": data, **extra}, status=202
        )
        return event

    def deliveries_of(self, event_id: str) -> list[dict[str, Any]]:
        deliveries: list[dict[str, Any]] = self.get(f"/v1/events/{event_id}")["deliveries"]
        return deliveries

    def delivery(self, dlv_id: str) -> dict[str, Any]:
        dlv: dict[str, Any] = self.get(f"/v1/deliveries/{dlv_id}")
        return dlv

    def settled(self, dlv_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
        """The delivery once it is ``succeeded`` or ``failed``."""
        return poll(
            lambda: self.delivery(dlv_id),
            lambda d: d["status"] in ("succeeded", "failed"),
            timeout=timeout,
            what=f"{dlv_id} settled",
        )
