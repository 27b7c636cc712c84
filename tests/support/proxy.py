"""A real proxy server (``pproxy``) as a subprocess on a loopback address, for the egress
proxy tests of every tier.

It listens on one address (``127.0.0.3`` by default: not the receivers' ``127.0.0.1``, so
the guards cannot let it through as a receiver) and port, with its verbose log in a file:
one line per connection it relays, ``<protocol> <client> -> <destination>``, which is how
the tests tell that a request went through it and where it asked to go.

pproxy installs uvloop when it finds it, and its start-up code then fails on current uvloop
(it asks for an event loop before there is one); it is started with uvloop hidden.

Beside it: ``resolving`` gives a ``hookline serve`` names of its own (a proxy's name for a
loopback address, as a sidecar's would be), and ``Canary`` is a listener that records every
connection, for addresses nothing may reach.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from . import subprocesses
from .net import free_port, listening
from .polling import poll

LAUNCH = (
    "import sys; sys.modules['uvloop'] = None; from pproxy.server import main; sys.exit(main())"
)


class Pproxy:
    """One pproxy process serving ``scheme`` (``http``, ``socks5``; ``http+ssl`` with
    ``certificate``, a ``(cert file, key file)`` pair) on ``host``, asking for
    ``credentials`` (``user:password``) when given, and hanging up on requests for a
    destination host matching the regular expression ``block``."""

    def __init__(
        self,
        log_dir: Path,
        scheme: str,
        *,
        host: str = "127.0.0.3",
        credentials: str | None = None,
        certificate: tuple[Path, Path] | None = None,
        block: str | None = None,
    ) -> None:
        self.scheme = scheme
        self.host = host
        self.port = free_port(host)
        self._listen = f"{scheme}://{host}:{self.port}" + (f"#{credentials}" if credentials else "")
        self._certificate = certificate
        self.log_path = log_dir / f"pproxy-{self.port}.log"
        self._rules: list[str] = []
        if block is not None:
            rules = log_dir / f"pproxy-{self.port}.block"
            rules.write_text(block + "\n")
            self._rules = ["-b", str(rules)]
        self._log: IO[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Pproxy:
        self._log = self.log_path.open("ab")
        tls = ["--ssl", ",".join(map(str, self._certificate))] if self._certificate else []
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-c", LAUNCH, "-l", self._listen, "-v", *tls, *self._rules],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        poll(self._listening, bool, what=f"pproxy listening on {self.host}:{self.port}")
        return self

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"pproxy exited with {self.proc.returncode}:\n{self.output()}")
        return listening(self.host, self.port)

    def stop(self) -> None:
        subprocesses.stop(self.proc, self._log, timeout=10)
        self._log = None

    def __enter__(self) -> Pproxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def relayed(self) -> list[str]:
        """The destinations it connected to (``host:port``), in order."""
        return [line.rsplit(" -> ", 1)[1].strip() for line in self._lines() if " -> " in line]

    def refused(self) -> list[str]:
        """Its lines about clients it turned away (no or wrong credentials)."""
        return [line for line in self._lines() if line.startswith("Unauthorized")]

    def wait_relayed(self, count: int, timeout: float = 10.0) -> list[str]:
        return poll(self.relayed, lambda r: len(r) >= count, timeout=timeout, what="relayed")

    def wait_refused(self, timeout: float = 10.0) -> list[str]:
        """Its lines about clients it turned away, once it has written one (it logs late)."""
        return poll(self.refused, bool, timeout=timeout, what="refused")

    def _lines(self) -> list[str]:
        return self.output().splitlines()


# Prepended to a process's import path: maps names to addresses in socket.getaddrinfo,
# which every resolver of that process (aiohttp's, python_socks') goes through once uvloop,
# which resolves in libuv, is hidden (the process runs on asyncio's own loop).
_HOSTS_HOOK = '''"""Test names for this process: {names!r} (written by the tests)."""
import socket
import sys

sys.modules["uvloop"] = None

_NAMES = {names!r}
_getaddrinfo = socket.getaddrinfo


def _mapped(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.rstrip(".").lower() in _NAMES:
        host = _NAMES[name.rstrip(".").lower()]
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _mapped
'''


def resolving(where: Path, names: dict[str, str]) -> dict[str, str]:
    """The environment that makes a Python process (and the processes it starts) resolve
    each of ``names`` to its address: a ``sitecustomize`` module in ``where`` on
    ``PYTHONPATH``, like an /etc/hosts of its own."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "sitecustomize.py").write_text(_HOSTS_HOOK.format(names=names))
    return {"PYTHONPATH": str(where)}


class Canary:
    """A listener on ``host`` that accepts every connection, records where it came from and
    closes it: a place nothing may reach."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.create_server((host, 0))
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._seen: list[str] = []
        self._thread = threading.Thread(target=self._accept, name="canary", daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError:  # closed
                return
            with self._lock:
                self._seen.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    def connections(self) -> list[str]:
        with self._lock:
            return list(self._seen)

    def __enter__(self) -> Canary:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=10)
