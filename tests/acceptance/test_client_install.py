"""``pip install hookline`` without extras is the application's side alone: it imports, and
the server's dependencies are not installed by it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
SERVER_ONLY = ["fastapi", "uvicorn", "asyncpg", "aiohttp", "jinja2", "pydantic_settings"]
CHECK = f"""
import importlib.util, sys
import hookline.client, hookline.outbox, hookline.receive, hookline.verify, hookline.cli
assert hookline.client.Client and hookline.outbox.Relay
installed = [m for m in {SERVER_ONLY!r} if importlib.util.find_spec(m) is not None]
assert not installed, f"server dependencies installed: {{installed}}"
print("client side ok")
"""


def test_the_client_side_installs_and_imports_alone(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    checked = subprocess.run(
        [str(python), "-c", CHECK], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert checked.returncode == 0 and "client side ok" in checked.stdout, checked.stderr

    cli = venv / "bin" / "hookline"
    helped = subprocess.run([str(cli), "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0
    for command in ("send", "webhooks", "deliveries", "recover", "tail", "serve"):
        assert command in helped.stdout
    serve = subprocess.run([str(cli), "serve"], capture_output=True, text=True, timeout=60)
    assert serve.returncode != 0 and "pip install 'hookline[server]'" in serve.stderr
