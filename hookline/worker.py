"""A dispatcher process of ``hookline serve``, forked by the fork server (``forkserver.py``)
in the environment its parent hands it: the worker role, supervised, with no HTTP port."""

from __future__ import annotations

from hookline.server import run
from hookline.settings import load_settings


def main() -> None:
    run(load_settings(port=0), "worker", supervised=True)
