"""What a test needs from the machine (PostgreSQL, Node, Chromium, a message broker): a test
that finds it missing is skipped, saying why, unless the ``HOOKLINE_REQUIRE_*`` variable
naming it is ``1`` (CI sets them all): then it fails."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str, variable: str) -> NoReturn:
    """Skip the test for ``reason``; fail it instead when ``variable`` is ``1``."""
    if os.environ.get(variable) == "1":
        pytest.fail(f"{reason} ({variable}=1)")
    pytest.skip(f"{reason} (set {variable}=1 to make this a failure)")
