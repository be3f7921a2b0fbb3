"""Time the admin insights page at each growth step: its queries, charts and template, in process.

The page is rendered exactly as the route renders it (`load_insights`, `page_context`, the admin
templates) against the growth database, one request after another, for the default period of
twelve weeks ending now, which holds the freshest, fullest weeks of the seeded rows.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sessionbook.admin.insights import default_period
from sessionbook.admin.insights_routes import page_context
from sessionbook.admin.insights_service import load_insights
from sessionbook.admin.pages import AdminSite
from sessionbook.admin.service import AdminService
from sessionbook.core.db import Database, utcnow
from sessionbook.core.settings import Settings

COACH_TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class PageTimes:
    rounds: int
    p50_ms: float
    p99_ms: float
    total_seconds: float
    html_bytes: int


async def time_insights_page(app_url: str, *, rounds: int) -> PageTimes:
    """Render the page `rounds` times after one unmeasured warm-up."""
    settings = Settings(
        database_url=app_url,
        coach_timezone=COACH_TIMEZONE,
        admin_password_hash="$argon2id$v=19$m=1024,t=1,p=1$bench$bench",
        session_secret="b" * 48,
    )
    database = Database(app_url)
    zone = ZoneInfo(COACH_TIMEZONE)
    site = AdminSite.build(settings, AdminService(database=database, coach_timezone=COACH_TIMEZONE))
    timings: list[float] = []
    size = 0
    try:
        for _round in range(rounds + 1):
            started = time.perf_counter()
            now = utcnow()
            found = await load_insights(
                database,
                default_period(now, zone),
                zone=zone,
                currency=settings.currency,
                now=now,
            )
            page = site.page("insights.html", page_context(found), session=None)
            timings.append((time.perf_counter() - started) * 1000)
            size = len(page.body)
    finally:
        await database.dispose()
    measured = sorted(timings[1:])
    return PageTimes(
        rounds=rounds,
        p50_ms=statistics.median(measured),
        p99_ms=measured[min(len(measured) - 1, round(0.99 * (len(measured) - 1)))],
        total_seconds=sum(measured) / 1000,
        html_bytes=size,
    )
