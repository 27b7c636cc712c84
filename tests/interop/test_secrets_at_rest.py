"""Secrets at rest: after webhooks are created, rotated and delivered to, the SQLite files (the
database, its ``-wal`` and ``-shm``) hold no webhook secret, no ed25519 private key and no API
key in clear, in any spelling a leak could take (prefixed, base64, raw bytes, hex)."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

from hookline.secrets import SecretBox
from hookline.store.sqlite import SqliteStore
from hookline.verify import secret_bytes

from .wire import as_json, keys_of, send_raw, workspace

pytestmark = pytest.mark.slow

SCHEMES = ("standard", "ed25519", "hmac-sha256", "hmac-sha256-body", "rfc9421")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Hookline]:
    hookline = Hookline(tmp_path / "data")
    hookline.start()
    try:
        yield hookline
    finally:
        hookline.stop()


def database_files(data_dir: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in sorted(data_dir.glob("hookline.db*")) if p.is_file()}
    assert "hookline.db" in files, sorted(p.name for p in data_dir.iterdir())
    return files


def spellings(secret: str) -> set[bytes]:
    """The forms in which ``secret`` could sit in a file: as text, and its key bytes raw,
    base64 and hex."""
    forms = {secret.encode()}
    body = secret.removeprefix("whsec_").removeprefix("whsk_")
    forms.add(body.encode())
    if secret.startswith(("whsec_", "whsk_")):
        raw = secret_bytes("whsec_" + body)
        forms |= {raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode()}
    return forms


def assert_absent(files: dict[str, bytes], secrets_: dict[str, str], when: str) -> None:
    for name, content in files.items():
        for marker in (b"whsec_", b"whsk_"):
            assert marker not in content, f"{when}: {name} contains {marker!r}"
        for what, secret in secrets_.items():
            for form in spellings(secret):
                assert form not in content, f"{when}: {name} contains {what} in clear ({form!r})"


def test_database_files_hold_no_secret_in_clear(server: Hookline, receiver: Receiver) -> None:
    known: dict[str, str] = {"admin key": server.admin_key or ""}
    hooks: list[tuple[str, str, Endpoint]] = []  # (workspace, webhook, endpoint)
    with server.api() as api:
        for scheme in SCHEMES:
            ws = workspace(api, signature=scheme, brand="Acme")
            endpoint = receiver.endpoint()
            chosen = {"secret": secrets.token_hex(32)} if scheme.startswith("hmac") else {}
            wh = api.webhook(ws, endpoint.url, **chosen)
            hooks.append((ws, wh["id"], endpoint))
            known[f"{scheme} secret"] = keys_of(api, wh["id"])[0]
            key = api.post(
                f"/v1/workspaces/{ws}/api-keys", {"name": "ci", "role": "admin"}, status=201
            )
            known[f"{scheme} API key"] = key["key"]
            with Api(server.base_url, key["key"]) as scoped:
                scoped.get(f"/v1/workspaces/{ws}/webhooks")
        delivered_before_rotation = deliver_each(api, hooks, 1)

        for i, (_, wh_id, _) in enumerate(hooks):
            body = {"graceSeconds": 3600, **({"secret": secrets.token_hex(24)} if i % 2 else {})}
            rotated = api.post(f"/v1/webhooks/{wh_id}/secret/rotate", body)
            known[f"{wh_id} rotated secret"] = rotated["secret"]
        deliver_each(api, hooks, 2)
        api.post(f"/v1/webhooks/{hooks[0][1]}/test")
        assert delivered_before_rotation

        running = database_files(server.data_dir)
        assert any(name.endswith("-wal") and content for name, content in running.items())
        assert b"user.updated" in b"".join(running.values())  # the files are the live ones
        assert_absent(running, known, "while serving")

    assert server.terminate() == 0, server.output()
    known |= asyncio.run(private_keys(server.data_dir, [wh_id for _, wh_id, _ in hooks]))
    assert sum("private key" in what for what in known) == 2 * len(hooks)
    assert_absent(running, known, "while serving")
    assert_absent(database_files(server.data_dir), known, "after shutdown")


def deliver_each(api: Api, hooks: list[tuple[str, str, Endpoint]], n: int) -> list[str]:
    """Send one event to each workspace and wait for its ``n``-th delivery."""
    for ws, _, _ in hooks:
        send_raw(api, ws, "user.updated", as_json({"n": n}))
    return [endpoint.wait(n)[n - 1].body.decode() for _, _, endpoint in hooks]


async def private_keys(data_dir: Path, wh_ids: list[str]) -> dict[str, str]:
    """The webhooks' ed25519 private keys (current and in grace), unsealed as the server does."""
    box = SecretBox((data_dir / "encryption.key").read_text().strip())
    store = SqliteStore(data_dir / "hookline.db", box=box)
    await store.open()
    try:
        found: dict[str, str] = {}
        for wh_id in wh_ids:
            keys = await store.get_webhook_keys(wh_id)
            assert keys is not None and keys.signing_key is not None
            sealed = [keys.signing_key, *(k.signing_key for k in keys.previous_keys or [])]
            for i, token in enumerate(sealed):
                private = box.open(token)
                assert private.startswith("whsk_")
                found[f"{wh_id} private key {i}"] = private
        return found
    finally:
        await store.close()
