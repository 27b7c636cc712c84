"""A Hookline deployment under test: SQLite all-in-one, or PostgreSQL 1 api + N workers.

Each deployment gets a fresh data directory (and, on PostgreSQL, a fresh
database created here and dropped by ``stop``). ``sql`` runs a query against
its database from outside, to verify what was logged. Every ``hookline serve``
process is given ``HOOKLINE_WORKERS`` (its dispatcher processes) explicitly, so
the report can say what ran rather than what the machine's default made of it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench.procs import PY, ROOT, CpuMeter, Proc, hookline_env, start_hookline

PG_ADMIN = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
PG_BASE = "postgresql://postgres@127.0.0.1:5432"
# What `hookline serve` would pick by itself: one dispatcher process per core.
HOOKLINE_WORKERS = os.cpu_count() or 1


def psql(sql: str, *, db: str = "postgres", timeout: float = 600) -> str:
    out = subprocess.run(
        ["psql", *PG_ADMIN, "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def postgres_ready() -> tuple[bool, str]:
    """Whether the PostgreSQL store adapter exists and the server answers; why not."""
    probe = subprocess.run(
        [
            PY,
            "-c",
            "from cryptography.fernet import Fernet; from hookline.secrets import SecretBox; "
            "from hookline.settings import Settings; from hookline.store import open_store; "
            f"open_store(Settings(database_url='{PG_BASE}/postgres'), "
            "SecretBox(Fernet.generate_key().decode()))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return False, f"open_store with a postgresql:// URL fails: {last}"
    try:
        psql("SELECT 1")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return False, f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
    return True, ""


class Deployment:
    def __init__(
        self,
        kind: str,
        run_dir: Path,
        *,
        workers: int = 2,
        probe: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.dir = run_dir / f"{kind}-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir(parents=True)
        self.workers = workers
        self.env = {"HOOKLINE_WORKERS": str(HOOKLINE_WORKERS), **(env or {})}
        self.probe = probe
        self.procs: list[Proc] = []
        self.db_name = ""
        self.base = ""

    @property
    def sqlite_path(self) -> Path:
        return self.dir / "hookline.db"

    @property
    def server_pid(self) -> int:
        """The process that takes the API (all-in-one: the parent of the dispatchers)."""
        return self.procs[0].pid

    def start(self) -> Deployment:
        if self.kind == "sqlite":
            env = hookline_env(self.dir, **self.env)
            proc, self.base = start_hookline(
                "hookline-all", self.dir, env, role="all", probe=self.probe
            )
            self.procs.append(proc)
            return self
        if not self.db_name:
            self.db_name = f"hookline_bench_{uuid.uuid4().hex[:8]}"
            psql(f'CREATE DATABASE "{self.db_name}"')
        env = hookline_env(self.dir, f"{PG_BASE}/{self.db_name}", **self.env)
        proc, self.base = start_hookline("hookline-api", self.dir, env, role="api")
        self.procs.append(proc)
        for i in range(self.workers):
            # --port 0: a worker serves no HTTP at all; it has started once it logged nothing fatal.
            worker, _ = start_hookline(f"hookline-worker{i}", self.dir, env, role="worker", port=0)
            self.procs.append(worker)
        time.sleep(1.0)
        for p in self.procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited:\n{p.output()}")
        return self

    def cpu_meter(self) -> CpuMeter:
        pids = {"hookline": [p.pid for p in self.procs]}
        return CpuMeter(pids, postgres=self.kind == "postgres")

    def restart(self) -> None:
        self.stop_processes()
        self.procs = []
        self.start()

    def stop_processes(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def stop(self) -> None:
        self.stop_processes()
        for path in self.dir.glob("hookline.db*"):  # up to ~2 GB after the 1M fill; logs stay
            if path.is_dir():
                shutil.rmtree(path)  # the processes' run directory (lock, wake-up registry)
            else:
                path.unlink()
        if self.db_name:
            psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self.db_name = ""

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
            try:
                return list(conn.execute(query).fetchall())
            finally:
                conn.close()
        out = psql(query, db=self.db_name)
        return [tuple(line.split("|")) for line in out.splitlines()]

    def logged(self) -> tuple[int, int]:
        """(attempts stored, deliveries succeeded), leaving out rows the bench prefilled in SQL
        (their ids sort before every real ULID: see ``bench.prefill``)."""
        ((attempts,),) = self.sql("SELECT count(*) FROM attempts WHERE id > 'att_0001'")
        ((done,),) = self.sql(
            "SELECT count(*) FROM deliveries WHERE id > 'dlv_0001' AND status = 'succeeded'"
        )
        return int(attempts), int(done)
