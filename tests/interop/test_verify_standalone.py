"""``hookline.verify`` stands alone: a receiver imports it without the server's dependencies,
and the module itself imports only the standard library and ``cryptography``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hookline.verify

SERVER_PACKAGES = {
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "aiohttp",
    "uvicorn",
    "jsonschema",
    "httpx",
    "click",
    "yarl",
    "aiosmtplib",
}
SERVER_MODULES = ("hookline.store", "hookline.service", "hookline.api", "hookline.dispatch")

# Verify a real ed25519 signature too, so the lazily imported cryptography is exercised.
CODE = """
import json, sys
import hookline.verify as v
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import base64
key = Ed25519PrivateKey.generate()
public = "whpk_" + base64.b64encode(
    key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
body = b'{"a":1}'
signature = "v1a," + base64.b64encode(key.sign(b"evt_1.1700000000." + body)).decode()
headers = {"webhook-id": "evt_1", "webhook-timestamp": "1700000000",
           "webhook-signature": signature}
v.verify("ed25519", headers, body, public_key=public, now=1700000000)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.slow
def test_import_pulls_in_no_server_dependency(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-I", "-c", CODE],
        capture_output=True,
        cwd=tmp_path,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    modules = json.loads(proc.stdout)
    assert "hookline.verify" in modules
    server = [
        m for m in modules if m.split(".")[0] in SERVER_PACKAGES or m.startswith(SERVER_MODULES)
    ]
    assert server == []


def test_the_module_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(Path(hookline.verify.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    outside = imported - set(sys.stdlib_module_names) - {"cryptography"}
    assert outside == set()
    assert "cryptography" in imported
