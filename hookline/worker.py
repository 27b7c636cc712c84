"""A dispatcher process of ``hookline serve`` (``python -m hookline.worker``, started by
``supervisor.py``): the worker role, supervised, with no HTTP port, on the settings of the
environment its parent hands it. It is not started through the command line, so it does
not import the command line's client and terminal libraries (httpx, rich)."""

from __future__ import annotations

from hookline.server import run
from hookline.settings import load_settings

if __name__ == "__main__":
    run(load_settings(port=0), "worker", supervised=True)
