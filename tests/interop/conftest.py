"""Fixtures of the interoperability tier: one real ``hookline serve --dev`` for the session and
the Node receivers (``node/verify.mjs``), installed with ``npm ci``. Deliveries arrive at the
session's recording receiver (``tests/conftest.py``), which keeps the URL and headers as sent.

The Node tests skip, saying why, only when node or npm is missing and ``HOOKLINE_REQUIRE_NODE``
is unset; CI sets it, so there a missing Node fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.server import Api, Hookline

from .nodejs import Node, installed_node


@pytest.fixture(scope="session")
def hookline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hookline]:
    with Hookline(tmp_path_factory.mktemp("interop")).running() as server:
        yield server


@pytest.fixture(scope="session")
def api(hookline: Hookline) -> Iterator[Api]:
    with hookline.api() as client:
        yield client


@pytest.fixture(scope="session")
def node() -> Node:
    return installed_node()
