"""The /admin/insights page: a period's bookings, money, funnel and sessions, as SVG and tables."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sessionbook.admin.charts import BarChart, grouped_bars, heat_map_chart
from sessionbook.admin.insights import WEEKDAYS, Insights, PeriodError, parse_period
from sessionbook.admin.insights_service import load_insights
from sessionbook.admin.routes import ADMIN_DEPENDENCIES, require_admin
from sessionbook.core.money import format_money, minor_units

router = APIRouter(
    prefix="/admin/insights", include_in_schema=False, dependencies=ADMIN_DEPENDENCIES
)

COUNTED = ("created", "paid", "scheduled", "cancelled", "expired")


@router.get("")
async def insights_page(request: Request) -> Response:
    site, session = require_admin(request)
    now = site.service.clock()
    raw_from = request.query_params.get("from")
    raw_to = request.query_params.get("to")
    form = {"from": raw_from or "", "to": raw_to or ""}
    try:
        period = parse_period(raw_from, raw_to, now, site.zone)
    except PeriodError as error:
        context: dict[str, Any] = {"insights": None, "form": form, "notice": ("error", str(error))}
        return site.page("insights.html", context, session=session, status_code=400)
    found = await load_insights(
        site.service.database, period, zone=site.zone, currency=site.settings.currency, now=now
    )
    return site.page("insights.html", page_context(found), session=session)


def page_context(found: Insights) -> dict[str, Any]:
    """What insights.html needs beside the admin's common context (the benchmark renders it too)."""
    period = found.period
    return {
        "notice": None,
        "insights": found,
        "form": {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()},
        "charts": charts(found),
        "weekdays": WEEKDAYS,
        "duration": duration_text,
        "percent": percent_text,
    }


def duration_text(span: timedelta | None) -> str:
    """ "2 d 3 h", "5 h 20 min", "none yet": how long, as a coach reads it."""
    if span is None:
        return "none yet"
    minutes = round(span.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def percent_text(share: float | None) -> str:
    return "" if share is None else f"{share:.0%}"


def axis_money(cents: float, currency: str) -> str:
    """An axis label: "$600" rather than "$600.00" when the amount is whole."""
    text = format_money(round(cents), currency)
    digits = minor_units(currency)
    if digits == 0 or round(cents) % 10**digits:
        return text
    return re.sub(rf"[.,]0{{{digits}}}(?=\D*$)", "", text)


def charts(insights: Insights) -> dict[str, Any]:
    """The pictures of the page; each template pairs one with a table of the same numbers."""
    labels = [f"{figures.week.monday:%d %b}" for figures in insights.weeks]
    currency = insights.currency

    def money(cents: float) -> str:
        return format_money(round(cents), currency)

    def short_money(cents: float) -> str:
        return axis_money(cents, currency)

    bookings: BarChart = grouped_bars(
        labels,
        [
            (name.capitalize(), [getattr(figures, name) for figures in insights.weeks])
            for name in COUNTED
        ],
    )
    revenue = grouped_bars(
        labels,
        [
            ("Gross", [figures.gross_cents for figures in insights.weeks]),
            ("Refunded", [figures.refunded_cents for figures in insights.weeks]),
            ("Net", [figures.net_cents for figures in insights.weeks]),
        ],
        value_label=money,
        tick_label=short_money,
    )
    funnel = grouped_bars(
        [step.name for step in insights.funnel],
        [("Bookings", [step.count for step in insights.funnel])],
    )
    packages = grouped_bars(
        [money_row.label for money_row in insights.packages],
        [
            ("Gross", [row.gross_cents for row in insights.packages]),
            ("Refunded", [row.refunded_cents for row in insights.packages]),
            ("Net", [row.net_cents for row in insights.packages]),
        ],
        value_label=money,
        tick_label=short_money,
    )
    return {
        "bookings": bookings,
        "revenue": revenue,
        "funnel": funnel,
        "packages": packages,
        "heat_map": heat_map_chart(insights.heat_map, WEEKDAYS),
    }
