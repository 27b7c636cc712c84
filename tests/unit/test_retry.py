from __future__ import annotations

import random
from typing import Any

import pytest

from hookline.domain.retry import (
    DEFAULT_SCHEDULE,
    MAX_DELAY,
    Decision,
    Exponential,
    InvalidPolicy,
    Outcome,
    PolicyLayer,
    Remaining,
    RetryPolicy,
    decide,
    load_policy,
    parse_policy,
    remaining,
)
from hookline.domain.statuses import StopReason, WebhookStatus

NOW = 1_773_828_300_000
DISCKO_RETRY_ON = [408, 413, 429, 500, 502, 503, 504]


class Extreme(random.Random):
    """An rng whose ``uniform`` always returns one end of the range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def policy(**fields: Any) -> RetryPolicy:
    return RetryPolicy(**{"jitter": 0.0, **fields})


def resolve(*layers: dict[str, Any] | None) -> RetryPolicy:
    """The policy JSON layers resolve to, lowest precedence first."""
    return RetryPolicy.resolve(*(None if layer is None else load_policy(layer) for layer in layers))


def exponential_schedule(spec: dict[str, Any]) -> tuple[float, ...]:
    return Exponential(**spec).schedule


def validate_policy(raw: Any, name: str = "retryPolicy") -> list[str]:
    """The problems ``parse_policy`` finds with ``raw`` (none when it parses)."""
    try:
        parse_policy(raw, name)
    except InvalidPolicy as exc:
        return exc.problems
    return []


# -- decide ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_succeeds(status: int) -> None:
    assert decide(policy(), 1, Outcome(status_code=status), NOW) == Decision(kind="succeeded")


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome(status_code=199),
        Outcome(status_code=300),
        Outcome(status_code=404),
        Outcome(status_code=500),
        Outcome(error="timeout"),
        Outcome(status_code=200, error="body_read_error"),
    ],
)
def test_anything_else_is_a_failed_attempt(outcome: Outcome) -> None:
    assert not outcome.succeeded
    assert decide(policy(), 1, outcome, NOW).kind == "retry"


def test_retries_follow_the_schedule_exactly_without_jitter() -> None:
    p = policy(schedule=(0, 5, 300, 0.25))
    failure = Outcome(status_code=500)
    assert decide(p, 1, failure, NOW) == Decision(kind="retry", retry_at_ms=NOW + 5_000)
    assert decide(p, 2, failure, NOW) == Decision(kind="retry", retry_at_ms=NOW + 300_000)
    assert decide(p, 3, failure, NOW) == Decision(kind="retry", retry_at_ms=NOW + 250)
    assert decide(p, 4, failure, NOW) == Decision(kind="failed", stop_webhook=None)


def test_jitter_stays_within_its_bounds() -> None:
    p = RetryPolicy(schedule=(0, 10), jitter=0.2)
    rng = random.Random(1234)
    delays = [decide(p, 1, Outcome(error="timeout"), NOW, rng).retry_at_ms for _ in range(500)]
    assert all(d is not None and NOW + 8_000 <= d <= NOW + 12_000 for d in delays)
    assert len(set(delays)) > 100  # it does spread
    low = decide(p, 1, Outcome(error="timeout"), NOW, Extreme(high=False))
    high = decide(p, 1, Outcome(error="timeout"), NOW, Extreme(high=True))
    assert (low.retry_at_ms, high.retry_at_ms) == (NOW + 8_000, NOW + 12_000)


def test_exhaustion_fails_and_pauses_only_when_asked() -> None:
    failure = Outcome(status_code=503)
    assert decide(policy(schedule=(0, 1)), 2, failure, NOW) == Decision(kind="failed")
    paused = decide(policy(schedule=(0, 1), on_exhausted="pause"), 2, failure, NOW)
    assert paused == Decision(kind="failed", stop_webhook=StopReason.TOO_MANY_FAILURES)
    # Not yet exhausted: no pause.
    assert (
        decide(policy(schedule=(0, 1), on_exhausted="pause"), 1, failure, NOW).stop_webhook is None
    )


@pytest.mark.parametrize(
    "p", [policy(), policy(retry_on=frozenset({500}), on_exhausted="pause"), policy(schedule=(0,))]
)
def test_410_gone_fails_the_delivery_and_disables_the_webhook_under_any_policy(
    p: RetryPolicy,
) -> None:
    gone = decide(p, 1, Outcome(status_code=410), NOW)
    assert gone == Decision(kind="failed", stop_webhook=StopReason.ENDPOINT_GONE)
    assert StopReason.ENDPOINT_GONE.status is WebhookStatus.DISABLED
    # Only the endpoint's own answer counts: an error is retried as before.
    assert decide(p, 1, Outcome(status_code=409), NOW).stop_webhook is None


def test_a_single_attempt_schedule_never_retries() -> None:
    assert decide(policy(schedule=(0,)), 1, Outcome(error="timeout"), NOW).kind == "failed"


def test_retry_on_list_fails_other_statuses_at_once() -> None:
    p = policy(retry_on=frozenset(DISCKO_RETRY_ON), on_exhausted="pause")
    assert decide(p, 1, Outcome(status_code=400), NOW) == Decision(kind="failed")
    assert decide(p, 1, Outcome(status_code=404), NOW) == Decision(kind="failed")
    assert decide(p, 1, Outcome(status_code=301), NOW) == Decision(kind="failed")
    for status in DISCKO_RETRY_ON:
        assert decide(p, 1, Outcome(status_code=status), NOW).kind == "retry"


@pytest.mark.parametrize(
    "error", ["timeout", "connect_error", "tls_error", "blocked_destination", "proxy_error"]
)
def test_timeouts_and_network_errors_are_always_retried(error: str) -> None:
    p = policy(retry_on=frozenset({500}))
    assert decide(p, 1, Outcome(error=error), NOW) == Decision(
        kind="retry", retry_at_ms=NOW + 5_000
    )


def test_an_empty_retry_on_list_still_retries_network_errors() -> None:
    p = policy(retry_on=frozenset())
    assert decide(p, 1, Outcome(status_code=500), NOW).kind == "failed"
    assert decide(p, 1, Outcome(error="timeout"), NOW).kind == "retry"


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("retry_after", "expected_s"),
    [(1, 5), (5, 5), (7, 7), (7.5, 7.5), (10, 10), (100, 100), (3600, 3600), (7200, 3600), (0, 5)],
)
def test_retry_after_is_waited_for_up_to_the_cap_and_never_less_than_the_schedule(
    status: int, retry_after: float, expected_s: float
) -> None:
    p = policy(schedule=(0, 5))
    decision = decide(p, 1, Outcome(status_code=status, retry_after=retry_after), NOW)
    assert decision == Decision(kind="retry", retry_at_ms=NOW + round(expected_s * 1000))


def test_a_small_step_waits_what_a_rate_limiting_endpoint_asks() -> None:
    p = policy(schedule=(0, 0.1, 0.1))
    decision = decide(p, 1, Outcome(status_code=429, retry_after=2), NOW)
    assert decision == Decision(kind="retry", retry_at_ms=NOW + 2_000)


@pytest.mark.parametrize(("cap", "expected_s"), [(0, 5), (60, 60), (86400, 3600)])
def test_max_retry_after_is_the_policy_s_cap(cap: float, expected_s: float) -> None:
    p = RetryPolicy.resolve(PolicyLayer(schedule=(0, 5), jitter=0, max_retry_after=cap))
    decision = decide(p, 1, Outcome(status_code=503, retry_after=3600), NOW)
    assert decision.retry_at_ms == NOW + round(expected_s * 1000)


def test_retry_after_still_counts_an_attempt() -> None:
    p = policy(schedule=(0, 1))
    assert decide(p, 2, Outcome(status_code=429, retry_after=1), NOW).kind == "failed"


@pytest.mark.parametrize("status", [500, 502, 408, 404])
def test_retry_after_is_ignored_on_other_statuses(status: int) -> None:
    decision = decide(policy(schedule=(0, 5)), 1, Outcome(status_code=status, retry_after=9), NOW)
    assert decision.retry_at_ms == NOW + 5_000


def test_retry_after_with_jitter_is_never_below_the_schedule() -> None:
    p = RetryPolicy(schedule=(0, 5), jitter=0.2)
    for high in (False, True):
        for retry_after, low in ((0, 5), (7, 7), (100, 100)):
            outcome = Outcome(status_code=429, retry_after=retry_after)
            at = decide(p, 1, outcome, NOW, Extreme(high=high)).retry_at_ms
            assert at == NOW + low * 1000


def test_retry_after_does_not_rescue_a_status_outside_retry_on() -> None:
    p = policy(retry_on=frozenset({500}))
    assert decide(p, 1, Outcome(status_code=429, retry_after=1), NOW).kind == "failed"


# -- exponential schedule --------------------------------------------------------


def test_discko_exponential_schedule() -> None:
    spec = {"initial": 1, "factor": 2, "retries": 8, "max": 3600}
    assert exponential_schedule(spec) == (0, 1, 2, 4, 8, 16, 32, 64, 128)
    assert exponential_schedule({}) == (0, 1, 2, 4, 8, 16, 32, 64, 128)
    p = resolve({"exponential": spec, "jitter": 0})
    assert p.max_attempts == 9
    failure = Outcome(status_code=500)
    delays = [decide(p, n, failure, NOW).retry_at_ms for n in range(1, 9)]
    assert delays == [NOW + 1000 * 2**i for i in range(8)]
    assert decide(p, 9, failure, NOW).kind == "failed"


def test_exponential_schedule_is_capped_and_fractional() -> None:
    assert exponential_schedule({"initial": 1, "factor": 10, "retries": 5, "max": 500}) == (
        0,
        1,
        10,
        100,
        500,
        500,
    )
    assert exponential_schedule({"initial": 0.1, "factor": 3, "retries": 2}) == pytest.approx(
        (0, 0.1, 0.3)
    )
    assert exponential_schedule({"retries": 0}) == (0,)


# -- resolve ---------------------------------------------------------------------


def test_resolve_defaults() -> None:
    p = resolve()
    assert p == RetryPolicy()
    assert p.schedule == DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert (p.retry_on, p.timeout, p.follow_redirects, p.jitter, p.on_exhausted) == (
        "any",
        10.0,
        False,
        0.2,
        "fail",
    )
    assert p.max_attempts == 8
    assert resolve(None, {}, None) == RetryPolicy()


def test_resolve_precedence_deployment_workspace_webhook() -> None:
    deployment = {"schedule": [0, 1], "timeout": 5, "jitter": 0.1, "followRedirects": True}
    workspace = {"timeout": 7, "retryOn": [500, 503]}
    webhook = {"schedule": [0, 2, 3], "onExhausted": "pause"}
    p = resolve(deployment, workspace, webhook)
    assert p == RetryPolicy(
        schedule=(0, 2, 3),
        retry_on=frozenset({500, 503}),
        timeout=7,
        follow_redirects=True,
        jitter=0.1,
        on_exhausted="pause",
    )
    # The webhook's layer wins over the workspace's, field by field.
    assert resolve(deployment, workspace, {"retryOn": "any"}).retry_on == "any"
    assert resolve(deployment, workspace, {"timeout": 1}).timeout == 1
    # A lower layer does not override a higher one.
    assert resolve({"timeout": 1}, {"timeout": 2}).timeout == 2


def test_resolve_ignores_nulls_and_switches_schedule_kinds() -> None:
    assert resolve({"timeout": 3}, {"timeout": None}).timeout == 3
    exp = {"exponential": {"initial": 1, "retries": 2}}
    assert resolve({"schedule": [0, 9]}, exp).schedule == (0, 1, 2)
    assert resolve(exp, {"schedule": [0, 9]}).schedule == (0, 9)
    assert resolve(exp, {"schedule": None}).schedule == (0, 1, 2)


def test_is_retryable() -> None:
    assert RetryPolicy().is_retryable(418)
    assert RetryPolicy(retry_on=frozenset({429})).is_retryable(429)
    assert not RetryPolicy(retry_on=frozenset({429})).is_retryable(418)


# -- validate --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {},
        {
            "schedule": [0, 0.5, 5, 604800],
            "retryOn": [408, 429, 500],
            "timeout": 0.5,
            "followRedirects": True,
            "jitter": 0,
            "onExhausted": "pause",
        },
        {"exponential": {"initial": 1, "factor": 2, "retries": 8, "max": 3600}},
        {"exponential": {}},
        {"retryOn": "any", "jitter": 1, "timeout": 60},
        {"schedule": [0] * 50},
        {"exponential": {"initial": 0, "factor": 1, "retries": 0, "max": 0}},
        {"exponential": {"initial": 604800, "factor": 10, "retries": 49, "max": 604800}},
        {"exponential": {"initial": 1e-300, "factor": 1.5, "max": 0.5}},
        {"timeout": 1e-300, "jitter": 1e-300, "schedule": [1e-300, 604800.0]},
        {"schedule": None, "exponential": None, "timeout": None, "jitter": None},
    ],
)
def test_valid_policies(raw: Any) -> None:
    assert validate_policy(raw) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("fast", "retryPolicy must be an object"),
        ([0, 5], "retryPolicy must be an object"),
        ({"retries": 3}, "retryPolicy.retries is not a known field"),
        *[
            (
                {"schedule": bad},
                "retryPolicy.schedule must be 1 to 50 delays in seconds, each 0 to 604800",
            )
            for bad in (
                [],
                [0, -1],
                [0, "5"],
                [0, True],
                [0] * 51,
                [0, 604801],
                "0,5",
                5,
                [0, 1e300],
                [0, 10**400],
                [0, float("nan")],
                [0, float("inf")],
                [0, None],
            )
        ],
        (
            {"exponential": {"initial": 1, "base": 2}},
            "retryPolicy.exponential takes initial, factor, retries and max",
        ),
        ({"exponential": [1, 2]}, "retryPolicy.exponential takes initial, factor, retries and max"),
        *[
            (
                {"exponential": {field: bad}},
                f"retryPolicy.exponential.{field} must be a number from 0 to 604800 seconds",
            )
            for field in ("initial", "max")
            for bad in (-1, 604801, 1e300, 10**400, float("inf"), float("nan"), "1", True, None)
        ],
        *[
            (
                {"exponential": {"factor": bad}},
                "retryPolicy.exponential.factor must be a number from 1 to 10",
            )
            for bad in (0.5, 11, 1e300, float("nan"), "2", True, None)
        ],
        *[
            (
                {"exponential": {"retries": bad}},
                "retryPolicy.exponential.retries must be a whole number from 0 to 49",
            )
            for bad in (50, -1, 2.5, 8.0, 10**400, True, "8", None)
        ],
        (
            {"schedule": [0, 1], "exponential": {}},
            "retryPolicy takes schedule or exponential, not both",
        ),
        *[
            ({"retryOn": bad}, 'retryPolicy.retryOn must be "any" or a list of HTTP status codes')
            for bad in ("all", [99], [600], ["500"], [500.0], 500)
        ],
        *[
            ({"timeout": bad}, "retryPolicy.timeout must be between 0 and 60 seconds")
            for bad in (0, -1, 61, "10", True, -1e-300, 1e300, 10**400, float("nan"))
        ],
        *[
            ({"jitter": bad}, "retryPolicy.jitter must be between 0 and 1")
            for bad in (-0.1, 1.5, "0.2", True, 1e300, 10**400, float("nan"), float("-inf"))
        ],
        ({"followRedirects": "yes"}, "retryPolicy.followRedirects must be true or false"),
        ({"followRedirects": 1}, "retryPolicy.followRedirects must be true or false"),
        ({"onExhausted": "retry"}, 'retryPolicy.onExhausted must be "fail" or "pause"'),
        *[
            (
                {"maxRetryAfter": bad},
                "retryPolicy.maxRetryAfter must be between 0 and 604800 seconds",
            )
            for bad in (-1, 604801, "60", True, float("nan"), 10**400)
        ],
    ],
)
def test_invalid_policies_say_why(raw: Any, message: str) -> None:
    assert validate_policy(raw) == [message]


def test_every_problem_is_reported() -> None:
    problems = validate_policy({"timeout": 0, "jitter": 2, "onExhausted": "x", "foo": 1})
    assert problems == [
        "retryPolicy.foo is not a known field",
        "retryPolicy.timeout must be between 0 and 60 seconds",
        "retryPolicy.jitter must be between 0 and 1",
        'retryPolicy.onExhausted must be "fail" or "pause"',
    ]


def test_each_exponential_field_out_of_range_is_named() -> None:
    bad = {"initial": 1e300, "factor": 0, "retries": True, "max": -1}
    assert validate_policy({"exponential": bad}) == [
        "retryPolicy.exponential.initial must be a number from 0 to 604800 seconds",
        "retryPolicy.exponential.factor must be a number from 1 to 10",
        "retryPolicy.exponential.retries must be a whole number from 0 to 49",
        "retryPolicy.exponential.max must be a number from 0 to 604800 seconds",
    ]


def test_the_messages_name_the_policy_they_are_about() -> None:
    assert validate_policy({"timeout": 0}, "HOOKLINE_RETRY_POLICY") == [
        "HOOKLINE_RETRY_POLICY.timeout must be between 0 and 60 seconds"
    ]
    assert validate_policy([], "settings.retryPolicy") == ["settings.retryPolicy must be an object"]


# -- stored policies from before the bounds ---------------------------------------


@pytest.mark.parametrize(
    "stored",
    [
        {"exponential": {"initial": 1e300, "max": 1e300}},
        {"exponential": {"initial": 1e300, "factor": 10, "retries": 49, "max": 1e308}},
        {"schedule": [0, 1e300]},
        {"schedule": [0, float("inf")]},
        {"schedule": [0, float("nan")]},
    ],
)
def test_a_stored_policy_beyond_the_bounds_waits_at_most_max_delay(stored: Any) -> None:
    """Policies stored before the bounds were checked must not yield an unstorable time."""
    p = resolve(stored)
    for rng in (Extreme(high=False), Extreme(high=True)):
        for attempt in range(1, p.max_attempts):
            d = decide(p, attempt, Outcome(status_code=500), NOW, rng)
            assert d.retry_at_ms is not None
            assert NOW <= d.retry_at_ms <= NOW + MAX_DELAY * 1000, (attempt, d)


def test_retry_after_never_takes_a_wait_past_max_delay() -> None:
    p = policy(schedule=(0, MAX_DELAY))
    d = decide(p, 1, Outcome(status_code=429, retry_after=1e300), NOW)
    assert d.retry_at_ms == NOW + MAX_DELAY * 1000


def test_a_parsed_policy_is_stored_and_shown_as_it_was_given() -> None:
    given = {
        "exponential": {"initial": 0.5, "retries": 3},
        "retryOn": [503, 429],
        "timeout": 2,
        "followRedirects": True,
        "onExhausted": "pause",
    }
    layer = parse_policy(given)
    assert layer is not None
    assert layer.to_json() == given
    assert load_policy(layer.to_json()) == layer
    assert parse_policy(None) is None


def test_a_field_given_as_null_is_shown_as_given() -> None:
    given = {"schedule": [0, 1], "timeout": None, "retryOn": None}
    layer = parse_policy(given)
    assert layer is not None and layer.to_json() == given
    assert resolve({"timeout": 3}, given).timeout == 3


def test_the_attempts_left_follow_the_schedule_from_the_next_one() -> None:
    policy = RetryPolicy(schedule=(0, 5, 300, 1800))
    assert remaining(policy, made=1, next_at=10_000) == Remaining(
        next_number=2, total=4, due=(10_000, 310_000, 2_110_000)
    )
    assert remaining(policy, made=3, next_at=10_000) == Remaining(
        next_number=4, total=4, due=(10_000,)
    )
    assert remaining(policy, made=0, next_at=0).due == (0, 5_000, 305_000, 2_105_000)


def test_a_delivery_past_a_shortened_schedule_has_its_next_attempt_left() -> None:
    assert remaining(RetryPolicy(schedule=(0, 5)), made=4, next_at=1) == Remaining(
        next_number=5, total=5, due=(1,)
    )


def test_a_retry_after_the_event_expired_ends_the_delivery_expired() -> None:
    p = policy(schedule=(0, 5, 300))
    failure = Outcome(status_code=500)
    # The next attempt would start 5 s from now: within the ttl it is scheduled, after it not.
    assert decide(p, 1, failure, NOW, expires_at=NOW + 5_000) == Decision(
        kind="retry", retry_at_ms=NOW + 5_000
    )
    assert decide(p, 1, failure, NOW, expires_at=NOW + 4_999) == Decision(kind="expired")
    assert decide(p, 2, failure, NOW, expires_at=NOW + 60_000) == Decision(kind="expired")


def test_a_retry_after_header_past_the_expiry_expires_the_delivery() -> None:
    p = policy(schedule=(0, 1, 1))
    asked = Outcome(status_code=429, retry_after=30)
    assert decide(p, 1, asked, NOW, expires_at=NOW + 10_000) == Decision(kind="expired")


def test_the_expiry_changes_no_final_answer() -> None:
    p = policy(schedule=(0, 5))
    expires_at = NOW - 1  # already past
    assert decide(p, 1, Outcome(status_code=200), NOW, expires_at=expires_at).kind == "succeeded"
    assert decide(p, 2, Outcome(status_code=500), NOW, expires_at=expires_at).kind == "failed"
    assert decide(p, 1, Outcome(status_code=410), NOW, expires_at=expires_at).kind == "failed"


def test_the_remaining_schedule_stops_at_the_expiry() -> None:
    p = policy(schedule=(0, 5, 300, 1800))
    assert remaining(p, made=1, next_at=10_000, expires_at=400_000) == Remaining(
        next_number=2, total=4, due=(10_000, 310_000), expires_at=400_000
    )
    assert remaining(p, made=1, next_at=10_000).due == (10_000, 310_000, 2_110_000)
