"""Profile: py-spy samples the SQLite all-in-one server while it drains a throughput run.

``py-spy record --format raw --subprocesses`` (collapsed stacks, idle threads
left out, root frames for the process and the thread) samples the server and its
dispatcher processes; the stacks are summed here into CPU shares: per process and
per thread, the hottest functions by own time, and Hookline's by inclusive time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import Api, Receiver
from bench.deploy import Deployment
from bench.procs import PY
from bench.scenarios.throughput import PATHS, drain, setup_paused


async def profile(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    out: Path,
    *,
    n: int,
    seconds: float,
    rate: int = 200,
) -> dict[str, Any]:
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    ws, hooks, _ = await setup_paused(api, receiver)
    await api.ingest(ws, n, lambda k: f"bench.{k % PATHS}")
    probing = deploy.probe is not None
    if probing:
        os.kill(deploy.server_pid, signal.SIGUSR1)  # counters from here on only
    spy = Path(PY).with_name("py-spy")
    gil_out = out.with_name(out.stem + "-gil" + out.suffix)
    cmd = [
        str(spy),
        "record",
        "--pid",
        str(deploy.server_pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--nolineno",
        "--threads",
        "--nonblocking",
        "--subprocesses",
    ]
    # Two samplers at once: every non-idle thread, and only the thread holding the GIL.
    recorders = [
        subprocess.Popen(
            [*cmd, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        ),
        subprocess.Popen(
            [*cmd, "--gil", "--output", str(gil_out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ),
    ]
    await asyncio.sleep(0.5)  # py-spy attaches before the clock starts
    try:
        result = await drain(deploy, api, rcv, hooks, n, timeout=120)
    finally:
        errs = [await asyncio.to_thread(r.communicate, timeout=seconds + 30) for r in recorders]
        err = b"".join(e for _, e in errs)
    probe: dict[str, Any] = {}
    if probing:
        assert deploy.probe is not None
        deploy.probe.unlink(missing_ok=True)
        os.kill(deploy.server_pid, signal.SIGUSR2)
        for _ in range(100):
            if deploy.probe.exists():
                break
            await asyncio.sleep(0.05)
        probe = json.loads(deploy.probe.read_text())
    if not out.exists():
        raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-1000:]}")
    gil = summarize(gil_out) if gil_out.exists() else {}
    return {
        "run": result,
        "rate": rate,
        "seconds": seconds,
        "probe": probe,
        **summarize(out),
        "gil": {
            "samples": gil.get("samples", 0),
            "held_share": gil.get("samples", 0) / (rate * seconds),
            "own": gil.get("own", []),
        },
    }


# A dispatcher is forked inside the server's start-up, so each of its samples begins with
# the frames that forked it and then its own entry point: cut there, as they say nothing.
_FORKED_AT = "hookline/forkserver.py:_dispatcher"


def _frame(text: str) -> str:
    """``func (path/to/file.py)`` → ``file.py:func`` with its package, short."""
    func, _, where = text.rpartition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{where}:{func}"


def summarize(raw: Path, top: int = 18) -> dict[str, Any]:
    processes: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        # One root frame per process from the server down to the sampled one, then the thread.
        depth = next((i for i, f in enumerate(frames) if not f.startswith("process ")), 0)
        frames = [_frame(f) for f in frames[depth + 1 :]]
        if _FORKED_AT in frames:
            frames = frames[frames.index(_FORKED_AT) + 1 :]
        total += n
        processes["server process" if depth <= 1 else "its child processes"] += n
        threads[_thread_role(frames)] += n
        if frames:
            own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    share = {k: v / total for k, v in threads.most_common()} if total else {}
    return {
        "samples": total,
        "processes": {k: v / total for k, v in processes.most_common()} if total else {},
        "threads": share,
        "own": [(f, c / total) for f, c in own.most_common(top)] if total else [],
        "inclusive_hookline": [
            (f, c / total)
            for f, c in inclusive.most_common()
            if f.startswith("hookline/") and c / total >= 0.01
        ][:top]
        if total
        else [],
        "inclusive_libs": [
            (f, c / total)
            for f, c in inclusive.most_common()
            if not f.startswith(("hookline/", "asyncio/", "threading.py", "concurrent/"))
            and c / total >= 0.02
        ][:top]
        if total
        else [],
    }


def _thread_role(frames: list[str]) -> str:
    joined = ";".join(frames)
    if "hookline/store/sqlite" in joined or "concurrent/futures/thread.py" in joined:
        if "hookline/store/sqlite" in joined:
            return "SQLite threads (writer/reader)"
        return "executor threads"
    return "event loop thread"
