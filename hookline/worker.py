"""A fresh fork server of ``hookline serve``'s dispatchers (``python -m hookline.worker FD``),
started by the supervisor when the one forked at start-up was lost: it imports what a
dispatcher runs, freezes it, and forks each dispatcher (``server.run_dispatcher``) as the
socket ``FD`` tells it (``forkserver.py``)."""

from __future__ import annotations

import socket
import sys

from hookline.forkserver import preload, serve_forks
from hookline.server import run_dispatcher

if __name__ == "__main__":
    preload()
    serve_forks(socket.socket(fileno=int(sys.argv[1])), run_dispatcher)
