"""Sandbox-only control routes under /_sandbox: faults, token expiry, payments, webhook replays.

Nothing here exists at Airwallex. Tests, the e2e suite and the benchmark scripts use these to
pay without a browser, to make the API misbehave on cue and to see what was delivered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sessionbook_sandbox.airwallex_api import read_json
from sessionbook_sandbox.airwallex_core import AirwallexSandbox
from sessionbook_sandbox.airwallex_faults import Fault
from sessionbook_sandbox.airwallex_store import APIError


def hook_routes(sandbox: AirwallexSandbox) -> list[Route]:
    async def add_fault(request: Request) -> Response:
        body = await read_json(request)
        fault = Fault(
            path_prefix=_field(body, "path_prefix", str),
            status=_field(body, "status", int, default=503, nullable=True),
            count=_field(body, "count", int, default=1),
            delay_seconds=float(_field(body, "delay_seconds", (int, Decimal), default=0)),
            method=_field(body, "method", str, default=None, nullable=True),
            when=_field(body, "when", str, default="before"),
        )
        if fault.when not in ("before", "after") or fault.count < 1:
            raise APIError(400, "validation_error", "when must be before|after and count >= 1")
        sandbox.faults.add(fault)
        return JSONResponse(fault.to_json(), status_code=201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"items": [fault.to_json() for fault in sandbox.faults.faults]})

    async def clear_faults(request: Request) -> Response:
        sandbox.faults.faults.clear()
        return JSONResponse({"items": []})

    async def expire_tokens(request: Request) -> Response:
        return JSONResponse({"expired": await sandbox.expire_tokens()})

    async def pay(request: Request) -> Response:
        body = await read_json(request)
        outcome = _field(body, "outcome", str, default="succeeded")
        if outcome not in ("succeeded", "failed"):
            raise APIError(
                400, "validation_error", "outcome must be succeeded or failed", "outcome"
            )
        link_id = request.path_params["link_id"]
        intent = await sandbox.attempt_payment(link_id, succeed=outcome == "succeeded")
        return JSONResponse(
            {
                "payment_intent": intent.to_json(),
                "payment_link": sandbox.get_link(link_id).to_json(),
            }
        )

    async def fail_refunds(request: Request) -> Response:
        count = _field(await read_json(request), "count", int, default=1)
        async with sandbox.lock:
            sandbox.store.refund_failures_pending = max(0, count)
        return JSONResponse({"count": count})

    async def behaviour(request: Request) -> Response:
        """Switch behaviours Airwallex does not document either way; reset puts them back."""
        body = await read_json(request)
        name_link = body.get("intents_name_their_link")
        if name_link is not None and not isinstance(name_link, bool):
            raise APIError(
                400, "validation_error", "must be true or false", "intents_name_their_link"
            )
        age = _field(
            body, "webhook_signed_seconds_ago", (int, Decimal), default=None, nullable=True
        )
        if age is not None and age < 0:
            raise APIError(
                400, "validation_error", "must not be negative", "webhook_signed_seconds_ago"
            )
        async with sandbox.lock:
            if name_link is not None:
                sandbox.store.intents_name_their_link = name_link
            if age is not None:
                sandbox.webhooks.signed_seconds_ago = float(age)
            return JSONResponse(
                {
                    "intents_name_their_link": sandbox.store.intents_name_their_link,
                    "webhook_signed_seconds_ago": sandbox.webhooks.signed_seconds_ago,
                }
            )

    async def deliveries(request: Request) -> Response:
        return JSONResponse({"items": [d.to_json() for d in sandbox.webhooks.deliveries]})

    async def events(request: Request) -> Response:
        return JSONResponse({"items": [e.summary() for e in sandbox.webhooks.events.values()]})

    async def resend(request: Request) -> Response:
        event = sandbox.webhooks.events.get(request.path_params["event_id"])
        if event is None:
            raise APIError(404, "resource_not_found", "No such event")
        sandbox.webhooks.start(event)
        return JSONResponse({"id": event.id, "name": event.name}, status_code=202)

    async def stats(request: Request) -> Response:
        store = sandbox.store
        return JSONResponse(
            {
                "logins": store.logins,
                "links": len(store.links),
                "payment_intents": len(store.intents),
                "refunds": len(store.refunds),
                "requests": list(sandbox.faults.requests),
            }
        )

    async def reset(request: Request) -> Response:
        await sandbox.reset()
        return JSONResponse({"reset": True})

    return [
        Route("/_sandbox/faults", add_fault, methods=["POST"]),
        Route("/_sandbox/faults", list_faults, methods=["GET"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
        Route("/_sandbox/pay/{link_id}", pay, methods=["POST"]),
        Route("/_sandbox/refund-failures", fail_refunds, methods=["POST"]),
        Route("/_sandbox/behaviour", behaviour, methods=["POST"]),
        Route("/_sandbox/webhook-deliveries", deliveries, methods=["GET"]),
        Route("/_sandbox/webhook-events", events, methods=["GET"]),
        Route("/_sandbox/webhook-events/{event_id}/resend", resend, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]


def _field(
    body: dict[str, Any],
    key: str,
    kind: type[Any] | tuple[type[Any], ...],
    *,
    default: Any = ...,
    nullable: bool = False,
) -> Any:
    if key not in body:
        if default is ...:
            raise APIError(400, "validation_error", f"{key} must be provided", key)
        return default
    value = body[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise APIError(400, "validation_error", f"{key} has the wrong type", key)
    return value
