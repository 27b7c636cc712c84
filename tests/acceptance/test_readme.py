"""The README's walk-through pastes as written: its shell block runs against a fresh server.

The block is taken from README.md as it is, with only its two ports changed to free ones;
it runs in a directory laid out like the project root (``.venv`` and ``.hookline``), and
each of its steps leaves its mark in the output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.net import free_port
from support.server import Hookline

pytestmark = pytest.mark.slow

README = Path(__file__).parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    section = text[text.index("## Five minutes with curl") :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "the walk-through has no sh block"
    return match.group(1)


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / ".venv").symlink_to(Path(sys.executable).parents[1])
    server = Hookline(root / ".hookline", admin_key=None).start()
    try:
        listen_port = free_port()
        script = walkthrough().replace("8000", str(server.port)).replace("9000", str(listen_port))
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=90,
        )
        output = done.stdout
        assert done.returncode == 0, f"{output}\n{done.stderr}\n{server.output()}"
    finally:
        assert server.terminate() == 0, server.output()

    lines = [line for line in output.splitlines() if line.startswith('{"ok":')]
    responses = [json.loads(line) for line in lines]
    workspace, event, send_logs, detail, resent, sent = responses
    assert workspace["data"]["id"] == "acme"
    assert event["data"]["deliveries"] == 1
    assert send_logs["data"][0]["status"] == "succeeded"
    # The last attempt succeeded (on a loaded machine the listener may miss the first).
    attempt = detail["data"]["attempts"][-1]
    assert attempt["response"]["status"] == 200
    assert attempt["request"]["url"] == f"http://127.0.0.1:{listen_port}/hook"
    assert resent["data"]["tags"] == ["resent"]
    assert sent["data"]["deliveries"] == 1
    assert "standard signature OK" in output
    assert "REJECTED" not in output
