"""The client covers the API as documented: every operation of docs/openapi.json has a method
on both clients that sends that operation's request, and every answer model has the fields
of its schema. A route or field added to the server without the client fails here."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from hookline.client import AsyncClient, Client, ClientError, Retries, models
from hookline.client._base import OPERATIONS

DOCUMENT = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
OPERATION_ROUTES = {
    op["operationId"]: (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
}

# One call of each method, with arguments enough to send its request.
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "health": ((), {}),
    "ready": ((), {}),
    "metrics": ((), {}),
    "config": ((), {}),
    "workspaces": ((), {}),
    "create_workspace": (("Acme",), {}),
    "get_workspace": (("acme",), {}),
    "update_workspace": (("acme",), {"name": "Acme"}),
    "delete_workspace": (("acme",), {}),
    "api_keys": (("acme",), {}),
    "create_api_key": (("acme", "ci", "publisher"), {}),
    "revoke_api_key": (("key_1",), {}),
    "event_types": ((), {}),
    "create_event_type": (("a.b",), {}),
    "get_event_type": (("a.b",), {}),
    "update_event_type": (("a.b",), {"description": "d"}),
    "archive_event_type": (("a.b",), {}),
    "webhooks": (("acme",), {}),
    "create_webhook": (("acme", "https://example.com/h"), {}),
    "get_webhook": (("wh_1",), {}),
    "update_webhook": (("wh_1",), {"name": "n"}),
    "delete_webhook": (("wh_1",), {}),
    "get_secret": (("wh_1",), {}),
    "rotate_secret": (("wh_1",), {}),
    "test_webhook": (("wh_1",), {}),
    "recover": (("wh_1", "2026-01-01T00:00:00Z"), {}),
    "send": (("acme", "a.b", {}), {}),
    "send_batch": (("acme", [{"type": "a.b", "data": {}}]), {}),
    "events": (("acme",), {}),
    "get_event": (("evt_1",), {}),
    "get_delivery": (("dlv_1",), {}),
    "resend": (("dlv_1",), {}),
    "retry": (("dlv_1",), {}),
    "create_portal_link": (("acme",), {}),
}


def test_every_operation_has_a_method_and_every_method_an_operation() -> None:
    assert set(OPERATIONS) == set(OPERATION_ROUTES)
    for name in set(OPERATIONS.values()):
        assert callable(getattr(Client, name, None)), f"Client has no {name}"
        assert callable(getattr(AsyncClient, name, None)), f"AsyncClient has no {name}"


def test_both_clients_have_the_same_methods_with_the_same_signatures() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")
        }

    sync, aio = public(Client), public(AsyncClient)
    assert set(sync) == set(aio)
    for name, signature in sync.items():
        assert list(signature.parameters) == list(aio[name].parameters), name
        for param, spec in signature.parameters.items():
            assert spec.default == aio[name].parameters[param].default, (name, param)


def _sent(name: str) -> list[tuple[str, str]]:
    """The (method, path) of each request ``Client.<name>`` sends for its sample call."""
    seen: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(503, json={"ok": False, "error": {"code": "x", "message": "x"}})

    client = Client(
        "http://hookline.test",
        "hk_x",
        retries=Retries(attempts=0),
        transport=httpx.MockTransport(answer),
    )
    args, kwargs = CALLS[name]

    def call() -> None:
        result = getattr(client, name)(*args, **kwargs)
        if inspect.isgenerator(result):
            next(result)  # a generator sends its first request when first asked

    with client, pytest.raises(ClientError):
        call()
    return seen


def _matches(route: tuple[str, str], sent: tuple[str, str]) -> bool:
    method, template = route
    pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
    return method == sent[0] and re.fullmatch(pattern, sent[1]) is not None


@pytest.mark.parametrize(
    "operation", sorted(set(OPERATIONS) - {"list_webhook_deliveries", "list_workspace_deliveries"})
)
def test_each_method_sends_its_operation(operation: str) -> None:
    [sent] = _sent(OPERATIONS[operation])
    assert _matches(OPERATION_ROUTES[operation], sent), (operation, sent)


@pytest.mark.parametrize(
    ("operation", "scope"),
    [
        ("list_workspace_deliveries", {"workspace_id": "acme"}),
        ("list_webhook_deliveries", {"webhook_id": "wh_1"}),
    ],
)
def test_deliveries_lists_a_workspaces_or_a_webhooks(operation: str, scope: dict[str, str]) -> None:
    seen: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(200, json={"ok": True, "data": [], "nextCursor": None})

    with Client("http://hookline.test", "hk_x", transport=httpx.MockTransport(answer)) as client:
        assert list(client.deliveries(**scope)) == []  # type: ignore[arg-type]
    assert _matches(OPERATION_ROUTES[operation], seen[0]), (operation, seen)


# Each answer model and the schema it reads.
MODELS: dict[type[BaseModel], str] = {
    models.Workspace: "WorkspaceOut",
    models.ApiKey: "ApiKeyOut",
    models.ApiKeyCreated: "ApiKeyCreated",
    models.EventType: "EventTypeOut",
    models.Webhook: "WebhookOut",
    models.Secret: "SecretOut",
    models.EventAccepted: "EventAccepted",
    models.ErrorBody: "ErrorBody",
    models.BatchItem: "BatchItem",
    models.Event: "EventOut",
    models.EventDetail: "EventDetail",
    models.Delivery: "DeliveryOut",
    models.DeliveryDetail: "DeliveryDetail",
    models.RequestRecord: "RequestRecord",
    models.ResponseRecord: "ResponseRecord",
    models.Attempt: "AttemptOut",
    models.Recovered: "RecoverOut",
    models.PortalLink: "PortalLinkOut",
    models.Deleted: "Deleted",
    models.Health: "Health",
}


@pytest.mark.parametrize("model", list(MODELS), ids=lambda m: m.__name__)
def test_each_model_has_the_fields_of_its_schema(model: type[BaseModel]) -> None:
    schema = DOCUMENT["components"]["schemas"][MODELS[model]]
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    assert set(fields) == set(schema["properties"]), MODELS[model]
    required = {alias for alias, info in fields.items() if info.is_required()}
    assert required <= set(schema.get("required", [])), MODELS[model]
