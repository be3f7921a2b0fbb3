"""HTTP routes of the Airwallex stand-in: the documented paths, parameters and answer codes.

Paths and codes from the OpenAPI spec (github.com/airwallex/airwallex-openapi): login 201,
create link 200, refund create 201, everything else 200; list answers are {has_more, items}
with `page_num` (from 0) and `page_size`. Bad input answers 400 {code: "validation_error",
source: <field>, message}; an unknown id answers 404 {code: "resource_not_found"}.

Every call may carry `x-api-version`; without it the account's pinned version applies, which
for the stand-in is SERVED_API_VERSION. Any other value is refused with 400 validation_error
(source `x-api-version`). Airwallex documents no body for an unknown version; for a real but
different version it would answer in that version's shapes, which the stand-in does not model,
so refusing is better than answering a client in shapes it did not ask for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sessionbook_sandbox.airwallex_contract import (
    API_KEY_HEADER,
    API_VERSION_HEADER,
    CLIENT_ID_HEADER,
    SERVED_API_VERSION,
)
from sessionbook_sandbox.airwallex_core import AirwallexSandbox
from sessionbook_sandbox.airwallex_money import (
    has_too_many_decimals,
    is_currency_code,
    is_too_precise_for_json,
)
from sessionbook_sandbox.airwallex_store import APIError, utcnow

Handler = Callable[[Request], Any]


def api_routes(sandbox: AirwallexSandbox) -> list[Route]:
    """The /api/v1 routes, bound to one sandbox."""

    def authed(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            sandbox.check_bearer(request.headers.get("authorization"))
            check_api_version(request)
            result: Response = await handler(request)
            return result

        return guarded

    async def login(request: Request) -> Response:
        check_api_version(request)
        answer = await sandbox.login(
            request.headers.get(CLIENT_ID_HEADER), request.headers.get(API_KEY_HEADER)
        )
        return JSONResponse(answer, status_code=201)

    async def create_link(request: Request) -> Response:
        body = await read_json(request)
        if "supported_currencies" in body or "default_currency" in body:
            raise APIError(
                400,
                "validation_error",
                "Flexible pricing is not supported by the sandbox; send amount and currency",
                source="supported_currencies",
            )
        if body.get("customer_id"):
            raise APIError(400, "resource_not_found", "The customer_id cannot be found")
        currency = _currency(body)
        expires_at = _optional_time(body.get("expires_at"), "expires_at")
        if expires_at is not None and expires_at <= utcnow():
            raise APIError(
                400, "validation_error", "expires_at must be in the future", "expires_at"
            )
        link = await sandbox.create_link(
            title=_text(body, "title", required=True, max_length=200) or "",
            description=_text(body, "description", max_length=500),
            amount=_amount(body, currency),
            currency=currency,
            reusable=_flag(body, "reusable"),
            reference=_text(body, "reference", max_length=200),
            metadata=_metadata(body),
            expires_at=expires_at,
        )
        return JSONResponse(link.to_json())

    async def get_link(request: Request) -> Response:
        return JSONResponse(sandbox.get_link(request.path_params["id"]).to_json())

    async def deactivate_link(request: Request) -> Response:
        link = await sandbox.set_link_active(request.path_params["id"], False)
        return JSONResponse(link.to_json())

    async def activate_link(request: Request) -> Response:
        link = await sandbox.set_link_active(request.path_params["id"], True)
        return JSONResponse(link.to_json())

    async def list_links(request: Request) -> Response:
        query = request.query_params
        items = [
            link.to_json()
            for link in reversed(sandbox.store.links.values())
            if _matches_flag(query.get("active"), link.active, "active")
            and _matches_flag(query.get("reusable"), link.reusable, "reusable")
            and _matches_any(query.get("status"), link.status)
            and _in_window(query, link.created_at)
        ]
        return JSONResponse(_page(items, query, default_size=100))

    async def get_intent(request: Request) -> Response:
        return JSONResponse(sandbox.get_intent(request.path_params["id"]).to_json())

    async def list_intents(request: Request) -> Response:
        query = request.query_params
        items = [
            intent.to_json()
            for intent in reversed(sandbox.store.intents.values())
            if _matches_any(query.get("merchant_order_id"), intent.merchant_order_id)
            and _matches_any(query.get("status"), intent.status)
            and _matches_any(query.get("currency"), intent.currency)
            and _in_window(query, intent.created_at)
        ]
        return JSONResponse(_page(items, query, default_size=10))

    async def create_refund(request: Request) -> Response:
        body = await read_json(request)
        intent_id = _text(body, "payment_intent_id", max_length=64)
        attempt_id = _text(body, "payment_attempt_id", max_length=64)
        if not intent_id and not attempt_id:
            raise APIError(
                400,
                "validation_error",
                "payment_intent_id or payment_attempt_id must be provided",
                "payment_intent_id",
            )
        amount = None
        if body.get("amount") is not None:
            # An unknown intent is a 400 `resource_not_found` here, as documented for refunds.
            currency = sandbox.intent_for_refund(intent_id, attempt_id).currency
            amount = _amount(body, currency)
        refund = await sandbox.create_refund(
            request_id=_text(body, "request_id", required=True, max_length=64) or "",
            payment_intent_id=intent_id,
            payment_attempt_id=attempt_id,
            amount=amount,
            reason=_text(body, "reason", max_length=128),
            metadata=_metadata(body),
        )
        return JSONResponse(refund.to_json(), status_code=201)

    async def get_refund(request: Request) -> Response:
        return JSONResponse(sandbox.get_refund(request.path_params["id"]).to_json())

    async def list_refunds(request: Request) -> Response:
        query = request.query_params
        items = [
            refund.to_json()
            for refund in reversed(sandbox.store.refunds.values())
            if _matches_any(query.get("payment_intent_id"), refund.payment_intent_id)
            and _matches_any(query.get("payment_attempt_id"), refund.payment_attempt_id)
            and _matches_any(query.get("status"), refund.status)
            and _matches_any(query.get("currency"), refund.currency)
            and _in_window(query, refund.created_at)
        ]
        return JSONResponse(_page(items, query, default_size=10))

    links = "/api/v1/pa/payment_links"
    return [
        Route("/api/v1/authentication/login", login, methods=["POST"]),
        Route(f"{links}/create", authed(create_link), methods=["POST"]),
        Route(links, authed(list_links), methods=["GET"]),
        Route(f"{links}/{{id}}", authed(get_link), methods=["GET"]),
        Route(f"{links}/{{id}}/deactivate", authed(deactivate_link), methods=["POST"]),
        Route(f"{links}/{{id}}/activate", authed(activate_link), methods=["POST"]),
        Route("/api/v1/pa/payment_intents", authed(list_intents), methods=["GET"]),
        Route("/api/v1/pa/payment_intents/{id}", authed(get_intent), methods=["GET"]),
        Route("/api/v1/pa/refunds/create", authed(create_refund), methods=["POST"]),
        Route("/api/v1/pa/refunds", authed(list_refunds), methods=["GET"]),
        Route("/api/v1/pa/refunds/{id}", authed(get_refund), methods=["GET"]),
    ]


def check_api_version(request: Request) -> None:
    """Refuse a call that asks for a contract other than the one the stand-in serves."""
    requested = request.headers.get(API_VERSION_HEADER)
    if requested is None or requested == SERVED_API_VERSION:
        return
    raise APIError(
        400,
        "validation_error",
        f"API version {requested!r} is not served here; this account uses {SERVED_API_VERSION}",
        source=API_VERSION_HEADER,
    )


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object body (empty when there is none), numbers with decimals kept exact."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise APIError(400, "validation_error", "The request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise APIError(400, "validation_error", "The request body must be a JSON object")
    return data


def _invalid(source: str, message: str) -> APIError:
    return APIError(400, "validation_error", message, source)


def _text(
    body: Mapping[str, Any], key: str, *, required: bool = False, max_length: int
) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise _invalid(key, f"{key} must be provided")
        return None
    if not isinstance(value, str):
        raise _invalid(key, f"{key} must be a string")
    if len(value) > max_length:
        raise _invalid(key, f"{key} must be at most {max_length} characters")
    return value


def _flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise _invalid(key, f"{key} must be provided as true or false")
    return value


def _currency(body: Mapping[str, Any]) -> str:
    value = body.get("currency")
    if not is_currency_code(value):
        raise _invalid("currency", "currency must be provided as an upper-case ISO 4217 code")
    return value


def _amount(body: Mapping[str, Any], currency: str) -> Decimal:
    value = body.get("amount")
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _invalid("amount", "amount must be provided as a number")
    amount = Decimal(value)
    if amount <= 0:
        raise _invalid("amount", "amount must be greater than 0")
    if has_too_many_decimals(amount, currency):
        raise _invalid("amount", f"amount has more decimal places than {currency} allows")
    if is_too_precise_for_json(amount):
        raise _invalid("amount", "amount has too many digits")
    return amount


def _metadata(body: Mapping[str, Any]) -> dict[str, str]:
    value = body.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise _invalid("metadata", "metadata must be an object of string values")
    return dict(value)


def _optional_time(value: object, source: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid(source, f"{source} must be an ISO 8601 date-time with a time zone")
    return parsed


def _matches_flag(raw: str | None, actual: bool, source: str) -> bool:
    if raw is None:
        return True
    if raw not in ("true", "false"):
        raise _invalid(source, f"{source} must be true or false")
    return (raw == "true") == actual


def _matches_any(raw: str | None, actual: str | None) -> bool:
    # Airwallex's own example filters with "SETTLED,ACCEPTED".
    return raw is None or actual in raw.split(",")


def _in_window(query: Mapping[str, str], created_at: datetime) -> bool:
    start = _optional_time(query.get("from_created_at"), "from_created_at")
    end = _optional_time(query.get("to_created_at"), "to_created_at")
    return (start is None or created_at >= start) and (end is None or created_at < end)


def _page(items: list[dict[str, Any]], query: Mapping[str, str], *, default_size: int) -> Any:
    try:
        page_num = int(query.get("page_num", "0"))
        page_size = min(int(query.get("page_size", str(default_size))), 1000)
    except ValueError as exc:
        raise _invalid("page_num", "page_num and page_size must be integers") from exc
    if page_num < 0 or page_size < 1:
        raise _invalid("page_size", "page_num must be 0 or more and page_size 1 or more")
    start = page_num * page_size
    return {"has_more": start + page_size < len(items), "items": items[start : start + page_size]}
