"""Per-address request limits: in-process for one instance, Redis when several share the load."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` hits per `window_seconds` for one key."""

    count: int
    window_seconds: int


# Generous for people, tight for scripts; a page polling status every 2 s stays far below.
LIMITS: dict[str, Limit] = {
    "create": Limit(10, 60),
    "status": Limit(120, 60),
    "slots": Limit(60, 60),
    "schedule": Limit(20, 60),
    "manage": Limit(20, 60),
    "bad_token": Limit(20, 600),
    "admin_login": Limit(5, 300),
}


class LimitStore(Protocol):
    async def hit(self, key: str, limit: Limit) -> int | None:
        """Count one hit; the seconds to wait when over the limit, else None."""
        ...

    async def over(self, key: str, limit: Limit) -> int | None:
        """Without counting: the seconds to wait if the key is already at its limit."""
        ...


class MemoryLimitStore:
    """Fixed windows in a dict; right for a single process."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()
        self._last_prune = time.monotonic()

    def _window(self, limit: Limit, now: float) -> int:
        return int(now // limit.window_seconds)

    async def hit(self, key: str, limit: Limit) -> int | None:
        now = time.time()
        window = self._window(limit, now)
        async with self._lock:
            self._prune(now)
            started, count = self._windows.get(key, (window, 0))
            if started != window:
                started, count = window, 0
            count += 1
            self._windows[key] = (started, count)
        if count > limit.count:
            return _seconds_left(limit, now)
        return None

    async def over(self, key: str, limit: Limit) -> int | None:
        now = time.time()
        started, count = self._windows.get(key, (-1, 0))
        if started == self._window(limit, now) and count >= limit.count:
            return _seconds_left(limit, now)
        return None

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 60 or len(self._windows) < 10_000:
            return
        self._last_prune = now
        longest = max(limit.window_seconds for limit in LIMITS.values())
        oldest = int(now // longest) - 1
        self._windows = {k: v for k, v in self._windows.items() if v[0] >= oldest}


class RedisLimitStore:
    """Fixed windows in Redis (INCR + EXPIRE), shared by every instance."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, key: str, limit: Limit) -> int | None:
        now = time.time()
        window_key = f"sessionbook:rl:{key}:{int(now // limit.window_seconds)}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(window_key)
            pipe.expire(window_key, limit.window_seconds + 1)
            count, _ = await pipe.execute()
        return _seconds_left(limit, now) if int(count) > limit.count else None

    async def over(self, key: str, limit: Limit) -> int | None:
        now = time.time()
        window_key = f"sessionbook:rl:{key}:{int(now // limit.window_seconds)}"
        value = await self._redis.get(window_key)
        if value is not None and int(value) >= limit.count:
            return _seconds_left(limit, now)
        return None

    async def aclose(self) -> None:
        await self._redis.aclose()


def _seconds_left(limit: Limit, now: float) -> int:
    return max(1, math.ceil(limit.window_seconds - (now % limit.window_seconds)))


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The caller's address; X-Forwarded-For is believed only from configured proxies."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    # Walk from the nearest hop back; the first address we do not trust is the client.
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted_proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies)
