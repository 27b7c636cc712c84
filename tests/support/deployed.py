"""Hookline run the way a deploy file says: its command, its environment, its working
directory, its user; ready once ``/readyz`` answers; checked by a delivery that arrives.

A service manager or a container runs Hookline as an unprivileged user whose working
directory it cannot write. ``Unprivileged`` does the same here: ``setpriv`` switches to
``nobody`` (the tests run as root), and the process keeps only the capability to read
and search files (the interpreter of the tests' venv may live in a home directory
``nobody`` cannot enter, as pyenv's does under ``/root``; an installed service's venv
is readable by its user). Writes are checked against ``nobody``'s rights as they would
be against the service user's: ``read_only_dir`` makes a directory it cannot write,
``owned_dir`` one it owns (a state directory as systemd creates it). Where the tests do not
run as root, or setpriv, systemd-analyze or kubectl is missing, the deploy tests are skipped,
saying why, unless ``HOOKLINE_REQUIRE_DEPLOY=1`` (CI sets it): then they fail.

``doc_block(text)`` is the block of docs/deploy.md that contains ``text``, for the tests
that run it where a deploy file needs it. ``Launched(argv, env=…, cwd=…, port=…)`` is one process, its output in a log file;
``with launched:`` waits for ``/readyz`` (200) and, once the block ends, stops it with
SIGTERM and checks that it exited 0. ``delivers(urls, …)`` creates a workspace and a
webhook to the receiver through the API and checks that an event arrives.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from . import subprocesses
from .polling import poll
from .receiver import Receiver
from .requirements import unavailable
from .server import Api

READY_TIMEOUT = 30.0
DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
USER = "nobody"
# Production mode refuses the tests' receiver (plain HTTP on loopback); these open just that.
RECEIVER_ALLOWED = {"HOOKLINE_ALLOW_HTTP": "true", "HOOKLINE_ALLOWED_NETWORKS": "127.0.0.1/32"}


def known_settings() -> set[str]:
    """The environment variables Hookline's settings read."""
    from hookline.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def unknown_settings(names: Iterator[str] | Sequence[str]) -> list[str]:
    """The names among ``names`` that no setting of Hookline reads."""
    known = known_settings()
    return sorted(name for name in names if name not in known)


def doc_block(containing: str) -> str:
    """The one fenced block of docs/deploy.md that contains ``containing`` (a runnable one)."""
    text = DEPLOY_DOC.read_text()
    found = [m for m in FENCE.finditer(text) if containing in m[1]]
    assert len(found) == 1, f"{len(found)} blocks of {DEPLOY_DOC} contain {containing!r}"
    (block,) = found
    assert "not run:" not in text[: block.start()].rstrip().rpartition("\n")[2]
    return block[1]


class Unprivileged:
    """Commands as ``nobody`` (read and search rights only beyond its own)."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            unavailable("switching to an unprivileged user needs root", "HOOKLINE_REQUIRE_DEPLOY")
        if shutil.which("setpriv") is None:
            unavailable("setpriv (util-linux) is not installed", "HOOKLINE_REQUIRE_DEPLOY")
        user = pwd.getpwnam(USER)
        self.uid, self.gid, self.home = user.pw_uid, user.pw_gid, user.pw_dir
        self._made: list[Path] = []

    def command(self, argv: Sequence[str]) -> list[str]:
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all,+dac_read_search",
            "--ambient-caps=+dac_read_search",
            "--",
            *argv,
        ]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a service manager gives its services (no ``HOOKLINE_*`` of ours)."""
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self.home,
            "USER": USER,
            "LOGNAME": USER,
            "LANG": "C.UTF-8",
            **extra,
        }

    def read_only_dir(self) -> Path:
        """A directory the user can enter and read but not write (root's, 0555)."""
        path = self._mkdtemp("hookline-ro-")
        path.chmod(0o555)
        return path

    def owned_dir(self, parent: Path | None = None, name: str = "", mode: int = 0o700) -> Path:
        """A directory the user owns (in ``parent``, named ``name``, if given)."""
        if parent is None:
            path = self._mkdtemp("hookline-rw-")
        else:
            path = parent / name
            path.mkdir(parents=True)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path

    def dir(self) -> Path:
        """A directory of root's for the test's own files, which the user can read (0755)."""
        path = self._mkdtemp("hookline-test-")
        path.chmod(0o755)
        return path

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run to completion as the user; its output (stdout and stderr together)."""
        return subprocess.run(
            self.command(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cleanup(self) -> None:
        for path in self._made:
            path.chmod(0o700)
            shutil.rmtree(path, ignore_errors=True)

    def _mkdtemp(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self._made.append(path)
        return path


class Launched:
    """One long-running process of a deploy file; ready once ``/readyz`` on ``port`` is 200."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        port: int,
        log_dir: Path,
        name: str,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:8]}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Launched:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
        except BaseException:
            subprocesses.stop(self.proc, self._log, timeout=20)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        finally:
            subprocesses.stop(self.proc, self._log, timeout=10)
        if kind is None:
            assert code == 0, f"{self.argv} exited with {code}:\n{self.output()}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self) -> None:
        proc = self.proc
        assert proc is not None

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{self.argv} exited with {proc.returncode}:\n{self.output()}")
            try:
                return client.get("/readyz").status_code == 200
            except httpx.TransportError:
                return False

        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            poll(
                ready, bool, timeout=READY_TIMEOUT, interval=0.05, what=f"{self.argv}: /readyz 200"
            )


def delivers(api_url: str, admin_key: str, receiver: Receiver) -> None:
    """Through the API at ``api_url``: a workspace, a webhook to ``receiver``, an event that
    arrives there and whose delivery succeeds."""
    endpoint = receiver.endpoint()
    with Api(api_url, admin_key) as api:
        ws = api.workspace()
        api.webhook(ws, endpoint.url)
        event = api.send(ws, "deploy.check", {"n": 1})
        (arrived,) = endpoint.wait(1, timeout=20)
        assert json.loads(arrived.body)["data"] == {"n": 1}
        (delivery,) = api.deliveries_of(event["id"])
        poll(
            lambda: api.delivery(delivery["id"])["status"],
            lambda status: status == "succeeded",
            timeout=20,
            what="the delivery succeeded",
        )
