"""FastAPI dependencies: the wired services, the caller's address, rate limits and the token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from sessionbook.bootstrap import Services
from sessionbook.core.errors import BookingNotFound, RateLimited, ValidationFailed
from sessionbook.http.ratelimit import LIMITS, client_address

T = TypeVar("T")

TOKEN_HEADER = "X-Booking-Token"  # noqa: S105 - a header name


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, and those thread hand-offs were the largest cost of a booking-status request.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_client_address(request: Request, services: ServicesDep) -> str:
    return client_address(request, services.settings.trusted_proxy_list)


ClientAddressDep = Annotated[str, Depends(get_client_address)]


def rate_limited(name: str) -> Callable[[ServicesDep, ClientAddressDep], Awaitable[None]]:
    """A dependency that counts this request against the caller's `name` limit."""
    limit = LIMITS[name]

    async def check(services: ServicesDep, address: ClientAddressDep) -> None:
        if not services.settings.rate_limits_enabled:
            return
        retry_after = await services.limits.hit(f"{name}:{address}", limit)
        if retry_after is not None:
            raise RateLimited(retry_after=retry_after)

    return check


async def presented_token(request: Request) -> str:
    """The booking token from the X-Booking-Token header (preferred) or the `token` query."""
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        token = request.query_params.get("token")
    if token is None or not token.strip():
        raise ValidationFailed("A booking token is required.", fields={"token": "is required"})
    return token.strip()


TokenDep = Annotated[str, Depends(presented_token)]


class BadTokenGuard:
    """Slows down guessing: an address that keeps presenting unknown tokens gets 429s."""

    def __init__(self, services: ServicesDep, address: ClientAddressDep) -> None:
        self.services = services
        self.key = f"bad_token:{address}"

    async def check(self) -> None:
        if not self.services.settings.rate_limits_enabled:
            return
        retry_after = await self.services.limits.over(self.key, LIMITS["bad_token"])
        if retry_after is not None:
            raise RateLimited(
                "Too many unknown booking links from this address. Please wait.",
                retry_after=retry_after,
            )

    async def record_miss(self) -> None:
        if self.services.settings.rate_limits_enabled:
            await self.services.limits.hit(self.key, LIMITS["bad_token"])

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a call that looks a token up; an unknown token counts against the address."""
        await self.check()
        try:
            return await call()
        except BookingNotFound:
            await self.record_miss()
            raise


async def bad_token_guard(services: ServicesDep, address: ClientAddressDep) -> BadTokenGuard:
    return BadTokenGuard(services, address)


BadTokenGuardDep = Annotated[BadTokenGuard, Depends(bad_token_guard)]
