"""A webhook's transformation as a typed value, what ``handler`` gets, and what it returned read
into a request to send or a cancellation, with the URL and header rules applied."""

from __future__ import annotations

import json

import pytest

from hookline.domain.limits import MAX_TRANSFORMATION_CODE
from hookline.domain.transformations import (
    Cancelled,
    InvalidResult,
    Transformation,
    Transformed,
    parse,
    parse_result,
    webhook_input,
)
from hookline.errors import Invalid

CODE = "function handler(w) { return w; }"


def test_parse_takes_code_and_enabled_and_none_clears() -> None:
    assert parse({"code": CODE}) == Transformation(code=CODE, enabled=True)
    assert parse({"code": CODE, "enabled": False}) == Transformation(code=CODE, enabled=False)
    assert parse(None) is None


@pytest.mark.parametrize(
    "value",
    [
        {"code": ""},
        {"code": "  "},
        {"code": 3},
        {"code": "x" * (MAX_TRANSFORMATION_CODE + 1)},
        {"code": CODE, "enabled": 1},
        {"code": CODE, "extra": True},
        [CODE],
    ],
)
def test_parse_refuses_a_malformed_transformation(value: object) -> None:
    with pytest.raises(Invalid) as refused:
        parse(value)
    assert refused.value.error_code == "invalid_transformation"


def test_the_input_holds_the_body_as_json() -> None:
    given = webhook_input(
        event_type="a.b", body=b'{"id":"evt_1","data":{"x":1}}', url="https://e.x/", headers={}
    )
    assert json.loads(given) == {
        "eventType": "a.b",
        "payload": {"id": "evt_1", "data": {"x": 1}},
        "url": "https://e.x/",
        "headers": {},
    }


def read(result: object) -> Transformed | Cancelled:
    def no_ftp(url: str) -> str:
        if url.startswith("ftp:"):
            raise Invalid("https only", code="https_required")
        return url

    def no_host(headers: dict[str, str]) -> None:
        if "Host" in headers:
            raise Invalid("reserved", code="reserved_header")

    return parse_result(json.dumps(result), check_url=no_ftp, check_headers=no_host)


def test_the_payload_is_written_as_javascript_writes_it() -> None:
    out = read({"payload": {"n": 1.0, "s": "é"}, "url": "https://e.x/", "headers": {"A": "b"}})
    assert out == Transformed(body='{"n":1,"s":"é"}', url="https://e.x/", headers={"A": "b"})


def test_cancel_true_cancels() -> None:
    assert read({"cancel": True}) == Cancelled()
    assert isinstance(read({"cancel": False, "payload": 1, "url": "https://e.x/"}), Transformed)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (42, "must return the webhook object"),
        ({"url": "https://e.x/"}, "no payload"),
        ({"payload": {}, "url": 3}, "url must be a string"),
        ({"payload": {}, "url": "https://e.x/", "headers": []}, "headers must be an object"),
        ({"payload": {}, "url": "ftp://e.x/"}, "https_required"),
        ({"payload": {}, "url": "https://e.x/", "headers": {"Host": "x"}}, "reserved_header"),
    ],
)
def test_what_cannot_be_sent_is_refused_with_a_message(result: object, message: str) -> None:
    with pytest.raises(InvalidResult, match=message):
        read(result)
