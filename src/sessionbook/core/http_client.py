"""What every provider client shares: one httpx client, closed once, and one way to retry."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self, TypeVar

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

T = TypeVar("T")

log = structlog.get_logger(__name__)


class ProviderClient:
    """Owns `self._http`; the repr shows only the base URL, never a key or token."""

    _http: httpx.AsyncClient

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


# -- retries -------------------------------------------------------------------------------

WaitFor = Callable[[BaseException, int], float]
"""Seconds to wait after a failure, given the failure and the number of the attempt that failed."""


@dataclass(frozen=True)
class RetryPolicy:
    """One provider's retry rules: how many tries, which failures earn another, how long between.

    Each client declares its own policy next to its calls; `run` is the only retry loop.
    """

    provider: str
    attempts: int
    worth_retrying: Callable[[BaseException], bool]
    wait_for: WaitFor
    retry_event: str  # the log event of each retry, named like the provider's other events

    def once(self) -> RetryPolicy:
        """The same policy without retries, for calls that must not be repeated."""
        return replace(self, attempts=1)

    async def run(self, call: Callable[[], Awaitable[T]], *, operation: str) -> T:
        """`call()` until it succeeds, fails for good, or the attempts run out; then re-raise."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.attempts)),
            retry=retry_if_exception(self.worth_retrying),
            wait=self._wait,
            before_sleep=lambda state: self._log_retry(state, operation),
            reraise=True,
        )
        return await retrying(call)

    def _wait(self, state: RetryCallState) -> float:
        failure = _failure_of(state)
        return self.wait_for(failure, state.attempt_number) if failure is not None else 0.0

    def _log_retry(self, state: RetryCallState, operation: str) -> None:
        failure = _failure_of(state)
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            self.retry_event,
            provider=self.provider,
            operation=operation,
            attempt=state.attempt_number,
            error=type(failure).__name__,
            delay_seconds=round(delay, 3),
        )


def exponential_backoff(
    attempt: int, *, base_seconds: float, ceiling_seconds: float, jitter_floor: float = 0.0
) -> float:
    """`base * 2**(attempt-1)`, capped, then scaled by a random factor in [jitter_floor, 1].

    Jitter spreads out callers that failed together so they do not retry in lock-step.
    """
    ceiling = min(ceiling_seconds, base_seconds * 2.0 ** (attempt - 1))
    return ceiling * random.uniform(jitter_floor, 1.0)


def _failure_of(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None
