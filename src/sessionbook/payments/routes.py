"""The Airwallex webhook route: hand the raw body and signature headers to the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from sessionbook.core.metrics import record_webhook_delivery
from sessionbook.http.deps import service
from sessionbook.payments.service import PaymentService

router = APIRouter(prefix="/functions/v1")

PaymentsDep = Annotated[PaymentService, Depends(service(PaymentService))]


@router.post("/payment-webhook")
async def payment_webhook(request: Request, payments: PaymentsDep) -> JSONResponse:
    # The raw bytes, not a parsed model: the signature covers exactly what was sent.
    body = await request.body()
    try:
        receipt = await payments.receive_webhook(
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
