"""A cookie-keeping HTTP client that behaves like the booking pages' browser."""

from __future__ import annotations

import re
from typing import Any

import httpx

from sessionbook.web.session import CSRF_FIELD, CSRF_HEADER

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')

FREE = {
    "packageId": "discovery",
    "customerName": "Ada Lovelace",
    "customerEmail": "ada@example.com",
}
PAID = {"packageId": "single", "customerName": "Ada Lovelace", "customerEmail": "ada@example.com"}


def csrf_from(html: str) -> str:
    match = _META_CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def create_booking(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/functions/v1/booking-create", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def open_link(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """What a customer does with their link: open /book?token=..., land on the clean /book."""
    response = await client.get("/book", params={"token": token}, follow_redirects=True)
    return response


async def page_csrf(client: httpx.AsyncClient, path: str = "/book") -> str:
    return csrf_from((await client.get(path)).text)


async def post_details(
    client: httpx.AsyncClient, fields: dict[str, str], *, csrf: str | None = None
) -> httpx.Response:
    token = csrf if csrf is not None else await page_csrf(client, "/book/details?package=single")
    return await client.post("/book/details", data=fields | {CSRF_FIELD: token})


async def post_json(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], *, csrf: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={CSRF_HEADER: csrf})
