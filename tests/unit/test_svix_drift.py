"""Every operation of Svix's open-source server (``svix_operations.txt``, from its OpenAPI
document) has a route under /api/v1, or docs/svix.md says it is not offered and why."""

from __future__ import annotations

import re
from pathlib import Path

import fastapi.routing

from hookline.api.svix import ROUTERS

HERE = Path(__file__).parent
DOC = HERE.parents[1] / "docs" / "svix.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`]*)` \| (yes|no)(.*)\|$")


def _operations() -> set[str]:
    return {line.strip() for line in (HERE / "svix_operations.txt").read_text().splitlines()}


def _table() -> dict[str, tuple[bool, str]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        found = ROW.match(line)
        if found:
            method, path, offered, why = found.groups()
            rows[f"{method} {path}"] = (offered == "yes", why.strip(" :"))
    return rows


def _routes() -> set[str]:
    flatten = getattr(fastapi.routing, "iter_route_contexts", lambda routes: routes)
    return {
        f"{method} {route.path}"
        for router in ROUTERS
        for route in flatten(router.routes)
        for method in route.methods
        if method != "HEAD"
    }


def test_the_operation_list_is_svix_core() -> None:
    assert len(_operations()) == 41


def test_the_doc_names_every_operation_once() -> None:
    assert set(_table()) == _operations()


def test_every_offered_operation_has_a_route_and_no_other() -> None:
    offered = {op for op, (yes, _why) in _table().items() if yes}
    assert offered == _routes()


def test_every_operation_not_offered_says_why() -> None:
    for op, (yes, why) in _table().items():
        assert yes or len(why) > 20, f"{op}: say why it is not offered"
