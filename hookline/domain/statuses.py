"""A webhook's status, and why Hookline itself changes it. Pure."""

from __future__ import annotations

from enum import StrEnum


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DISABLED = "disabled"


class StopReason(StrEnum):
    """Why Hookline itself took a webhook out of service, as its ``status_reason``."""

    TOO_MANY_FAILURES = "too_many_failures"  # a delivery ran out of retries: paused
    ENDPOINT_GONE = "endpoint_gone"  # the endpoint answered 410 Gone: disabled

    @property
    def status(self) -> WebhookStatus:
        if self is StopReason.ENDPOINT_GONE:
            return WebhookStatus.DISABLED
        return WebhookStatus.PAUSED

    @property
    def stops(self) -> tuple[str, ...]:
        """The statuses this takes a webhook out of: a pause only stops an active one."""
        if self is StopReason.ENDPOINT_GONE:
            return (WebhookStatus.ACTIVE.value, WebhookStatus.PAUSED.value)
        return (WebhookStatus.ACTIVE.value,)
