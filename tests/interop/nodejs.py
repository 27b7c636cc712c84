"""The Node receivers (``node/verify.mjs``): found, installed with ``npm ci`` once, and run
once per batch of requests (JSON on stdin, one verdict per request on stdout).

Without node or npm the tests that need them skip and say why, unless
``HOOKLINE_REQUIRE_NODE`` is set (CI sets it): then they fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from support.requirements import unavailable

NODE_DIR = Path(__file__).parent / "node"


class Node:
    def __init__(self, node: str) -> None:
        self.node = node

    def verify(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [self.node, str(NODE_DIR / "verify.mjs")],
            input=json.dumps({"requests": requests}).encode(),
            capture_output=True,
            cwd=NODE_DIR,
            timeout=60,
        )
        assert proc.returncode == 0, f"node failed:\n{proc.stderr.decode(errors='replace')}"
        verdicts: list[dict[str, Any]] = json.loads(proc.stdout)
        assert len(verdicts) == len(requests)
        return verdicts


def installed_node() -> Node:
    """Node with ``node_modules`` in place (``npm ci`` if it is missing), or skip/fail."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        message = f"{missing} not found: the Node receivers (Disqua, Disco, svix) cannot run"
        unavailable(message, "HOOKLINE_REQUIRE_NODE")
    modules = NODE_DIR / "node_modules"
    if not all((modules / name).is_dir() for name in ("http-message-signatures", "svix")):
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"npm ci failed:\n{proc.stderr.decode(errors='replace')}"
    return Node(node)
