"""The Airwallex webhook route: hand the raw body and signature headers to the service."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sessionbook.core.metrics import record_webhook_delivery
from sessionbook.http.deps import ServicesDep

router = APIRouter(prefix="/functions/v1")


@router.post("/payment-webhook")
async def payment_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    # The raw bytes, not a parsed model: the signature covers exactly what was sent.
    body = await request.body()
    try:
        receipt = await services.payment_service.receive_webhook(
            body,
            timestamp=request.headers.get("x-timestamp"),
            signature=request.headers.get("x-signature"),
        )
    except Exception as error:
        record_webhook_delivery(body, error_code=getattr(error, "code", None) or "failed")
        raise
    record_webhook_delivery(body, state=receipt.state)
    # Airwallex counts exactly HTTP 200 as delivered.
    return JSONResponse({"received": True, "state": receipt.state}, status_code=200)
