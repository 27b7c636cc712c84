"""Retry policy and the pure decision taken after every attempt.

A policy is resolved from layers (deployment < workspace < webhook); each layer
may set any field, the rest keep the value from below. ``decide`` looks at one
attempt's outcome and says: succeeded, retry at a time, or give up (and maybe
pause the webhook). A ``Retry-After`` on a 429 or 503 is taken at its word: the next
attempt waits what it asks, up to the policy's ``max_retry_after``, and never less than the
schedule's wait. ``410 Gone`` is the endpoint saying it is no more: the delivery fails and
the webhook is disabled, whatever the policy. It never sleeps and does no I/O.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, replace
from typing import Any, Literal

from hookline.domain.statuses import StopReason

DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410
MAX_ATTEMPTS = 50
MAX_DELAY = 7 * 24 * 3600.0
# The lowest and highest value of each exponential field.
EXPONENTIAL_FIELDS: dict[str, tuple[float, float]] = {
    "initial": (0, MAX_DELAY),
    "factor": (1, 10),
    "retries": (0, MAX_ATTEMPTS - 1),
    "max": (0, MAX_DELAY),
}
MAX_TIMEOUT = 60.0
# How long a Retry-After may make the next attempt wait, unless a policy says otherwise.
DEFAULT_MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Exponential:
    """Waits that grow: a first attempt at once, then ``retries`` more, waiting ``initial``,
    ``initial * factor``, … seconds, each at most ``max``. A field left out (None) takes its
    default."""

    initial: float | None = None
    factor: float | None = None
    retries: int | None = None
    max: float | None = None

    @property
    def schedule(self) -> tuple[float, ...]:
        initial = 1.0 if self.initial is None else self.initial
        factor = 2.0 if self.factor is None else self.factor
        retries = 8 if self.retries is None else self.retries
        ceiling = 3600.0 if self.max is None else self.max
        return (0.0, *(min(initial * factor**i, ceiling) for i in range(retries)))

    def to_json(self) -> dict[str, Any]:
        return _given(
            {
                "initial": self.initial,
                "factor": self.factor,
                "retries": self.retries,
                "max": self.max,
            }
        )


RetryOn = Literal["any"] | tuple[int, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicyLayer:
    """One layer of a retry policy: the deployment's, a workspace's or a webhook's. A field
    left out (None) comes from the layer below; ``schedule`` and ``exponential`` are one
    field in two forms (at most one is set)."""

    schedule: tuple[float, ...] | None = None
    exponential: Exponential | None = None
    retry_on: RetryOn | None = None
    timeout: float | None = None
    follow_redirects: bool | None = None
    jitter: float | None = None
    on_exhausted: Literal["fail", "pause"] | None = None
    max_retry_after: float | None = None
    nulls: frozenset[str] = frozenset()  # the fields given as null, shown as given

    def to_json(self) -> dict[str, Any]:
        """The layer as the API shows it and the stores keep it: the fields it was given."""
        return _given(
            {
                "schedule": None if self.schedule is None else list(self.schedule),
                "exponential": None if self.exponential is None else self.exponential.to_json(),
                "retryOn": self.retry_on if self.retry_on in (None, "any") else list(self.retry_on),
                "timeout": self.timeout,
                "followRedirects": self.follow_redirects,
                "jitter": self.jitter,
                "onExhausted": self.on_exhausted,
                "maxRetryAfter": self.max_retry_after,
            },
            self.nulls,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    retry_on: Literal["any"] | frozenset[int] = "any"
    timeout: float = 10.0
    follow_redirects: bool = False
    jitter: float = 0.2
    on_exhausted: Literal["fail", "pause"] = "fail"
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER

    @property
    def max_attempts(self) -> int:
        return len(self.schedule)

    def is_retryable(self, status_code: int) -> bool:
        return self.retry_on == "any" or status_code in self.retry_on

    @classmethod
    def resolve(cls, *layers: PolicyLayer | None) -> RetryPolicy:
        """Merge policy layers, lowest precedence first. Layers and policies are frozen, and a
        delivery's layers are those of many others (the same objects, read once per
        distinct value), so each distinct merge is made once."""
        return _resolved(layers)


@functools.lru_cache(maxsize=4096)
def _resolved(layers: tuple[PolicyLayer | None, ...]) -> RetryPolicy:
    policy = RetryPolicy()
    for layer in layers:
        if layer is None:
            continue
        schedule = layer.exponential.schedule if layer.exponential else layer.schedule
        policy = replace(
            policy,
            schedule=policy.schedule if schedule is None else schedule,
            retry_on=policy.retry_on if layer.retry_on is None else _retry_on(layer.retry_on),
            timeout=policy.timeout if layer.timeout is None else layer.timeout,
            follow_redirects=policy.follow_redirects
            if layer.follow_redirects is None
            else layer.follow_redirects,
            jitter=policy.jitter if layer.jitter is None else layer.jitter,
            on_exhausted=policy.on_exhausted if layer.on_exhausted is None else layer.on_exhausted,
            max_retry_after=policy.max_retry_after
            if layer.max_retry_after is None
            else layer.max_retry_after,
        )
    return policy


def _retry_on(value: RetryOn) -> Literal["any"] | frozenset[int]:
    return "any" if value == "any" else frozenset(value)


def _given(fields: dict[str, Any], nulls: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None or name in nulls}


class InvalidPolicy(ValueError):
    """A JSON retry policy breaks its rules; ``problems`` are human-readable, one per rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_policy(raw: Any, name: str = "retryPolicy") -> PolicyLayer | None:
    """The policy layer a JSON value gives (None: none); ``InvalidPolicy`` when it breaks a
    rule. ``name`` is what the messages call the policy (a request field, or the deployment
    setting)."""
    problems = _problems(raw, name)
    if problems:
        raise InvalidPolicy(problems)
    return None if raw is None else load_policy(raw)


