"""What every provider client shares: one httpx client, closed once, usable as `async with`."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx


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
