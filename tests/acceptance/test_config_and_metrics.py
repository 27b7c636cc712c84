"""What an operator asks a running server: ``hookline config --url`` (its effective, masked
configuration, through the admin-only ``GET /v1/config``) and ``/metrics`` behind
``HOOKLINE_METRICS_TOKEN``; and the exit codes the command line documents."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.net import free_port
from support.server import ADMIN_KEY, Api, Hookline

pytestmark = pytest.mark.slow

HOOKLINE = str(Path(sys.executable).with_name("hookline"))
METRICS_TOKEN = "metrics-token-0123456789abcdef"
SMTP_PASSWORD = "smtp-pass-word"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hookline]:
    env = {
        "HOOKLINE_WORKERS": "1",
        "HOOKLINE_METRICS_TOKEN": METRICS_TOKEN,
        "HOOKLINE_SMTP_URL": f"smtp://hooks:{SMTP_PASSWORD}@mail.example:25",
    }
    with Hookline(tmp_path_factory.mktemp("config"), env=env).running() as running:
        yield running


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    return subprocess.run(
        [HOOKLINE, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_config_url_shows_the_running_servers_configuration_masked(server: Hookline) -> None:
    asked = cli("config", "--url", server.base_url, HOOKLINE_ADMIN_KEY=ADMIN_KEY)
    assert asked.returncode == 0, asked.stderr
    shown: dict[str, Any] = json.loads(asked.stdout)
    effective = shown["effective"]
    assert effective["source"] == "this server"
    assert effective["mode"].startswith("dev")  # the server runs --dev; this shell does not say so
    assert (effective["role"], effective["dispatcher_processes"]) == ("all", 1)
    assert shown["workers"] == 1
    assert effective["database"] == str(server.data_dir / "hookline.db")
    for secret in (ADMIN_KEY, METRICS_TOKEN, SMTP_PASSWORD):
        assert secret not in asked.stdout
    assert shown["admin_key"] == shown["encryption_key"] == shown["metrics_token"] == "***"
    assert shown["smtp_url"] == "smtp://***@mail.example:25"

    local = cli("config", HOOKLINE_DATA_DIR=str(server.data_dir / "elsewhere"))
    assert local.returncode == 0, local.stderr
    assert "this shell's environment" in local.stderr and "--url" in local.stderr
    assert json.loads(local.stdout)["effective"]["source"] == "this shell's environment"


def test_the_configuration_route_is_for_the_admin_key_only(server: Hookline) -> None:
    with server.api() as api:
        ws = api.workspace()
        owner = api.post(
            f"/v1/workspaces/{ws}/api-keys", {"name": "o", "role": "owner"}, status=201
        )
    assert httpx.get(f"{server.base_url}/v1/config", timeout=5).status_code == 401
    with Api(server.base_url, owner["key"]) as as_owner:
        refused = as_owner.get("/v1/config", status=403)
    assert refused["code"] == "forbidden"
    denied = cli("config", "--url", server.base_url, HOOKLINE_API_KEY=owner["key"])
    assert denied.returncode == 1 and denied.stderr.startswith("forbidden: ")
    unknown = cli("config", "--url", server.base_url, HOOKLINE_API_KEY="hk_nobody")
    assert unknown.returncode == 1 and unknown.stderr.startswith("unauthorized: ")
    nokey = cli("config", "--url", server.base_url)
    assert nokey.returncode == 2 and "HOOKLINE_API_KEY" in nokey.stderr
    down = cli("config", "--url", f"http://127.0.0.1:{free_port()}", HOOKLINE_ADMIN_KEY=ADMIN_KEY)
    assert down.returncode == 3 and "cannot reach Hookline at" in down.stderr


def test_metrics_answer_only_the_bearer_of_the_metrics_token(server: Hookline) -> None:
    url = f"{server.base_url}/metrics"
    for headers in ({}, {"Authorization": f"Bearer {ADMIN_KEY}"}, {"Authorization": "Bearer x"}):
        refused = httpx.get(url, headers=headers, timeout=5)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "unauthorized"
        assert "hookline_" not in refused.text
    scraped = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
    assert scraped.status_code == 200
    names = {family.name for family in text_string_to_metric_families(scraped.text)}
    assert "hookline_queue_depth" in names
    assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("token", "problem"),
    [("short", "at least 16 characters"), ("has a space in it here", "without spaces")],
)
def test_a_bad_metrics_token_stops_the_start(tmp_path: Path, token: str, problem: str) -> None:
    started = cli(
        "serve", "--port", "0", HOOKLINE_DATA_DIR=str(tmp_path), HOOKLINE_METRICS_TOKEN=token
    )
    assert started.returncode == 1
    assert "HOOKLINE_METRICS_TOKEN" in started.stderr and problem in started.stderr
    assert token not in started.stderr


def test_metrics_on_a_listener_of_their_own(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = {"HOOKLINE_WORKERS": "1", "HOOKLINE_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    with Hookline(tmp_path, env=env).running() as server:
        with server.api() as api:
            ws = api.workspace()
            api.send(ws, "order.paid", {"n": 1})
        assert httpx.get(f"{server.base_url}/metrics", timeout=5).status_code == 404
        own = f"http://127.0.0.1:{metrics_port}"
        scraped = httpx.get(f"{own}/metrics", timeout=5)
        assert scraped.status_code == 200
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(scraped.text)
            for sample in family.samples
        }
        assert samples["hookline_events_ingested_total"] >= 1
        assert httpx.get(f"{own}/v1/workspaces", timeout=5).status_code == 404
        assert f"Metrics:  {own}/metrics" in server.output()


@pytest.mark.parametrize("address", ["9464", "localhost:0", "::1:9464", "host:port"])
def test_a_malformed_metrics_address_stops_the_start(tmp_path: Path, address: str) -> None:
    started = cli(
        "serve", "--port", "0", HOOKLINE_DATA_DIR=str(tmp_path), HOOKLINE_METRICS_ADDRESS=address
    )
    assert started.returncode == 1
    assert "HOOKLINE_METRICS_ADDRESS" in started.stderr and "Traceback" not in started.stderr


def test_a_metrics_port_in_use_stops_the_start_saying_which_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        started = cli(
            "serve",
            "--port",
            str(free_port()),
            HOOKLINE_DATA_DIR=str(tmp_path),
            HOOKLINE_METRICS_ADDRESS=address,
        )
    assert started.returncode == 1
    assert f"cannot listen on {address} for /metrics" in started.stderr
    assert "HOOKLINE_METRICS_ADDRESS" in started.stderr and "Traceback" not in started.stderr
