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
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from hookline.receive import Rejected, Verifier, WebhookEvent


@dataclass(frozen=True, kw_only=True)
class WebhookVerifier(Verifier):
    async def __call__(self, request: Request) -> WebhookEvent:
        body = await request.body()
        try:
            return self.check(
                dict(request.headers), body, method=request.method, url=str(request.url)
            )
        except Rejected as exc:
            raise HTTPException(
                exc.status, detail={"code": exc.code, "message": exc.message}
            ) from exc
