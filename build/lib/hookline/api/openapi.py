"""Print the OpenAPI document: ``python -m hookline.api.openapi > docs/openapi.json``."""

from __future__ import annotations

import json
from typing import Any

from hookline.api.app import create_app
from hookline.service import Context, Services
from hookline.settings import Settings


def document() -> dict[str, Any]:
    """The app's OpenAPI document, built without a database."""
    ctx = Context.build(Settings(), store=None, box=None)  # type: ignore[arg-type]
    return create_app(Services(ctx)).openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
