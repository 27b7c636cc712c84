"""The running server's configuration, for ``hookline config --url``."""

from __future__ import annotations

from typing import Any

from hookline.api.deps import Svc, Who
from hookline.api.routes.common import v1_router
from hookline.api.schemas import Ok
from hookline.service.configuration import server_configuration

router = v1_router("configuration")


@router.get("/config", response_model=Ok[dict[str, Any]])
async def get_config(svc: Svc, who: Who) -> Ok[dict[str, Any]]:
    """This server's effective configuration (admin key only; 403 for a workspace key).

    Every setting by name (`HOOKLINE_<NAME>` in lower case) as this process runs with it,
    secrets and keys masked (`***`, the database URL's and the SMTP URL's passwords too),
    and under `effective` what they resolve to: `source` (`this server`), `mode`, `database`,
    `admin_key`, `retry_policy` with every field filled in, `role` and
    `dispatcher_processes` (those it runs beside itself)."""
    return Ok(data=server_configuration(who, svc.ctx.settings, svc.ctx.process))
