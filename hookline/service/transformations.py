"""Trying a webhook's transformation: its code run on an event type's example, nothing sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookline.domain import envelope, jsjson, transformations
from hookline.domain.transformation_rules import UrlRules, read
from hookline.domain.transformations import Cancelled, InvalidResult
from hookline.errors import Invalid, SandboxUnavailable
from hookline.ids import new_id, now_ms
from hookline.sandbox import pool
from hookline.sandbox.pool import SandboxPool, TransformationFailed
from hookline.service.access import Action, Principal
from hookline.service.catalog import Catalog
from hookline.service.context import Context
from hookline.service.webhooks import Webhooks
from hookline.service.workspaces import Workspaces


@dataclass(frozen=True, kw_only=True, slots=True)
class Tried:
    """What the code made of the example: ``given`` is what ``handler`` got; then either the
    request it returned (``body``, ``url``, ``headers``), ``cancelled``, or an ``error``."""

    given: dict[str, Any]
    body: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    cancelled: bool = False
    error: str | None = None


class Transformations:
    def __init__(
        self, ctx: Context, workspaces: Workspaces, catalog: Catalog, webhooks: Webhooks
    ) -> None:
        self.ctx = ctx
        self.workspaces = workspaces
        self.catalog = catalog
        self.webhooks = webhooks
        self._sandbox: SandboxPool | None = None  # started at the first try

    async def try_code(
        self, who: Principal, wh_id: str, *, event_type: str, code: str | None = None
    ) -> Tried:
        """Run ``code`` (default: the webhook's saved transformation) on the latest example of
        ``event_type`` as the webhook would get it; send nothing."""
        wh = await self.webhooks.get(who, wh_id, Action.MANAGE)
        if code is None:
            if wh.transformation is None:
                raise Invalid(
                    "The webhook has no transformation: give the code to try.",
                    code="invalid_transformation",
                )
            code = wh.transformation.code
        checked = transformations.parse({"code": code})
        assert checked is not None
        et = await self.catalog.get(who, event_type)
        example = et.latest_example
        if example is None:
            raise Invalid(
                f"The latest schema version of the event type {et.name!r} has no example.",
                code="no_example",
            )
        ws = await self.workspaces.get(who, wh.workspace_id)
        settings = self.ctx.settings
        fmt = settings.delivery.over(ws.settings.delivery)
        body = envelope.render(
            fmt.envelope,
            event_id=new_id("evt"),
            event_type=et.name,
            workspace_id=ws.id,
            created_at_ms=now_ms(),
            data_json=jsjson.dumps(example),
        )
        given = transformations.webhook_input(
            event_type=et.name, body=body, url=wh.url, headers=wh.headers
        )
        shown = jsjson.loads(given)
        if self._sandbox is None:
            self._sandbox = SandboxPool(settings.sandbox_limits)
        try:
            ran = await self._sandbox.run(checked.code, given)
            result = read(
                ran.output,
                wh,
                rules=UrlRules(
                    allow_http=settings.http_allowed,
                    open_network=settings.dev,
                    allowed=self.ctx.allowed_networks,
                ),
                brand=fmt.brand,
            )
        except (TransformationFailed, InvalidResult) as exc:
            return Tried(given=shown, error=str(exc))
        except pool.SandboxUnavailable as exc:
            raise SandboxUnavailable() from exc
        if isinstance(result, Cancelled):
            return Tried(given=shown, cancelled=True)
        return Tried(given=shown, body=result.body, url=result.url, headers=result.headers)

    async def close(self) -> None:
        if self._sandbox is not None:
            await self._sandbox.close()
