"""``hookline serve`` with counters around the store and the sender, for the profile run.

    python -m bench.probe --stats-file out.json -- serve --dev --port P

SIGUSR1 zeroes the counters, SIGUSR2 writes them to the stats file (as exit does).

Runs the real CLI in this process after wrapping, from outside (hookline's code
is not changed): each SQLite ``ConnectionThread`` call (time queued for the
database thread and time running on it, by operation), ``claim_due`` (calls,
deliveries per call) and ``record_attempts`` (batches, records per batch), and
the dispatcher's ``send`` (wall time per attempt). Written as JSON at exit.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

STATS: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))


def _note(key: str, seconds: float, items: int | None = None) -> None:
    entry = STATS[key]
    entry["calls"] += 1
    entry["seconds"] += seconds
    if items is not None:
        entry["items"] += items


def install() -> None:
    from hookline.dispatch.sender import AiohttpTransport
    from hookline.store.sqlite import connection, queue

    original_run = connection.ConnectionThread.run

    async def run(self: Any, fn: Any) -> Any:
        name = getattr(fn, "__qualname__", "?")
        queued_at = time.perf_counter()
        started: list[float] = []

        def timed(conn: Any) -> Any:
            started.append(time.perf_counter())
            return fn(conn)

        try:
            return await original_run(self, timed)
        finally:
            done = time.perf_counter()
            if started:
                kind = "db write" if "txn" in name else "db read"
                _note(f"{kind}: queued", started[0] - queued_at)
                _note(f"{kind}: on the db thread, incl. GIL waits", done - started[0])

    connection.ConnectionThread.run = run  # type: ignore[method-assign]

    def count(cls: Any, method: str, sized: str) -> None:
        original = getattr(cls, method)

        @functools.wraps(original)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = await original(self, *args, **kwargs)
            n = len(result) if sized == "result" else len(args[1] if len(args) > 1 else [])
            _note(method, time.perf_counter() - started, n)
            return result

        setattr(cls, method, wrapper)

    count(queue.QueueQueries, "claim_due", "result")
    count(queue.QueueQueries, "record_attempts", "arg")
    count(queue.QueueQueries, "next_due_at", "result-less")

    original_send = AiohttpTransport.send

    async def send(self: Any, request: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original_send(self, request)
        finally:
            _note("send (HTTP attempt, wall)", time.perf_counter() - started)

    AiohttpTransport.send = send  # type: ignore[method-assign]


def main() -> None:
    argv = sys.argv[1:]
    out = Path(argv[argv.index("--stats-file") + 1])
    cli_args = argv[argv.index("--") + 1 :]
    install()
    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        # A what-if for the report: how much of the database thread's time is GIL hand-over.
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    started = [time.monotonic()]

    def dump(*_: Any) -> None:
        doc = {k: dict(v) for k, v in STATS.items()}
        doc["_wall"] = {"seconds": time.monotonic() - started[0]}
        out.write_text(json.dumps(doc, indent=1))

    def reset(*_: Any) -> None:
        STATS.clear()
        started[0] = time.monotonic()

    atexit.register(dump)
    signal.signal(signal.SIGUSR1, reset)
    signal.signal(signal.SIGUSR2, dump)
    from hookline.cli import main as cli

    cli.main(args=cli_args, prog_name="hookline", standalone_mode=False)


if __name__ == "__main__":
    main()
