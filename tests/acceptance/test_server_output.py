"""The server says what it does: in dev mode a line per delivery attempt and per refused
request; a port in use names the setting that changes it; a generated admin key is shown
even when the start fails."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


def test_dev_mode_logs_each_attempt_and_each_refused_request(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = Hookline(tmp_path / "data").start()
    try:
        with server.api() as api:
            ws = api.workspace()
            ok = api.webhook(ws, receiver.endpoint().url, events=["*"])
            failing = receiver.endpoint()
            failing.script([500])
            bad = api.webhook(ws, failing.url, events=["*"], retryPolicy={"schedule": [0, 60]})
            api.send(ws, "course.completed", {"n": 1})
            api.post(
                f"/v1/workspaces/{ws}/webhooks",
                {"url": "https://example.com/h", "events": ["no spaces"]},
                status=422,
            )

            def attempt_lines() -> list[str]:
                return [line for line in server.output().splitlines() if " attempt 1: " in line]

            lines = poll(attempt_lines, lambda found: len(found) >= 2, what="two attempt lines")
        (good,) = [line for line in lines if ok["id"] in line]
        assert "course.completed" in good and "HTTP 200" in good and good.endswith("succeeded")
        (retry,) = [line for line in lines if bad["id"] in line]
        assert "HTTP 500" in retry and " ms, retry at 20" in retry
        refused = [line for line in server.output().splitlines() if "invalid_events" in line]
        assert refused and f"POST /v1/workspaces/{ws}/webhooks → 422 invalid_events" in refused[0]
    finally:
        assert server.terminate() == 0, server.output()


def test_production_logs_attempts_as_json_fields_at_debug_level(
    tmp_path: Path, receiver: Receiver
) -> None:
    env = {"HOOKLINE_LOG_FORMAT": "json", "HOOKLINE_ALLOW_HTTP": "true"}
    env |= {"HOOKLINE_ALLOWED_NETWORKS": "127.0.0.1/32", "HOOKLINE_LOG_LEVEL": "DEBUG"}
    server = Hookline(tmp_path / "data", dev=False, env=env)
    server.start()
    try:
        with server.api() as api:
            ws = api.workspace()
            wh = api.webhook(ws, receiver.endpoint().url, events=["*"])
            api.send(ws, "course.completed", {"n": 1})

            def attempts() -> list[dict[str, object]]:
                found = []
                for line in server.output().splitlines():
                    if line.startswith("{") and '"hookline.attempts"' in line:
                        found.append(json.loads(line))
                return found

            (entry,) = poll(attempts, bool, what="an attempt log entry")
        assert entry["webhook"] == wh["id"]
        assert (entry["status"], entry["outcome"], entry["eventType"]) == (
            200,
            "succeeded",
            "course.completed",
        )
    finally:
        assert server.terminate() == 0, server.output()


def test_a_port_in_use_names_the_setting_and_the_generated_key_is_still_shown(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        env["HOOKLINE_DATA_DIR"] = str(tmp_path / "data")
        done = subprocess.run(
            [sys.executable, "-m", "hookline", "serve", "--dev", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert f"cannot listen on 127.0.0.1:{port}" in out
    assert "--port or HOOKLINE_PORT" in out
    key = (tmp_path / "data" / "admin.key").read_text().strip()
    assert f"Admin key (generated, shown once; stored in {tmp_path / 'data'}/admin.key):" in out
    assert key in out
    assert "Traceback" not in out


def test_the_generated_key_signs_in_after_the_failed_start(tmp_path: Path) -> None:
    """The key shown by a start that failed is the one the next start uses."""
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        env["HOOKLINE_DATA_DIR"] = str(data)
        port = str(taken.getsockname()[1])
        failed = subprocess.run(
            [sys.executable, "-m", "hookline", "serve", "--dev", "--port", port],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    shown = failed.stdout.split("admin.key):\n", 1)[1].split()[0]
    server = Hookline(data, admin_key=None).start()
    try:
        with Api(server.base_url, shown) as api:
            assert api.get("/v1/workspaces") == []
    finally:
        assert server.terminate() == 0, server.output()
