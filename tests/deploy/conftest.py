"""Fixtures of the deploy tier: the unprivileged user, a PostgreSQL database, the keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from support.deployed import Unprivileged


@pytest.fixture
def user() -> Iterator[Unprivileged]:
    """``nobody``, and the directories made for it (removed afterwards)."""
    unprivileged = Unprivileged()
    try:
        yield unprivileged
    finally:
        unprivileged.cleanup()


@pytest.fixture
def keys() -> dict[str, str]:
    """The deployment's admin and encryption keys, as an operator sets them."""
    return {
        "HOOKLINE_ADMIN_KEY": "hk_admin_deploy_" + "k" * 24,
        "HOOKLINE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
