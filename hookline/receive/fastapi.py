"""A FastAPI (Starlette) dependency that verifies Hookline's deliveries.

    from fastapi import Depends, FastAPI
    from hookline.receive import WebhookEvent
    from hookline.receive.fastapi import WebhookVerifier

    app = FastAPI()
    hookline = WebhookVerifier(secret=os.environ["WEBHOOK_SECRET"])

    @app.post("/webhooks")
    async def receive(event: WebhookEvent = Depends(hookline)) -> dict[str, bool]:
        ...

A refused request gets 400 or 401 with ``{"detail": {"code": …, "message": …}}``.

With ``dedup=`` a store of ``hookline.receive.dedup``, a delivery whose id was claimed
before gets 200 ``{"detail": {"code": "duplicate", "message": …}}`` and the endpoint is not
called; an endpoint that raises releases the claim. The store is called in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from anyio import to_thread
from fastapi import HTTPException, Request

from hookline.receive import Rejected, Verifier, WebhookEvent
from hookline.receive.dedup import DeliveryStore, Duplicate, claim


@dataclass(frozen=True, kw_only=True)
class WebhookVerifier(Verifier):
    dedup: DeliveryStore | None = None

    async def __call__(self, request: Request) -> AsyncIterator[WebhookEvent]:
        body = await request.body()
        try:
            event = self.check(
                dict(request.headers), body, method=request.method, url=str(request.url)
            )
        except Rejected as exc:
            raise HTTPException(
                exc.status, detail={"code": exc.code, "message": exc.message}
            ) from exc
        if self.dedup is None:
            yield event
            return
        try:
            key = await to_thread.run_sync(claim, self.dedup, event)
        except Duplicate as exc:
            # Answered by FastAPI's own handler, before the endpoint runs.
            raise HTTPException(
                exc.status, detail={"code": "duplicate", "message": exc.message}
            ) from exc
        try:
            yield event
        except BaseException:
            if key is not None:
                with anyio.CancelScope(shield=True):
                    await to_thread.run_sync(self.dedup.release, key)
            raise