def load_policy(raw: dict[str, Any]) -> PolicyLayer:
    """The layer a stored (already parsed) JSON policy holds."""
    exponential = raw.get("exponential")
    schedule = raw.get("schedule")
    retry_on = raw.get("retryOn")
    return PolicyLayer(
        schedule=None if schedule is None else tuple(schedule),
        exponential=None if exponential is None else Exponential(**exponential),
        retry_on=retry_on if retry_on in (None, "any") else tuple(retry_on),
        timeout=raw.get("timeout"),
        follow_redirects=raw.get("followRedirects"),
        jitter=raw.get("jitter"),
        on_exhausted=raw.get("onExhausted"),
        max_retry_after=raw.get("maxRetryAfter"),
        nulls=frozenset(name for name, value in raw.items() if value is None),
    )


def _problems(raw: Any, name: str) -> list[str]:
    """Human-readable problems with a JSON retry policy; empty when valid."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [f"{name} must be an object"]
    problems: list[str] = []
    known = {
        "schedule",
        "exponential",
        "retryOn",
        "timeout",
        "followRedirects",
        "jitter",
        "onExhausted",
        "maxRetryAfter",
    }
    problems += [f"{name}.{k} is not a known field" for k in raw if k not in known]
    schedule = raw.get("schedule")
    if schedule is not None and not (
        isinstance(schedule, list)
        and 1 <= len(schedule) <= MAX_ATTEMPTS
        and all(_is_number(s) and 0 <= s <= MAX_DELAY for s in schedule)
    ):
        problems.append(
            f"{name}.schedule must be 1 to {MAX_ATTEMPTS} delays in seconds, each 0 to {MAX_DELAY:g}"
        )
    exp = raw.get("exponential")
    if schedule is not None and exp is not None:
        problems.append(f"{name} takes schedule or exponential, not both")
    if exp is not None:
        if not isinstance(exp, dict) or set(exp) - set(EXPONENTIAL_FIELDS):
            problems.append(f"{name}.exponential takes initial, factor, retries and max")
        else:
            problems += _exponential_problems(exp, f"{name}.exponential")
    on = raw.get("retryOn")
    if (
        on is not None
        and on != "any"
        and not (isinstance(on, list) and all(isinstance(c, int) and 100 <= c <= 599 for c in on))
    ):
        problems.append(f'{name}.retryOn must be "any" or a list of HTTP status codes')
    timeout = raw.get("timeout")
    if timeout is not None and not (_is_number(timeout) and 0 < timeout <= MAX_TIMEOUT):
        problems.append(f"{name}.timeout must be between 0 and {MAX_TIMEOUT:g} seconds")
    jitter = raw.get("jitter")
    if jitter is not None and not (_is_number(jitter) and 0 <= jitter <= 1):
        problems.append(f"{name}.jitter must be between 0 and 1")
    redirects = raw.get("followRedirects")
    if redirects is not None and not isinstance(redirects, bool):
        problems.append(f"{name}.followRedirects must be true or false")
    if raw.get("onExhausted") not in (None, "fail", "pause"):
        problems.append(f'{name}.onExhausted must be "fail" or "pause"')
    cap = raw.get("maxRetryAfter")
    if cap is not None and not (_is_number(cap) and 0 <= cap <= MAX_DELAY):
        problems.append(f"{name}.maxRetryAfter must be between 0 and {MAX_DELAY:g} seconds")
    return problems


def _exponential_problems(exp: dict[str, Any], name: str) -> list[str]:
    """Each field given must be in its range (null is not a value here: leave it out)."""
    problems = []
    for key, (low, high) in EXPONENTIAL_FIELDS.items():
        if key not in exp:
            continue
        value = exp[key]
        if key == "retries":
            if not (
                isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
            ):
                problems.append(f"{name}.retries must be a whole number from {low:g} to {high:g}")
        elif not (_is_number(value) and low <= value <= high):
            unit = "" if key == "factor" else " seconds"
            problems.append(f"{name}.{key} must be a number from {low:g} to {high:g}{unit}")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What one attempt produced: a status code, or an error such as ``timeout``; or, from a
    destination other than HTTP, that it ``acknowledged`` the message."""

    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    acknowledged: bool = False

    @property
    def succeeded(self) -> bool:
        if self.error is not None:
            return False
        if self.acknowledged:
            return True
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    kind: Literal["succeeded", "retry", "failed", "expired"]
    retry_at_ms: int | None = None
    stop_webhook: StopReason | None = None


