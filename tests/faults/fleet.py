"""Hookline scaled out: one ``--role api`` process and several ``--role worker`` processes on one
PostgreSQL database, as ``docs/deploy.md`` describes, each a real subprocess with its own data
directory and log, sharing the admin and encryption keys.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from support.polling import poll
from support.server import ADMIN_KEY, Api, Hookline

# One batch request of the ingestion API carries at most this many events here.
BATCH = 250


class Fleet:
    def __init__(
        self,
        root: Path,
        database_url: str,
        *,
        workers: int = 2,
        worker_http: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        shared = {
            "HOOKLINE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            **(env or {}),
        }

        def server(name: str, **kwargs: Any) -> Hookline:
            return Hookline(root / name, env=shared, database_url=database_url, **kwargs)

        self.api_server = server("api", role="api")
        self.workers = [
            server(f"worker{n}", role="worker", http=worker_http) for n in range(workers)
        ]
        self._api: Api | None = None
        self._codes: dict[str, int] | None = None

    @property
    def servers(self) -> list[Hookline]:
        return [self.api_server, *self.workers]

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.api_server.base_url, ADMIN_KEY)
        return self._api

    def start(self) -> Fleet:
        """Start every process at once (their migrations take turns under a lock)."""
        with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
            for started in [pool.submit(s.start) for s in self.servers]:
                started.result()
        return self

    def kill_worker(self, n: int) -> None:
        self.workers[n].kill()

    def restart_worker(self, n: int) -> None:
        self.workers[n].start()

    def close(self) -> dict[str, int]:
        """SIGTERM every process (at once: each drains); the exit code of each (idempotent)."""
        if self._codes is not None:
            return self._codes
        if self._api is not None:
            self._api.close()
        with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
            waits = {s.log_path.name: pool.submit(s.terminate) for s in self.servers if s.proc}
            self._codes = {name: code.result() for name, code in waits.items()}
        return self._codes

    def logs(self) -> str:
        return "\n".join(f"--- {s.log_path}\n{s.output()[-4000:]}" for s in self.servers)


def send_events(api: Api, ws: str, type: str, count: int, *, prefix: str) -> list[str]:
    """Send ``count`` events in batches; their ids (``{prefix}-{n}``), every one accepted."""
    ids = []
    for start in range(0, count, BATCH):
        events = [
            {"id": f"{prefix}-{n}", "type": type, "data": {"seq": n}}
            for n in range(start, min(count, start + BATCH))
        ]
        results = api.post(f"/v1/workspaces/{ws}/events/batch", {"events": events})
        assert [r["status"] for r in results] == [202] * len(events), results
        ids += [r["data"]["id"] for r in results]
    return ids


def ready(base_url: str) -> bool:
    """Whether ``/readyz`` says the process reaches its database."""
    try:
        return httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def wait_ready(base_urls: list[str], *, want: bool, timeout: float) -> float:
    """Poll every ``/readyz`` until all are ready (or all unready); how long it took."""
    started = time.monotonic()
    poll(
        lambda: {url: ready(url) for url in base_urls},
        lambda states: all(state == want for state in states.values()),
        timeout=timeout,
        interval=0.05,
        what=f"/readyz {'200' if want else '503'} everywhere",
    )
    return time.monotonic() - started


def unfinished(api: Api, ws: str) -> int:
    """Deliveries of the workspace not yet succeeded or failed (up to 250 of each status)."""
    return sum(
        len(api.get(f"/v1/workspaces/{ws}/deliveries?status={status}&limit=250"))
        for status in ("pending", "sending", "held")
    )


def settle(fleet: Fleet, ws: str, *, timeout: float) -> None:
    """Wait until the queue is empty: every delivery recorded, none left to retry."""
    poll(
        lambda: unfinished(fleet.api, ws),
        lambda left: left == 0,
        timeout=timeout,
        interval=0.1,
        what="every delivery finished (unfinished deliveries)",
    )
