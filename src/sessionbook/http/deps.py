"""FastAPI dependencies: services by type, the caller's address, rate limits and the token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar, cast

from fastapi import Depends, FastAPI, Request

from sessionbook.core.db import Database
from sessionbook.core.errors import RateLimited, TokenNotRecognised, ValidationFailed
from sessionbook.core.settings import Settings
from sessionbook.http.ratelimit import LIMITS, LimitStore, client_address

T = TypeVar("T")

TOKEN_HEADER = "X-Booking-Token"  # noqa: S105 - a header name


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, and those thread hand-offs were the largest cost of a booking-status request.


def provide(app: FastAPI, kind: type[T], instance: T) -> None:
    """Register the one `kind` routes of this app are given (the app factory calls this)."""
    if not hasattr(app.state, "service_registry"):
        app.state.service_registry = {}
    app.state.service_registry[kind] = instance


def service(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency giving the `kind` registered with `provide`; routes say what they need."""

    async def lookup(request: Request) -> T:
        # `provide` keys each instance by its kind, so the cast only restates that.
        return cast(T, request.app.state.service_registry[kind])

    lookup.__name__ = f"provided_{kind.__name__}"
    return lookup


SettingsDep = Annotated[Settings, Depends(service(Settings))]
LimitsDep = Annotated[LimitStore, Depends(service(LimitStore))]
DatabaseDep = Annotated[Database, Depends(service(Database))]


async def get_client_address(request: Request, settings: SettingsDep) -> str:
    return client_address(request, settings.trusted_proxy_list)


ClientAddressDep = Annotated[str, Depends(get_client_address)]


def rate_limited(
    name: str,
) -> Callable[[SettingsDep, LimitsDep, ClientAddressDep], Awaitable[None]]:
    """A dependency that counts this request against the caller's `name` limit."""
    limit = LIMITS[name]

    async def check(settings: SettingsDep, limits: LimitsDep, address: ClientAddressDep) -> None:
        if not settings.rate_limits_enabled:
            return
        retry_after = await limits.hit(f"{name}:{address}", limit)
        if retry_after is not None:
            raise RateLimited(retry_after=retry_after)

    return check


async def presented_token(request: Request) -> str:
    """The booking token from the X-Booking-Token header (preferred) or the `token` query."""
    return _presented_token(request)


def _presented_token(request: Request) -> str:
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        token = request.query_params.get("token")
    if token is None or not token.strip():
        raise ValidationFailed("A booking token is required.", fields={"token": "is required"})
    return token.strip()


TokenDep = Annotated[str, Depends(presented_token)]


class BadTokenGuard:
    """Slows down guessing: an address that keeps presenting unknown tokens gets 429s."""

    def __init__(self, settings: Settings, limits: LimitStore, address: str) -> None:
        self.enabled = settings.rate_limits_enabled
        self.limits = limits
        self.key = f"bad_token:{address}"

    async def check(self) -> None:
        if not self.enabled:
            return
        retry_after = await self.limits.over(self.key, LIMITS["bad_token"])
        if retry_after is not None:
            raise RateLimited(
                "Too many unknown booking links from this address. Please wait.",
                retry_after=retry_after,
            )

    async def record_miss(self) -> None:
        if self.enabled:
            await self.limits.hit(self.key, LIMITS["bad_token"])

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a call that looks a token up; an unknown token counts against the address."""
        await self.check()
        try:
            return await call()
        except TokenNotRecognised:
            await self.record_miss()
            raise


async def bad_token_guard(
    settings: SettingsDep, limits: LimitsDep, address: ClientAddressDep
) -> BadTokenGuard:
    return BadTokenGuard(settings, limits, address)


BadTokenGuardDep = Annotated[BadTokenGuard, Depends(bad_token_guard)]


@dataclass(frozen=True, slots=True)
class TokenRead:
    """What a read by booking token needs: the token, and the guard to look it up under."""

    token: str
    guard: BadTokenGuard


def token_read(name: str) -> Callable[[Request], Awaitable[TokenRead]]:
    """One flat dependency for the hottest routes: the `name` rate limit, then the token, then
    the bad-token guard, in the order the separate dependencies above apply them.

    The same checks as `rate_limited(name)` + `TokenDep` + `BadTokenGuardDep`, without the
    nested dependency graph FastAPI solves anew on every request (a large share of a
    booking-status request's CPU, bench/RESULTS.md).
    """
    limit = LIMITS[name]

    async def read(request: Request) -> TokenRead:
        registry = request.app.state.service_registry
        settings = cast(Settings, registry[Settings])
        limits = cast(LimitStore, registry[LimitStore])
        address = client_address(request, settings.trusted_proxy_list)
        if settings.rate_limits_enabled:
            retry_after = await limits.hit(f"{name}:{address}", limit)
            if retry_after is not None:
                raise RateLimited(retry_after=retry_after)
        return TokenRead(_presented_token(request), BadTokenGuard(settings, limits, address))

    read.__name__ = f"token_read_{name}"
    return read
