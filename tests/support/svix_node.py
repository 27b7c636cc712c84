"""Svix's JavaScript SDK (npm ``svix``, pinned in tests/interop/svix-node): installed with
``npm ci`` once, and a program run with it. Without node or npm the test skips, saying why,
unless ``HOOKLINE_REQUIRE_NODE=1``: then it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .requirements import unavailable

NODE_DIR = Path(__file__).parents[1] / "interop" / "svix-node"


def run_node(env: dict[str, str], *, script: str | None = None, code: str | None = None) -> str:
    """Run ``script`` (a file of the SDK's directory) or the module ``code`` with ``env``
    added to the environment; its standard output."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable(
            "node or npm not found: Svix's JavaScript SDK cannot run", "HOOKLINE_REQUIRE_NODE"
        )
    if not (NODE_DIR / "node_modules" / "svix").is_dir():
        install = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, timeout=600
        )
        assert install.returncode == 0, install.stderr.decode(errors="replace")
    args = [script] if script is not None else ["--input-type=module", "-e", code or ""]
    run = subprocess.run(
        [node, *args],
        cwd=NODE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout
