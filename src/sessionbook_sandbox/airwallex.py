"""The Airwallex stand-in as one ASGI app, mountable under any prefix (e.g. /sandbox/airwallex).

It serves Airwallex's documented API paths (login, payment links, payment intents, refunds) with
the documented fields, status codes and error bodies, a hosted payment page at
`{public_base_url}/pay/{link_id}`, signed webhooks to `webhook_url`, and sandbox-only control
routes under /_sandbox. State lives in memory. The app is also reachable in code through
`app.state.airwallex` (an AirwallexSandbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from sessionbook_sandbox.airwallex_api import api_routes
from sessionbook_sandbox.airwallex_core import AirwallexSandbox, SandboxConfig
from sessionbook_sandbox.airwallex_faults import FaultMiddleware
from sessionbook_sandbox.airwallex_hooks import hook_routes
from sessionbook_sandbox.airwallex_pages import page_routes
from sessionbook_sandbox.airwallex_store import APIError

TEMPLATES_DIR = Path(__file__).parent / "templates"


def create_airwallex_sandbox(
    *,
    client_id: str,
    api_key: str,
    webhook_url: str | None,
    webhook_secret: str,
    public_base_url: str,
    site_name: str = "the shop",
    return_url: str | None = None,
    token_ttl_seconds: float = 1800.0,
    webhook_retry_delays: Sequence[float] = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0),
    webhook_timeout_seconds: float = 5.0,
    refund_step_seconds: float = 1.0,
) -> Starlette:
    """Build a fresh stand-in.

    `public_base_url` is where this app is reachable (used in link URLs and page forms);
    `return_url` is where the hosted page sends the shopper after paying. Each entry of
    `webhook_retry_delays` is one delivery attempt, made after waiting that many seconds.
    """
    sandbox = AirwallexSandbox(
        SandboxConfig(
            client_id=client_id,
            api_key=api_key,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            public_base_url=public_base_url.rstrip("/"),
            site_name=site_name,
            return_url=return_url,
            token_ttl_seconds=token_ttl_seconds,
            webhook_retry_delays=tuple(webhook_retry_delays) or (0.0,),
            webhook_timeout_seconds=webhook_timeout_seconds,
            refund_step_seconds=refund_step_seconds,
        )
    )
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True)
    )
    templates = Jinja2Templates(env=environment)
    app = Starlette(
        routes=[
            *api_routes(sandbox),
            *page_routes(sandbox, templates),
            *hook_routes(sandbox),
        ],
        middleware=[Middleware(FaultMiddleware, injector=sandbox.faults)],
        exception_handlers={APIError: _api_error, HTTPException: _http_error},
    )
    app.state.airwallex = sandbox
    return app


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = {"code": "not_found", "message": "The requested endpoint does not exist"}
    elif exc.status_code == 405:
        body = {"code": "method_not_allowed", "message": "The method is not allowed here"}
    else:
        body = {"code": "bad_request", "message": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
