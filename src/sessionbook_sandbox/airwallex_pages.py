"""The stand-in's hosted payment page: shows a link and lets a person pay or decline it.

The real page (https://pay.airwallex.com/...) collects card details; this one has two buttons.
It works without JavaScript (plain POST forms) so a strict Content-Security-Policy holds, and
it never sends a Referer. Payment links have no documented return URL, so the page offers the
one the sandbox was configured with.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from sessionbook_sandbox.airwallex_core import AirwallexSandbox
from sessionbook_sandbox.airwallex_money import display_amount
from sessionbook_sandbox.airwallex_store import LINK_PAID, APIError, LinkRecord, utcnow

CSS_PATH = "/assets/airwallex-sandbox.css"
_CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}
.sandbox-notice{margin:0;padding:.75rem 1rem;background:#ffe08a;border-bottom:2px solid #c99a00}
.card{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.5rem;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
.link-title{font-size:1.6rem;line-height:1.25;margin:0 0 .5rem;overflow-wrap:anywhere}
.amount{font-size:2rem;font-weight:700;margin:.5rem 0 1rem}
.actions{display:flex;gap:.75rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #555;cursor:pointer}
.pay{background:#612fff;color:#fff;border-color:#612fff}
.banner{padding:.6rem;border-radius:.4rem}
.banner-error{background:#fde2e1}.banner-ok{background:#dff5e3}.banner-info{background:#e8eefc}
.hint{color:#555;font-size:.9rem}
"""


def page_routes(sandbox: AirwallexSandbox, templates: Jinja2Templates) -> list[Route]:
    base = sandbox.config.public_base_url
    return_url = sandbox.config.return_url

    def render(
        request: Request,
        link: LinkRecord | None,
        *,
        status_code: int = 200,
        banner: str | None = None,
        banner_kind: str = "info",
    ) -> Response:
        state = "missing"
        if link is not None:
            problem = link.payable_problem(utcnow())
            state = (
                "payable" if problem is None else "paid" if link.status == LINK_PAID else "closed"
            )
            if problem is not None and banner is None:
                banner, banner_kind = problem, "ok" if state == "paid" else "error"
        context: dict[str, Any] = {
            "site_name": sandbox.config.site_name,
            "heading": link.title if link else "Payment link not found",
            "description": link.description if link else None,
            "amount": display_amount(link.amount, link.currency) if link else None,
            "state": state,
            "banner": banner,
            "banner_kind": banner_kind,
            "form_action": f"{base}/pay/{link.id}" if link else "",
            "css_url": f"{base}{CSS_PATH}",
            "return_url": return_url,
        }
        response = templates.TemplateResponse(
            request, "airwallex_pay.html", context, status_code=status_code
        )
        _protect(response, return_url)
        return response

    async def show(request: Request) -> Response:
        link = sandbox.store.links.get(request.path_params["link_id"])
        result = request.query_params.get("result")
        if link is None:
            return render(request, None, status_code=404)
        if result == "declined" and link.payable_problem(utcnow()) is None:
            return render(
                request,
                link,
                banner="The card was declined. You can try again.",
                banner_kind="error",
            )
        return render(request, link)

    async def submit(request: Request) -> Response:
        link_id = request.path_params["link_id"]
        action = (await request.form()).get("action")
        link = sandbox.store.links.get(link_id)
        if link is None:
            return render(request, None, status_code=404)
        if action not in ("pay", "decline"):
            return render(request, link, status_code=400, banner="Choose Pay or Decline.")
        try:
            await sandbox.attempt_payment(link_id, succeed=action == "pay")
        except APIError as exc:
            return render(request, link, status_code=409, banner=exc.message, banner_kind="error")
        if action == "decline":
            target = f"{base}/pay/{link_id}?result=declined"
        else:
            target = return_url or f"{base}/pay/{link_id}"
        response = RedirectResponse(target, status_code=303)
        _protect(response, return_url)
        return response

    async def stylesheet(request: Request) -> Response:
        return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    return [
        Route("/pay/{link_id}", show, methods=["GET"]),
        Route("/pay/{link_id}", submit, methods=["POST"]),
        Route(CSS_PATH, stylesheet, methods=["GET"]),
    ]


def _protect(response: Response, return_url: str | None) -> None:
    form_targets = "'self'"
    if return_url:
        parts = urlsplit(return_url)
        # Browsers apply form-action to the redirect that follows the POST, too.
        form_targets += f" {parts.scheme}://{parts.netloc}"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {form_targets}; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
