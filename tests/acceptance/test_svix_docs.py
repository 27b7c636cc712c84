"""docs/svix.md's programs, run as written against a real server with Svix's own SDKs: the
Python one (PyPI ``svix``) and the JavaScript one (npm ``svix``, installed from
tests/interop/svix-node with ``npm ci``). Each delivery is checked at a real receiver with
the Python SDK's ``Webhook(secret).verify``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.receiver import Endpoint, Receiver
from support.server import ADMIN_KEY, Hookline
from support.svix_node import run_node
from svix.api import Svix, SvixOptions
from svix.webhooks import Webhook as SvixWebhook

pytestmark = pytest.mark.store_independent

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "svix.md"


def _block(language: str) -> str:
    (code,) = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    return code


def _env(hookline: Hookline, endpoint_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": ADMIN_KEY,
        "ENDPOINT_URL": endpoint_url,
    }


def _check_delivery(hookline: Hookline, app_id: str, output: str, hook: Endpoint) -> None:
    svix = Svix(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    endpoint_id, message_id = output.split()
    assert message_id == "in_1"
    (arrived,) = hook.wait(1)
    secret = svix.endpoint.get_secret(app_id, endpoint_id).key
    SvixWebhook(secret).verify(arrived.body, dict(arrived.headers))
    assert json.loads(arrived.body) == {"invoiceId": "in_1"}


def test_the_python_program_runs_as_written(hookline: Hookline, receiver: Receiver) -> None:
    hook = receiver.endpoint()
    run = subprocess.run(
        [sys.executable, "-c", _block("python")],
        env=_env(hookline, hook.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    _check_delivery(hookline, "acme", run.stdout, hook)


def test_the_javascript_program_runs_as_written(hookline: Hookline, receiver: Receiver) -> None:
    hook = receiver.endpoint()
    output = run_node(_env(hookline, hook.url), code=_block("javascript"))
    _check_delivery(hookline, "acme-js", output, hook)
