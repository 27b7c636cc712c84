"""A webhook request parsed into a typed command: what is left out stays UNSET, null clears,
and each wrong field is refused with its own code."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.domain.endpoint_auth import Basic, SecretLeftOut
from hookline.domain.filters import Condition
from hookline.domain.queues import Redis
from hookline.domain.retry import PolicyLayer
from hookline.domain.statuses import WebhookStatus
from hookline.domain.webhook_commands import UNSET, parse_change, parse_create
from hookline.errors import Invalid


def test_a_create_fills_only_what_it_is_given() -> None:
    new = parse_create({"url": "https://example.com/h", "events": ["a.*", "a.*", "b"]})
    assert new.fields.url == "https://example.com/h"
    assert new.fields.events == ["a.*", "b"]
    assert new.fields.name is UNSET and new.fields.auth is UNSET
    assert new.secret is None and new.status is WebhookStatus.ACTIVE


def test_settings_become_typed_values() -> None:
    new = parse_create(
        {
            "url": "https://example.com/h",
            "events": ["*"],
            "retryPolicy": {"schedule": [1, 2]},
            "filter": {"path": "$.n", "gt": 1},
            "auth": {"type": "basic", "username": "u", "password": "p"},
            "status": "paused",
            "secret": "s3cret-value",
        }
    )
    assert isinstance(new.fields.retry_policy, PolicyLayer)
    assert isinstance(new.fields.filter, Condition)
    assert new.fields.auth == Basic(username="u", password="p")
    assert new.status is WebhookStatus.PAUSED and new.secret == "s3cret-value"


def test_a_destination_takes_the_place_of_the_url() -> None:
    new = parse_create(
        {"events": ["*"], "destination": {"type": "redis", "url": "redis://r:6379", "stream": "s"}}
    )
    assert isinstance(new.fields.destination, Redis)
    assert new.fields.url is UNSET


def test_a_change_tells_left_out_from_null() -> None:
    change = parse_change({"name": "n", "filter": None, "rateLimit": None})
    assert change.fields.name == "n"
    assert change.fields.filter is None and change.fields.rate_limit is None
    assert change.fields.url is UNSET and change.fields.events is UNSET
    assert change.auth is UNSET and change.status is None


def test_dropping_the_destination_needs_a_url() -> None:
    with pytest.raises(Invalid) as raised:
        parse_change({"destination": None})
    assert raised.value.error_code == "invalid_url"
    change = parse_change({"destination": None, "url": "https://example.com/h"})
    assert change.fields.destination is None and change.fields.url == "https://example.com/h"


def test_an_auth_change_may_leave_out_its_secret_but_a_create_may_not() -> None:
    auth = {"type": "basic", "username": "u"}
    assert isinstance(parse_change({"auth": auth}).auth, SecretLeftOut)
    with pytest.raises(Invalid, match="basic auth needs password"):
        parse_create({"url": "https://example.com/h", "events": ["*"], "auth": auth})


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"events": []}, "invalid_events"),
        ({"events": [""]}, "invalid_events"),
        ({"headers": {"bad name": "v"}}, "invalid_header"),
        ({"headers": {"X-A": "line\nbreak"}}, "invalid_header"),
        ({"rateLimit": True}, "invalid_rate_limit"),
        ({"rateLimit": 0}, "invalid_rate_limit"),
        ({"ordering": "lifo"}, "invalid_ordering"),
        ({"name": "n" * 201}, "invalid_name"),
        ({"status": "gone"}, "invalid_status"),
        ({"secret": "short"}, "invalid_secret"),
        ({"secret": "whsec_!!!notbase64"}, "invalid_secret"),
        ({"retryPolicy": {"schedule": []}}, "invalid_retry_policy"),
        ({"filter": {"path": "$.n"}}, "invalid_filter"),
        ({"auth": {"type": "digest"}}, "invalid_auth"),
        (
            {"destination": {"type": "redis", "url": "http://r", "stream": "s"}},
            "invalid_destination",
        ),
        ({"forwardHeadersOnRedirect": "yes"}, "validation_error"),
        ({"channels": "a"}, "invalid_channels"),
        ({"channels": ["a b"]}, "invalid_channels"),
    ],
)
def test_each_wrong_field_has_its_code(body: dict[str, Any], code: str) -> None:
    with pytest.raises(Invalid) as raised:
        parse_change(body)
    assert raised.value.error_code == code


def test_channels_become_a_tuple_and_empty_is_none() -> None:
    assert parse_change({"channels": ["a", "b", "a"]}).fields.channels == ("a", "b")
    assert parse_change({"channels": []}).fields.channels == ()
    assert parse_change({"channels": None}).fields.channels == ()
    assert "channels" not in parse_change({"name": "n"}).fields.given()