SUCCEEDED = Decision(kind="succeeded")
EXPIRED = Decision(kind="expired")


def decide(
    policy: RetryPolicy,
    attempt: int,
    outcome: Outcome,
    now_ms: int,
    rng: random.Random | None = None,
    *,
    expires_at: int | None = None,
) -> Decision:
    """Decide what follows attempt number ``attempt`` (1-based). A retry that would start
    after ``expires_at`` (the event's ttl, epoch ms) is not scheduled: the delivery expires."""
    if outcome.succeeded:
        return SUCCEEDED
    if outcome.status_code == GONE and outcome.error is None:
        return Decision(kind="failed", stop_webhook=StopReason.ENDPOINT_GONE)
    if outcome.status_code is not None and outcome.error is None:
        if not policy.is_retryable(outcome.status_code):
            return Decision(kind="failed")
    if attempt >= policy.max_attempts:
        stop = StopReason.TOO_MANY_FAILURES if policy.on_exhausted == "pause" else None
        return Decision(kind="failed", stop_webhook=stop)
    scheduled = policy.schedule[attempt]
    if outcome.retry_after is not None and outcome.status_code in RETRY_AFTER_STATUSES:
        # The endpoint's word, up to the policy's cap; never sooner than the schedule.
        delay = max(scheduled, min(outcome.retry_after, policy.max_retry_after))
    elif policy.jitter:
        spread = (rng or random).uniform(-policy.jitter, policy.jitter)
        delay = scheduled * (1 + spread)
    else:
        delay = scheduled
    # At most MAX_DELAY, whatever a stored policy (or a Retry-After) asks for: the next
    # attempt's time always fits the store and the API's time format.
    delay = MAX_DELAY if not delay <= MAX_DELAY else max(delay, 0.0)
    retry_at = now_ms + round(delay * 1000)
    if expires_at is not None and retry_at > expires_at:
        return EXPIRED
    return Decision(kind="retry", retry_at_ms=retry_at)


@dataclass(frozen=True, kw_only=True, slots=True)
class Remaining:
    """The attempts left to a pending delivery: the next one's number of ``total``, and when
    each is due (epoch ms), the next one first."""

    next_number: int
    total: int
    due: tuple[int, ...]
    expires_at: int | None = None  # no attempt starts after this (the event's ttl)


def remaining(
    policy: RetryPolicy, *, made: int, next_at: int, expires_at: int | None = None
) -> Remaining:
    """The attempts left after ``made`` attempts, the next due at ``next_at``; each later one
    is due the schedule's wait after the one before, as far as one can tell ahead: the
    jitter and the attempts' own durations move them a little, and a ``Retry-After`` the
    endpoint sends may put them later. None of the later ones is due after ``expires_at``."""
    due = [next_at]
    for wait in policy.schedule[made + 1 :]:
        at = due[-1] + round(min(wait, MAX_DELAY) * 1000)
        if expires_at is not None and at > expires_at:
            break
        due.append(at)
    return Remaining(
        next_number=made + 1,
        total=max(policy.max_attempts, made + 1),
        due=tuple(due),
        expires_at=expires_at,
    )
