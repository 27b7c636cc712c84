"""Which custom headers are credentials, and how attempts and member views show them."""

from __future__ import annotations

import pytest

from hookline.domain.headers import MASKED, REDACTED, is_credential, masked, redacted
from hookline.domain.models import Webhook
from hookline.domain.statuses import WebhookStatus


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "X-Api-Key",
        "Api-Key",
        "X-API-KEY",
        "apikey",
        "X_Api_Key",
        "X-Auth-Token",
        "X-Access-Token",
        "X-Client-Secret",
        "X-Password",
        "X-Passwd",
        "X-Session-Id",
        "X-Credentials",
        "Ocp-Apim-Subscription-Key",
    ],
)
def test_credential_names(name: str) -> None:
    assert is_credential(name)


@pytest.mark.parametrize("name", ["X-Tenant", "X-Request-Source", "Accept-Language", "X-Env"])
def test_other_names(name: str) -> None:
    assert not is_credential(name)


def test_only_custom_headers_are_redacted_or_masked() -> None:
    sent = {
        "Authorization": "Bearer sekrit",
        "X-Tenant": "t-1",
        "X-Token-Signature-256": "t=1,v1=abc",  # Hookline's own, under the brand "Token"
        "webhook-signature": "v1,xyz",
    }
    custom = {"Authorization", "X-Tenant"}.__contains__
    assert redacted(sent, custom) == {**sent, "Authorization": REDACTED}
    assert redacted(sent, custom, mask=True) == {
        **sent,
        "Authorization": REDACTED,
        "X-Tenant": MASKED,
    }
    assert sent["Authorization"] == "Bearer sekrit"  # a copy, not changed in place
    assert masked({"A": "1", "B": "2"}) == {"A": MASKED, "B": MASKED}


def test_a_webhook_never_prints_its_header_values() -> None:
    wh = Webhook(
        id="wh_1",
        workspace_id="ws",
        url="https://example.com/h",
        name="",
        description="",
        events=["*"],
        headers={"Authorization": "Bearer sekrit"},
        status=WebhookStatus.ACTIVE,
        status_reason=None,
        status_changed_by=None,
        status_changed_at=None,
        retry_policy=None,
        rate_limit=None,
        ordering="none",
        metadata={},
        created_at=0,
        updated_at=0,
    )
    assert "sekrit" not in repr(wh) and "wh_1" in repr(wh)
