"""docs/event-types.md's walkthrough, run as written against a real server on each store."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from support.server import ADMIN_KEY, Hookline

pytestmark = pytest.mark.store_independent

DOC = Path(__file__).parents[2] / "docs" / "event-types.md"


def test_the_versions_walkthrough_runs_as_written(hookline: Hookline) -> None:
    (script,) = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    env = {**os.environ, "HOOKLINE_URL": hookline.base_url, "HOOKLINE_API_KEY": ADMIN_KEY}
    run = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    workspace, event_type, latest, first, violation, unknown = map(
        json.loads, run.stdout.splitlines()
    )
    assert workspace["ok"] and event_type["data"]["latestVersion"] == "2"
    assert latest["data"]["type"] == first["data"]["type"] == "order.paid"
    assert violation["error"]["code"] == "schema_violation"
    assert "version 2" in violation["error"]["message"]
    assert unknown["error"]["code"] == "unknown_schema_version"
