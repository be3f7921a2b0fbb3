"""Webhook events of the Airwallex stand-in: built, signed and delivered the way Airwallex does.

Documented behaviour (https://www.airwallex.com/docs/developer-tools/webhooks/listen-for-webhook-events
and .../payload-examples): an event is {id, name, account_id, data, created_at, version}, for
payment objects `data` is {"object": <the API object>}; it is POSTed as JSON with `x-timestamp`
(Unix ms) and `x-signature` = hex HMAC-SHA256(secret, x-timestamp + raw body). The receiver
must answer 200; otherwise Airwallex delivers again later. The same event keeps its id and body
on every delivery, so receivers deduplicate by id. Whether a retry carries a fresh
`x-timestamp` is not documented; here each attempt is signed afresh, unless a test sets
`signed_seconds_ago` to sign deliveries as if made that long ago (a retry that reuses an old
timestamp, or a delivery stuck in a queue).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from sessionbook_sandbox.airwallex_signing import delivery_headers, now_ms
from sessionbook_sandbox.airwallex_store import timestamp, utcnow


@dataclass
class EventRecord:
    id: str
    name: str
    body: bytes  # the exact bytes sent (and signed) on every delivery
    created_at: datetime
    delivered: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "delivered": self.delivered,
            "payload": json.loads(self.body),
        }


@dataclass(frozen=True)
class DeliveryRecord:
    event_id: str
    event_name: str
    attempt: int
    url: str | None
    status_code: int | None
    error: str | None
    at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_name": self.event_name,
            "attempt": self.attempt,
            "url": self.url,
            "status_code": self.status_code,
            "error": self.error,
            "at": self.at,
        }


@dataclass
class WebhookDispatcher:
    """Keeps every event, delivers each in a background task with bounded, spaced retries."""

    url: str | None
    secret: str
    retry_delays: Sequence[float]
    timeout_seconds: float
    account_id: str
    version: str
    signed_seconds_ago: float = 0.0
    events: dict[str, EventRecord] = field(default_factory=dict)
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def publish(self, name: str, obj: dict[str, Any]) -> EventRecord:
        """Record an event about `obj` and start delivering it; call from the event loop."""
        now = utcnow()
        event_id = f"evt_{uuid.uuid4().hex}"
        payload = {
            "id": event_id,
            "name": name,
            "account_id": self.account_id,
            "data": {"object": obj},
            "created_at": timestamp(now),
            "version": self.version,
        }
        event = EventRecord(
            id=event_id,
            name=name,
            body=json.dumps(payload, separators=(",", ":")).encode("utf-8"),
            created_at=now,
        )
        self.events[event.id] = event
        self.start(event)
        return event

    def start(self, event: EventRecord) -> None:
        """(Re)deliver an event, e.g. a replay asked for by a test."""
        self.spawn(self._deliver(event))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        # Hold a reference: the loop keeps only weak ones, and a collected task stops midway.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.events.clear()
        self.deliveries.clear()
        self.signed_seconds_ago = 0.0

    async def _deliver(self, event: EventRecord) -> None:
        if self.url is None:
            self._record(event, 1, None, "no webhook_url configured")
            return
        for attempt, delay in enumerate(self.retry_delays, start=1):
            if delay > 0:
                await asyncio.sleep(delay)
            signed_at = now_ms() - round(self.signed_seconds_ago * 1000)
            headers = delivery_headers(self.secret, event.body, timestamp_ms=signed_at)
            try:
                async with httpx.AsyncClient(timeout=self.timeout_seconds) as http:
                    response = await http.post(self.url, content=event.body, headers=headers)
            except httpx.HTTPError as exc:
                self._record(event, attempt, None, type(exc).__name__)
                continue
            self._record(event, attempt, response.status_code, None)
            if response.status_code == 200:  # Airwallex's documented acknowledgement
                event.delivered = True
                return

    def _record(
        self, event: EventRecord, attempt: int, status_code: int | None, error: str | None
    ) -> None:
        self.deliveries.append(
            DeliveryRecord(
                event_id=event.id,
                event_name=event.name,
                attempt=attempt,
                url=self.url,
                status_code=status_code,
                error=error,
                at=timestamp(utcnow()),
            )
        )
