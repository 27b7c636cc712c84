"""A PostgreSQL cluster owned by one test: ``initdb`` in a temporary directory, ``pg_ctl`` on a free
port of 127.0.0.1, so that it can be stopped and started without touching any shared server.

PostgreSQL refuses to run as root: as root, the directory is given to the ``postgres``
user and every command runs as that user (``runuser``). ``destroy`` stops the server
however it can (fast, then immediate, then SIGKILL of the postmaster) and removes the
directory; it is safe to call more than once.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from support.net import free_port


def _bindir() -> Path:
    """The server's programs: $HOOKLINE_TEST_PG_BIN, else the newest Debian-installed version."""
    if configured := os.environ.get("HOOKLINE_TEST_PG_BIN"):
        return Path(configured)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    return found[0] if found else Path("/usr/lib/postgresql/15/bin")


BIN = _bindir()
# A cluster for tests. The machine never crashes under it, so fsync can go; but a commit must
# reach the kernel before it is acknowledged (synchronous_commit on), or an immediate stop loses
# transactions the API has already answered 202 for, which is exactly what the tests look for.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "on",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
}


class Cluster:
    def __init__(self) -> None:
        self.user = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="hookline-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [*(["runuser", "-u", self.user, "--"] if self.user else []), *args]
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited with {done.returncode}:\n"
                f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}\n"
                f"{self.output()}"
            )

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def init(self) -> Cluster:
        self._run(
            str(BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        options = " ".join(
            [f"-p {self.port}", f"-k {self.root}", *(f"-c {k}={v}" for k, v in SETTINGS.items())]
        )
        self._run(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        """Stop the server whatever state it is in; remove its directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                try:
                    self.stop("fast")
                except (AssertionError, subprocess.TimeoutExpired):
                    try:
                        self.stop("immediate")
                    except (AssertionError, subprocess.TimeoutExpired):
                        self._kill_postmaster()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
