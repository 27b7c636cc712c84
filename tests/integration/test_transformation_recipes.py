"""The recipes of docs/transformations.md, run as written (each ``js`` block under its heading)
in the real sandbox, on the envelope a webhook would get."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hookline.domain.transformations import Cancelled, Transformed, parse_result, webhook_input
from hookline.sandbox.pool import SandboxLimits, SandboxPool

DOC = Path(__file__).parents[2] / "docs" / "transformations.md"
BLOCK = re.compile(r"^### (?P<title>.+?)\n.*?^```js\n(?P<code>.*?)^```", re.M | re.S)
RECIPES = {m["title"]: m["code"] for m in BLOCK.finditer(DOC.read_text())}
URL = "https://hooks.slack.example/services/T0/B0/x"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxPool]:
    made = SandboxPool(SandboxLimits(time_ms=100, memory_bytes=64 * 1024 * 1024, processes=1))
    yield made
    await made.close()


async def run(sandbox: SandboxPool, title: str, data: dict[str, object]) -> object:
    body = json.dumps(
        {"id": "evt_1", "type": "order.paid", "timestamp": "2026-01-01T00:00:00Z", "data": data}
    )
    given = webhook_input(event_type="order.paid", body=body, url=URL, headers={})
    ran = await sandbox.run(RECIPES[title], given)
    return parse_result(ran.output, check_url=lambda url: url, check_headers=lambda headers: None)


def test_the_doc_has_the_three_recipes() -> None:
    assert set(RECIPES) == {"Slack message", "Field rename", "Cancel by value"}


async def test_slack_message(sandbox: SandboxPool) -> None:
    out = await run(sandbox, "Slack message", {"order": "o_7", "amount": 1250})
    assert isinstance(out, Transformed)
    assert json.loads(out.body) == {"text": "order.paid: order o_7 paid, 12.5 EUR"}
    assert out.url == URL


async def test_field_rename(sandbox: SandboxPool) -> None:
    out = await run(sandbox, "Field rename", {"customer_id": "c_1", "amount": 5})
    assert isinstance(out, Transformed)
    assert json.loads(out.body)["data"] == {"amount": 5, "customerId": "c_1"}


async def test_cancel_by_value(sandbox: SandboxPool) -> None:
    assert isinstance(await run(sandbox, "Cancel by value", {"amount": 9999}), Cancelled)
    kept = await run(sandbox, "Cancel by value", {"amount": 10000})
    assert isinstance(kept, Transformed)
    assert json.loads(kept.body)["data"] == {"amount": 10000}
