"""The pages' Jinja2 environment and their static files, with content-hashed URLs."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from sessionbook.branding.profile import BrandProfile
from sessionbook.branding.routes import theme_url
from sessionbook.branding.service import BrandService
from sessionbook.catalog.models import Package
from sessionbook.core import i18n
from sessionbook.core.settings import Settings
from sessionbook.http.language import LANG_PARAM
from sessionbook.web.formatting import format_duration, format_price, format_sessions
from sessionbook.web.timezones import zone_picker

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"


@cache
def _file_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """`/static/name?v=hash`: a new file gets a new URL, so caches never serve a stale one."""
    return f"{STATIC_PREFIX}/{name}?v={_file_version(name)}"


def build_templates(settings: Settings) -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install_gettext(environment)
    environment.globals.update(
        static_url=static_url,
        sandbox=settings.sandbox,
        payments_sandbox=not settings.payments_live,
        package_gives=_package_gives,
        current_locale=i18n.current_locale,
        language_links=language_links,
        brand_theme_url=theme_url,
        zone_picker=zone_picker,
    )
    environment.filters.update(money=format_price, duration=format_duration)
    return Jinja2Templates(env=environment)


def render(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context.setdefault("csrf_token", None)
    context.setdefault("notice", None)
    context.setdefault("lang_keep", None)
    context.setdefault("brand", brand_of(request))
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    assert isinstance(response, HTMLResponse)
    return response


class LanguageLink(NamedTuple):
    locale: str
    name: str
    href: str
    current: bool


# Never copied into a switcher link: a booking token must not travel in a URL it was not sent in.
_DROPPED_PARAMS = frozenset({LANG_PARAM, "token"})


def language_links(request: Request, keep: dict[str, str] | None = None) -> list[LanguageLink]:
    """The switcher: this page in each language, with its query kept (`keep` sets more of it)."""
    kept = {k: v for k, v in (keep or {}).items() if k not in _DROPPED_PARAMS}
    params = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in _DROPPED_PARAMS and k not in kept
    ]
    params += kept.items()
    current = i18n.current_locale()
    # One leading slash, the rest percent-encoded: the 404 page of "//elsewhere.example" or
    # of "/\elsewhere.example" must not link off the site.
    path = quote("/" + request.url.path.lstrip("/\\"))
    links = []
    for locale in i18n.SUPPORTED_LOCALES:
        query = urlencode([*params, (LANG_PARAM, locale)])
        links.append(
            LanguageLink(
                locale=locale,
                name=i18n.LANGUAGE_NAMES[locale],
                href=f"{path}?{query}",
                current=locale == current,
            )
        )
    return links


def brand_of(request: Request) -> BrandProfile:
    """The brand this request's pages show (see `web.deps.load_brand`).

    A page rendered without that dependency (the 404 and 503 pages, which an error may bring
    before any dependency ran) shows the last brand this server read, without a query.
    """
    loaded = getattr(request.state, "brand", None)
    if isinstance(loaded, BrandProfile):
        return loaded
    registry: dict[type, object] = getattr(request.app.state, "service_registry", {})
    source = registry.get(BrandService)
    return source.last_known() if isinstance(source, BrandService) else BrandProfile()


def _package_gives(package: Package) -> str:
    """The package's sessions, their length and validity, as its choice and summary say it."""
    return format_sessions(package.sessions, package.duration_minutes, package.valid_days)
