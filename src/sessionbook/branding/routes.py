"""The brand's public files: the coach's photo and the stylesheet that carries the accent colour.

Both are addressed by a version (`?v=`) that changes with their content, so a browser may keep
the versioned answer forever; an old or missing version gets the current content, briefly
cached, so a page cached before a change still shows something sensible.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sessionbook.branding.service import BrandService
from sessionbook.core.errors import NotFound
from sessionbook.http.deps import service

router = APIRouter(prefix="/brand", include_in_schema=False)

BrandDep = Annotated[BrandService, Depends(service(BrandService))]

PHOTO_PATH = "/brand/photo"
THEME_PATH = "/brand/theme.css"
FOREVER = "public, max-age=31536000, immutable"
# An unversioned or outdated address: the current content, rechecked within a minute.
BRIEFLY = "public, max-age=60"


def theme_url(accent_color: str) -> str:
    """The versioned address of the stylesheet for this accent colour."""
    return f"{THEME_PATH}?v={accent_color.removeprefix('#')}"


def theme_css(accent_color: str) -> str:
    """`--accent` on the root element; book.css derives its shades and uses it."""
    return f":root {{ --accent: {accent_color}; }}\n"


@router.get("/photo")
async def brand_photo(request: Request, brand: BrandDep) -> Response:
    stored = await brand.photo()
    if stored is None:
        raise NotFound("No photo has been set.")
    etag = f'"{stored.version}"'
    cache = FOREVER if request.query_params.get("v") == stored.version else BRIEFLY
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(stored.data, media_type=stored.content_type, headers=headers)


@router.get("/theme.css")
async def brand_theme(request: Request, brand: BrandDep) -> Response:
    accent = (await brand.current()).accent_color
    versioned = request.query_params.get("v") == accent.removeprefix("#")
    headers = {
        "Cache-Control": FOREVER if versioned else BRIEFLY,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(theme_css(accent), media_type="text/css", headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison: any listed tag (W/ or not) equal to ours, or `*`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
