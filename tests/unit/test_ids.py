"""Ids: prefixed ULIDs that sort in the order this process made them."""

from __future__ import annotations

import random
import time

from ulid import ULID

from hookline.ids import new_id, ulid_text


def test_ids_are_ulids_of_now_that_sort_in_the_order_they_were_made() -> None:
    before = time.time()
    ids = [new_id("att") for _ in range(20_000)]  # many within one millisecond
    after = time.time()
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for made in (ids[0], ids[-1]):
        prefix, _, value = made.partition("_")
        assert prefix == "att"
        assert len(value) == 26
        assert before - 0.001 <= ULID.from_str(value).timestamp <= after + 0.001


def test_the_text_of_a_ulid_is_python_ulids() -> None:
    rng = random.Random(26)
    values = [0, 1, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(1000))]
    for value in values:
        assert ulid_text(value) == str(ULID.from_int(value))
