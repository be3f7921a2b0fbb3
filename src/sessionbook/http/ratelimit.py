"""Per-address request limits counted by `limits`: in memory for one instance, Redis for many."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import ConnectionPool
from starlette.requests import Request


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` hits per `window_seconds` for one key."""

    count: int
    window_seconds: int

    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.count, self.window_seconds)


# Generous for people, tight for scripts; a page polling status every 2 s stays far below.
LIMITS: dict[str, Limit] = {
    "create": Limit(10, 60),
    "status": Limit(120, 60),
    "slots": Limit(60, 60),
    "schedule": Limit(20, 60),
    "manage": Limit(20, 60),
    "bad_token": Limit(20, 600),
}


class LimitStore(Protocol):
    async def hit(self, key: str, limit: Limit) -> int | None:
        """Count one hit; the seconds to wait when over the limit, else None."""
        ...

    async def over(self, key: str, limit: Limit) -> int | None:
        """Without counting: the seconds to wait if the key is already at its limit."""
        ...


class _FixedWindowStore:
    """Fixed windows per key: a window opens at a key's first hit and lasts `window_seconds`.

    Every hit counts, refused ones too, so a caller that keeps hammering stays refused.
    """

    def __init__(self, make_storage: Callable[[], Storage]) -> None:
        self._make_storage = make_storage
        self._limiter: FixedWindowRateLimiter | None = None

    def _strategy(self) -> FixedWindowRateLimiter:
        # Made on first use, inside the event loop: the memory storage starts a task.
        if self._limiter is None:
            self._limiter = FixedWindowRateLimiter(self._make_storage())
        return self._limiter

    async def hit(self, key: str, limit: Limit) -> int | None:
        strategy = self._strategy()
        if await strategy.hit(limit.item(), key):
            return None
        return await self._seconds_left(strategy, key, limit)

    async def over(self, key: str, limit: Limit) -> int | None:
        strategy = self._strategy()
        if await strategy.test(limit.item(), key):
            return None
        return await self._seconds_left(strategy, key, limit)

    @staticmethod
    async def _seconds_left(strategy: FixedWindowRateLimiter, key: str, limit: Limit) -> int:
        window = await strategy.get_window_stats(limit.item(), key)
        return max(1, math.ceil(window.reset_time - time.time()))


class MemoryLimitStore(_FixedWindowStore):
    """Counts in this process; right for a single instance."""

    def __init__(self) -> None:
        super().__init__(MemoryStorage)


class RedisLimitStore(_FixedWindowStore):
    """Counts in Redis, shared by every instance, through redis-py's asyncio client."""

    def __init__(self, url: str) -> None:
        # Our own pool (a documented option of the storage), so closing the app closes it.
        self._pool = ConnectionPool.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        pool_option: dict[str, Any] = {"connection_pool": self._pool}
        super().__init__(
            lambda: RedisStorage(
                f"async+{url}", implementation="redispy", key_prefix="sessionbook:rl", **pool_option
            )
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


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
