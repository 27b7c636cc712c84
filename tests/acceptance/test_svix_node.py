"""Svix's JavaScript SDK (npm ``svix``) drives the main flow against a real server on each
store (tests/interop/svix-node/flow.mjs): application, event type, endpoint, message,
attempts, resend, stats, recover, secret rotation, app-portal access, and Svix's errors as
the SDK's ``ApiException`` codes."""

from __future__ import annotations

import json

import pytest
from support.receiver import Receiver
from support.server import ADMIN_KEY, Hookline
from support.svix_node import run_node
from svix.webhooks import Webhook as SvixWebhook

pytestmark = pytest.mark.store_independent


def test_the_main_flow_with_the_javascript_sdk(hookline: Hookline, receiver: Receiver) -> None:
    hook = receiver.endpoint()
    env = {
        "HOOKLINE_URL": hookline.base_url,
        "HOOKLINE_API_KEY": ADMIN_KEY,
        "ENDPOINT_URL": hook.url,
    }
    seen = json.loads(run_node(env, script="flow.mjs"))

    assert seen["app"] == "node-shop" and seen["message"] == "order-o1"
    assert seen["firstAttempt"] == [[0, 0, 200]]
    assert seen["triggers"] == [0, 1]
    assert seen["stats"]["success"] == 2
    assert seen["recoverTask"] == "endpoint.recover"
    assert seen["rotated"] != seen["secret"]
    assert seen["portal"]["url"].endswith("/" + seen["portal"]["token"])
    assert seen["messages"] == ["order-o1"]
    assert seen["errors"] == {
        "unknownApp": 404,
        "duplicateUid": 409,
        "badUrl": 422,
        "badToken": 401,
    }

    original, resent = hook.wait(2)
    for arrived in (original, resent):
        SvixWebhook(seen["secret"]).verify(arrived.body, dict(arrived.headers))
        assert arrived.header("svix-id") == "order-o1"
        assert json.loads(arrived.body) == {"orderId": "o1"}
