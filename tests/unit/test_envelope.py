from __future__ import annotations

import json
from typing import Any

import pytest

from hookline.domain import envelope, jsjson

CREATED = 1_773_828_300_007  # 2026-03-18T10:05:00.007Z
DATA = {"user": {"id": 7, "name": "Zoë"}, "2": "index key", "score": 0.1}


def render(kind: str, **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "event_id": "evt_1",
        "event_type": "course/completion/create",
        "workspace_id": "acme",
        "created_at_ms": CREATED,
        "data_json": jsjson.dumps(DATA),
        **overrides,
    }
    return envelope.render(kind, **args)


DATA_JSON = '{"2":"index key","user":{"id":7,"name":"Zoë"},"score":0.1}'


def test_standard() -> None:
    assert (
        render("standard")
        == (
            '{"id":"evt_1","type":"course/completion/create",'
            '"timestamp":"2026-03-18T10:05:00.007Z","data":' + DATA_JSON + "}"
        ).encode()
    )


def test_typed() -> None:
    assert (
        render("typed")
        == (
            '{"id":"evt_1","type":"course/completion/create","workspaceId":"acme",'
            '"createdAt":"2026-03-18T10:05:00.007Z","data":' + DATA_JSON + "}"
        ).encode()
    )


def test_dated() -> None:
    assert (
        render("dated")
        == (
            '{"date":"2026-03-18T10:05:00.007Z","event":"course/completion/create","data":'
            + DATA_JSON
            + "}"
        ).encode()
    )


WRAPPED = [k for k in envelope.ENVELOPES if k != "raw"]


def test_raw_is_the_data_as_encoded_test_or_not() -> None:
    assert render("raw") == DATA_JSON.encode()
    assert render("raw", test=True) == DATA_JSON.encode()
    assert render("raw", data_json="{}") == b"{}"


@pytest.mark.parametrize("kind", WRAPPED)
def test_test_flag_is_last_and_only_on_test_events(kind: str) -> None:
    plain = json.loads(render(kind))
    flagged = json.loads(render(kind, test=True))
    assert "test" not in plain
    assert flagged == {**plain, "test": True}
    assert list(flagged)[-1] == "test"
    assert render(kind, test=True).endswith(b',"test":true}')


@pytest.mark.parametrize("kind", WRAPPED)
def test_body_is_what_json_stringify_would_write(kind: str) -> None:
    body = render(kind, event_id='evt_"quoted"\\', workspace_id="wörk", test=True)
    parsed = jsjson.loads(body)
    assert parsed["data"] == DATA
    assert jsjson.dumps(parsed).encode() == body


def test_unknown_kind_falls_back_to_standard() -> None:
    assert render("nonsense") == render("standard")


def test_strings_are_escaped() -> None:
    body = render("standard", event_type='a"b', event_id="\n")
    assert json.loads(body)["type"] == 'a"b'
    assert json.loads(body)["id"] == "\n"
