"""A lean HTTP/1.1 keep-alive client on asyncio streams, used to put load on the servers.

Why not httpx for the load itself: on this 2-core machine the load generator shares the CPU
with the server it measures. httpx spends several times more CPU per request than this client
(measured in bench/RESULTS.md), and every cycle it burns is a cycle the server does not get, so
the numbers would describe httpx as much as the service. This client speaks just enough
HTTP/1.1 for our JSON answers: one request at a time per connection, Content-Length or
chunked bodies, reconnect when the server closes. httpx is still used for setting data up.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


class ProtocolError(Exception):
    """The server said something this small client does not understand."""


class Connection:
    """One keep-alive connection to 127.0.0.1:port; not shared between tasks."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_header = f"{host}:{port}".encode()

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        """Send one request and read its whole answer; reconnects once if the line was dead."""
        head = self._head(method, path, headers or {}, body)
        for attempt in (1, 2):
            reused = self._writer is not None
            if self._writer is None:
                await self._connect()
            assert self._reader is not None
            assert self._writer is not None
            try:
                self._writer.write(head + body)
                return await asyncio.wait_for(self._read_answer(self._reader), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                # A server may close an idle keep-alive connection just as we reuse it.
                if not reused or attempt == 2:
                    raise
            except BaseException:
                await self.close()
                raise
        raise AssertionError("unreachable")

    def _head(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host_header]
        for name, value in headers.items():
            lines.append(f"{name}: {value}".encode("latin-1"))
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )

    async def _read_answer(self, reader: asyncio.StreamReader) -> Answer:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        closing = False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value.strip())
            elif lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                closing = value.strip().lower() == b"close"
        if chunked:
            body = await _read_chunked(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            closing = True
        if closing:
            await self.close()
        return Answer(status, body)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # the empty trailer section
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
