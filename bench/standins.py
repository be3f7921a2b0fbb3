"""uvicorn factories for the provider stand-ins, each run as its own process during a bench.

The server under test is pointed at them as if they were the live APIs (credentials set,
base URLs pointing here), so the provider clients do exactly what they do in production.
Configuration comes from BENCH_* variables that bench/run.py sets for the child.
"""

from __future__ import annotations

import os
from datetime import time

from starlette.applications import Starlette

from sessionbook.core.settings import SANDBOX_EVENT_TYPE_IDS, PackageId
from sessionbook_sandbox.airwallex import create_airwallex_sandbox

AIRWALLEX_CLIENT_ID = "bench-client-id"
AIRWALLEX_API_KEY = "bench-api-key"
WEBHOOK_SECRET = "bench-webhook-secret"
CAL_API_KEY = "cal_bench_key"
EVENT_TYPE_IDS = dict(SANDBOX_EVENT_TYPE_IDS)
EVENT_LENGTHS: dict[PackageId, int] = {
    "discovery": 30,
    "single": 60,
    "monthly": 60,
    "quarterly": 60,
}


def airwallex() -> Starlette:
    """The Airwallex stand-in. It sends no webhooks: the bench signs and sends its own."""
    return create_airwallex_sandbox(
        client_id=AIRWALLEX_CLIENT_ID,
        api_key=AIRWALLEX_API_KEY,
        webhook_url=None,
        webhook_secret=WEBHOOK_SECRET,
        public_base_url=os.environ["BENCH_PUBLIC_URL"],
    )


def cal() -> Starlette:
    """The Cal.com stand-in, open around the clock so that thousands of slots are free."""
    from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox

    whole_day = ((time(0), time(0)),)
    return create_cal_sandbox(
        api_key=CAL_API_KEY,
        event_types={
            EVENT_TYPE_IDS[package]: EventTypeSpec(
                length_minutes=length, title=package.title(), slug=package
            )
            for package, length in EVENT_LENGTHS.items()
        },
        host_time_zone="UTC",
        weekly_hours=dict.fromkeys(range(7), whole_day),
        booking_horizon_days=365,
        public_base_url=os.environ["BENCH_PUBLIC_URL"],
    )
