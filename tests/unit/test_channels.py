from __future__ import annotations

from typing import Any

import pytest

from hookline.domain.channels import parse, reaches
from hookline.errors import Invalid


@pytest.mark.parametrize(
    ("webhook", "event", "delivered"),
    [
        ((), (), True),
        ((), ("a",), True),
        (("a",), (), False),
        (("a",), ("a",), True),
        (("a", "b"), ("b", "c"), True),
        (("a",), ("b",), False),
    ],
)
def test_an_event_reaches_a_webhook_without_channels_or_sharing_one(
    webhook: tuple[str, ...], event: tuple[str, ...], delivered: bool
) -> None:
    assert reaches(webhook, event) is delivered


def test_parse_keeps_the_order_once_each() -> None:
    assert parse(["b", "a:x", "b", "A-1_.:"]) == ("b", "a:x", "A-1_.:")
    assert parse(None) == parse([]) == ()
    assert parse(["x" * 128, *[str(n) for n in range(9)]])[0] == "x" * 128


@pytest.mark.parametrize(
    "value",
    ["a", {"a": 1}, [1], [""], ["a b"], ["é"], ["x" * 129], [str(n) for n in range(11)]],
)
def test_parse_refuses_what_breaks_the_rules(value: Any) -> None:
    with pytest.raises(Invalid) as raised:
        parse(value)
    assert raised.value.error_code == "invalid_channels"
    assert raised.value.status == 422
