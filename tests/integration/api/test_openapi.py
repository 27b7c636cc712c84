"""The OpenAPI document is a product: committed, complete, and the app's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.app import Api

from hookline.api.openapi import document, render

COMMITTED = Path(__file__).parents[3] / "docs" / "openapi.json"
PUBLIC = {"/healthz", "/readyz", "/metrics"}
ERRORS_EVERYWHERE = {"400", "401", "403", "404", "422"}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_committed_document_matches_the_app() -> None:
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi`"
    committed = json.loads(COMMITTED.read_text())
    current = json.loads(render())
    if committed != current:
        changed = sorted(
            {p for p in committed["paths"].keys() ^ current["paths"].keys()}
            | {p for p in committed["paths"] if committed["paths"][p] != current["paths"].get(p)}
        )
        raise AssertionError(
            "docs/openapi.json differs from the app's OpenAPI document: run `make openapi` "
            f"and commit the result (changed paths: {changed or 'components/info'})"
        )
    assert COMMITTED.read_text() == render(), (
        "docs/openapi.json is not formatted: run `make openapi`"
    )


async def test_served_document_is_the_rendered_one(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(render())


def test_every_operation_is_described() -> None:
    missing = [
        f"{method} {path}"
        for method, path, op in operations(document())
        if not op.get("summary") or not op.get("description") or not op.get("tags")
    ]
    assert not missing, f"operations without a summary, description or tag: {missing}"


def test_operation_ids_are_unique_and_readable() -> None:
    ids = [op["operationId"] for _, _, op in operations(document())]
    assert len(ids) == len(set(ids))
    assert all(i.isidentifier() and "_v1_" not in i for i in ids), ids


def test_every_operation_documents_its_error_responses() -> None:
    doc = document()
    error_ref = "#/components/schemas/ErrorResponse"
    problems = []
    for method, path, op in operations(doc):
        responses = op["responses"]
        if not any(code.startswith("2") for code in responses):
            problems.append(f"{method} {path}: no success response")
        for code, response in responses.items():
            if not response.get("description"):
                problems.append(f"{method} {path} {code}: no description")
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if code.startswith("4") and schema.get("$ref") != error_ref:
                problems.append(f"{method} {path} {code}: not the error envelope")
        if path in PUBLIC:
            continue
        missing = ERRORS_EVERYWHERE - responses.keys()
        if missing:
            problems.append(f"{method} {path}: undocumented errors {sorted(missing)}")
        if op.get("security") != [{"bearer": []}]:
            problems.append(f"{method} {path}: bearer auth is not documented")
        if method in ("POST", "PATCH", "PUT") and "requestBody" in op and "413" not in responses:
            problems.append(f"{method} {path}: 413 is not documented")
    assert not problems, "\n".join(problems)


def test_the_error_envelope_is_documented() -> None:
    schemas = document()["components"]["schemas"]
    envelope = schemas["ErrorResponse"]
    assert {"error"} <= set(envelope["required"])
    assert envelope["properties"]["ok"]["const"] is False
    body = schemas["ErrorBody"]
    assert set(body["required"]) == {"code", "message"}
    assert "details" in body["properties"]
    assert document()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_public_routes_need_no_key() -> None:
    doc = document()
    for path in PUBLIC:
        assert "security" not in doc["paths"][path]["get"], path
