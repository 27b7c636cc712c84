"""Child processes of the benchmark: the receiver, ``hookline serve`` roles, helpers.

Every child gets its own log file under the run directory and is stopped with
SIGTERM (then SIGKILL) by the ``Proc`` that started it; nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ADMIN_KEY = "hk_admin_bench_" + "b" * 32
PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proc:
    """One child process with its log file; ``stop`` is idempotent."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("ab")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        full_env.update(PYTHONUNBUFFERED="1", **(env or {}))
        self.popen = subprocess.Popen(
            argv,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd or ROOT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, tail: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.popen.poll() is None:
            # The child leads its own session: signal the group so helpers (celery pool) go too.
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        if not self._log.closed:
            self._log.close()
        return self.popen.returncode


def wait_http(url: str, proc: Proc, *, timeout: float = 60.0) -> None:
    """Until ``url`` answers 200, failing early if the process died."""
    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{proc.name} not ready within {timeout} s:\n{proc.output()}")
        time.sleep(0.05)


def start_receiver(run_dir: Path) -> tuple[Proc, str]:
    port_file = run_dir / "receiver.port"
    port_file.unlink(missing_ok=True)
    proc = Proc(
        "receiver",
        [PY, "-m", "bench.receiver", "--port", "0", "--port-file", str(port_file)],
        log=run_dir / "receiver.log",
    )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"receiver did not start:\n{proc.output()}")
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port_file.read_text().strip()}"
    wait_http(base + "/_/stats", proc)
    RECEIVER_PID[:] = [proc.pid]
    return proc, base


def hookline_env(data_dir: Path, database_url: str = "", **extra: str) -> dict[str, str]:
    env = {
        "HOOKLINE_DATA_DIR": str(data_dir),
        "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
        "HOOKLINE_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["HOOKLINE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def start_hookline(
    name: str,
    run_dir: Path,
    env: dict[str, str],
    *,
    role: str = "all",
    port: int | None = None,
    probe: Path | None = None,
) -> tuple[Proc, str]:
    """``hookline serve --dev`` in ``role`` (under ``bench.probe`` when ``probe`` names its
    stats file); returns the process and its base URL."""
    port = free_port() if port is None else port
    runner = (
        ["-m", "hookline"]
        if probe is None
        else ["-m", "bench.probe", "--stats-file", str(probe), "--"]
    )
    argv = [PY, *runner, "serve", "--dev", "--role", role, "--port", str(port)]
    proc = Proc(name, argv, log=run_dir / f"{name}.log", env=env)
    base = f"http://127.0.0.1:{port}"
    if port:
        wait_http(base + "/healthz", proc)
    return proc, base


RECEIVER_PID: list[int] = []  # set by start_receiver: CPU accounting includes the receiver


def process_tree(pid: int) -> list[Any]:
    """``pid`` and every live descendant (``hookline serve`` forks its dispatchers), as psutil
    processes; empty once ``pid`` is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) of ``pid``'s process tree so far: each live
    process's own time plus what its exited, reaped children used (``children_*``)."""
    import psutil

    total = 0.0
    for proc in process_tree(pid):
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class CpuMeter:
    """CPU seconds that process trees use between ``start`` and ``stop``.

    Each pid counts with all its descendants (see ``tree_cpu_s``). ``postgres`` sums every
    process named ``postgres`` on the machine, so it includes any other use of that server
    while the meter runs.
    """

    def __init__(self, pids: dict[str, list[int]], *, postgres: bool = False) -> None:
        self.pids = {**pids, "receiver": list(RECEIVER_PID)}
        self.postgres = postgres
        self._start: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        import psutil

        out = {name: sum(tree_cpu_s(pid) for pid in pids) for name, pids in self.pids.items()}
        if self.postgres:
            total = 0.0
            for proc in psutil.process_iter(["name", "cpu_times"]):
                if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
                    total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
            out["postgres (all)"] = total
        return out

    def start(self) -> CpuMeter:
        self._start = self._sample()
        return self

    def stop(self) -> dict[str, float]:
        end = self._sample()
        return {k: round(end[k] - self._start.get(k, 0.0), 3) for k in end}


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of ``pid`` and its descendants in MiB, from /proc/<pid>/status: ``rss_mb`` sums
    each process's VmRSS and ``peak_mb`` each process's own peak (VmHWM), so the peak is an
    upper bound of the tree's peak (the processes need not peak at once) and pages the
    processes share count once per process; ``pss_mb`` sums each process's proportional set
    size (``Pss`` of /proc/<pid>/smaps_rollup: a page shared by k processes counts 1/k in
    each), the tree's memory now; ``processes`` is how many were read."""
    rss = peak = pss = 0.0
    count = 0
    for proc in process_tree(pid):
        try:
            with open(f"/proc/{proc.pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) / 1024
                        break
        except OSError:
            continue
        fields: dict[str, float] = {}
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                for line in fh:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        fields[key] = int(value.split()[0]) / 1024
        except OSError:
            continue  # exited since it was listed
        if len(fields) == 2:
            rss += fields["VmRSS"]
            peak += fields["VmHWM"]
            count += 1
    return {"rss_mb": rss, "peak_mb": peak, "pss_mb": pss, "processes": count}
