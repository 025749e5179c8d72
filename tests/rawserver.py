"""A hostile HTTP server on 127.0.0.1 that answers with whatever bytes a test writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Respond = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
"""Called with the request head (up to the blank line) and the connection to write to."""


@asynccontextmanager
async def raw_server(respond: Respond) -> AsyncIterator[str]:
    """Serve `respond` on a free port; yield the base URL ``http://127.0.0.1:PORT/api/v1``."""
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            await respond(head, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up, as it should
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def request_key(head: bytes) -> str:
    """Return the api-key header of a request head, as the server received it."""
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "api-key":
            return value.strip()
    return ""
