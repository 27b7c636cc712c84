"""The start-up key check on both stores: the deployment's key passes, any other is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from test_store import T0, add_webhook, add_workspace

from hookline.secrets import SecretBox
from hookline.server import WrongEncryptionKey, check_encryption_key
from hookline.store.port import Store, WebhookChanges


def a_box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


async def test_the_first_key_is_the_deployments(store: Store) -> None:
    key, other = a_box(), a_box()
    await check_encryption_key(store, key)  # a fresh database: this key's check is written
    assert await store.key_check() is not None
    await check_encryption_key(store, key)
    with pytest.raises(WrongEncryptionKey):
        await check_encryption_key(store, other)


async def test_a_database_from_before_the_check_is_checked_against_a_webhook_secret(
    store: Store,
) -> None:
    key, other = a_box(), a_box()
    await add_workspace(store)
    wh = await add_webhook(store)
    await store.update_webhook(wh.id, WebhookChanges(secret=key.seal("whsec_x")), T0)

    with pytest.raises(WrongEncryptionKey):
        await check_encryption_key(store, other)
    assert await store.key_check() is None, "a wrong key wrote the check"
    await check_encryption_key(store, key)
    assert await store.key_check() is not None
    with pytest.raises(WrongEncryptionKey):
        await check_encryption_key(store, other)


@pytest.mark.empty_database
async def test_two_keys_starting_at_once_on_a_fresh_database_cannot_both_pass(
    store_factory: Callable[[], Store],
) -> None:
    stores = [store_factory() for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    boxes = [a_box(), a_box(), a_box(), a_box()]
    results = await asyncio.gather(
        *(check_encryption_key(s, b) for s, b in zip(stores, boxes, strict=True)),
        return_exceptions=True,
    )
    passed = [r for r in results if r is None]
    assert len(passed) == 1, results
    assert all(isinstance(r, WrongEncryptionKey) for r in results if r is not None), results
