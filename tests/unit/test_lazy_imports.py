"""A deployment pays in memory only for the libraries it uses: the optional destinations'
clients (AWS, RabbitMQ, NATS, Redis) and OpenTelemetry are imported when a webhook or the
tracing setting needs them, and a dispatcher process does not carry the command line's
client and terminal libraries. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Top-level packages of the optional destinations' clients.
DESTINATIONS = (
    "boto3",
    "botocore",
    "aiobotocore",
    "aioboto3",
    "aio_pika",
    "aiormq",
    "nats",
    "redis",
)
TRACING = ("opentelemetry",)
CLIENT = ("httpx", "rich")


def loaded(*modules: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "modules",
    [
        ("hookline.worker",),
        ("hookline.server", "hookline.dispatch.dispatcher", "hookline.supervisor"),
    ],
)
def test_a_dispatcher_process_imports_no_optional_library(modules: tuple[str, ...]) -> None:
    held = loaded(*modules)
    assert held.isdisjoint(DESTINATIONS + TRACING), held & set(DESTINATIONS + TRACING)


def test_the_dispatcher_process_does_not_import_the_command_line() -> None:
    held = loaded("hookline.worker")
    assert held.isdisjoint(CLIENT), held & set(CLIENT)


def test_the_serve_command_does_not_import_the_client() -> None:
    # What hookline serve holds before it forks its dispatchers, they hold too.
    held = loaded("hookline.cli", "hookline.cli.server", "hookline.server")
    assert held.isdisjoint(CLIENT), held & set(CLIENT)


def test_the_api_imports_no_destination_client() -> None:
    held = loaded("hookline.api.app", "hookline.server")
    assert held.isdisjoint(DESTINATIONS), held & set(DESTINATIONS)


def test_tracing_off_hands_out_spans_that_record_nothing() -> None:
    code = (
        "import sys\n"
        "from hookline import tracing\n"
        "span = tracing.start('x')\n"
        "assert not span.is_recording()\n"
        "span.set_attribute('a', 1); span.end()\n"
        "with tracing.span('y') as s:\n"
        "    assert tracing.context_of(s) is None\n"
        "tracing.failed(span, ValueError())\n"
        "assert 'opentelemetry' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
