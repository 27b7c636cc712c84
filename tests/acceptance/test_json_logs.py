"""``hookline serve --log-format json``: every line any of its processes prints (the banner,
the generated admin key, the supervisor's, the API's and the dispatchers' log lines, the
reason a start fails) is one JSON object."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.net import free_port
from support.polling import poll
from support.receiver import Receiver
from support.server import Api

pytestmark = pytest.mark.slow


def objects(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object; fails on the first line that is not one."""
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\nin:\n{text}")
        assert isinstance(entry, dict), line
        assert {"time", "level", "logger", "message"} <= entry.keys(), line
        found.append(entry)
    return found


def environment(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    return {**env, "HOOKLINE_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1", **extra}


def test_every_line_of_every_process_is_a_json_object(tmp_path: Path, receiver: Receiver) -> None:
    port = free_port()
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hookline",
                "serve",
                "--dev",
                "--log-format",
                "json",
                "--port",
                str(port),
            ],
            env=environment(tmp_path / "data", HOOKLINE_WORKERS="2"),
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            poll(lambda: _healthy(base), bool, timeout=60, what="hookline serve answering")
            key = (tmp_path / "data" / "admin.key").read_text().strip()
            with Api(base, key) as api:
                ws = api.workspace()
                api.webhook(ws, receiver.endpoint().url)
                event = api.send(ws, "order.paid", {"n": 1})
                api.settled(api.deliveries_of(event["id"])[0]["id"], timeout=30)
                api.post(f"/v1/workspaces/{ws}/webhooks", {"url": "x", "events": ["*"]}, status=422)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    assert code == 0, out.read_text() + err.read_text()

    printed, logged = objects(out.read_text()), objects(err.read_text())
    messages = [entry["message"] for entry in printed]
    assert messages[0].startswith("Admin key (generated, shown once; stored in ")
    assert printed[0]["adminKey"] == key
    assert any(m.startswith("Hookline all role on ") for m in messages)
    assert any(m.startswith("Dispatchers: 2 processes") for m in messages)
    assert any(m.startswith("DEV MODE: ") for m in messages)
    assert any(m == f"UI:       {base}/ui" for m in messages)
    loggers = {entry["logger"] for entry in logged}
    assert "hookline.supervisor" in loggers  # the parent's own lines
    started = [
        e for e in logged if e["message"].startswith("dispatcher ") and "started" in e["message"]
    ]
    assert len(started) == 2
    # The dispatcher processes' lines: an attempt is made in one of them, never in the API's.
    assert any(e["logger"] == "hookline.attempts" for e in logged), loggers
    assert any("stopped" == e["message"] for e in logged)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_start_that_fails_says_why_in_json(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        in_use = subprocess.run(
            [sys.executable, "-m", "hookline", "serve", "--log-format", "json", "--port", port],
            env=environment(tmp_path / "data"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert in_use.returncode == 1
    lines = objects(in_use.stdout) + objects(in_use.stderr)
    (reason,) = [e for e in lines if "cannot listen on" in e["message"]]
    assert reason["level"] == "error" and "--port or HOOKLINE_PORT" in reason["message"]

    invalid = subprocess.run(
        [sys.executable, "-m", "hookline", "serve", "--port", "0"],
        env=environment(
            tmp_path / "data", HOOKLINE_LOG_FORMAT="json", HOOKLINE_WORKSPACE_SHARE="2"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert invalid.returncode == 1 and invalid.stdout == ""
    (said,) = objects(invalid.stderr)
    assert said["level"] == "error" and "HOOKLINE_WORKSPACE_SHARE" in said["message"]


def test_an_uncaught_exception_is_a_json_line_with_its_traceback(tmp_path: Path) -> None:
    crashed = subprocess.run(
        [sys.executable, "-m", "hookline", "serve", "--log-format", "json", "--port", "0"],
        env=environment(tmp_path / "data", HOOKLINE_LOG_LEVEL="chatty"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == 1
    (said,) = objects(crashed.stderr)
    assert said["level"] == "critical" and "CHATTY" in said["message"]
    assert "Traceback (most recent call last)" in said["exception"]


def test_a_data_directory_that_cannot_be_used_is_a_json_line(tmp_path: Path) -> None:
    (tmp_path / "file").touch()
    refused = subprocess.run(
        [sys.executable, "-m", "hookline", "serve", "--log-format", "json", "--port", "0"],
        env=environment(tmp_path / "file" / "data"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and refused.stdout == ""
    (said,) = objects(refused.stderr)
    assert said["level"] == "error" and "HOOKLINE_DATA_DIR" in said["message"]
