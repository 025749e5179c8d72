"""The simulated-time event loop: time jumps only when every task waits for a timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from videoapi_async.sandbox import SimulatedTimeLoop, run_in_simulated_time


def test_an_hour_of_sleeps_takes_no_wall_time() -> None:
    """Sleeps move the loop's clock by exactly their length, without waiting for them."""

    async def sleeper() -> float:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimulatedTimeLoop)
        start = loop.time()
        await asyncio.gather(asyncio.sleep(3600), asyncio.sleep(1800))
        return loop.time() - start

    wall = time.monotonic()
    assert run_in_simulated_time(sleeper()) == pytest.approx(3600)
    assert time.monotonic() - wall < 1.0


async def _exchange(server_pause: float, client_timeout: float) -> tuple[bytes, float]:
    """Send a line to a 127.0.0.1 server that answers after server_pause (loop seconds)."""
    loop = asyncio.get_running_loop()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            await asyncio.sleep(server_pause)
            writer.write(line.upper())
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    start = loop.time()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"ping\n")
            got = await asyncio.wait_for(reader.readline(), timeout=client_timeout)
            return got, loop.time() - start
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


def test_socket_answers_come_before_the_clock_jumps() -> None:
    """A loopback answer due at once beats a timer: a 1 ms timeout does not fire."""
    got, elapsed = run_in_simulated_time(_exchange(server_pause=0, client_timeout=0.001))
    assert got == b"PING\n"
    assert elapsed < 0.001


def test_the_clock_jumps_to_a_server_side_timer() -> None:
    """A server that sleeps 5 s answers at 5 s of loop time, before a 10 s timeout."""
    got, elapsed = run_in_simulated_time(_exchange(server_pause=5, client_timeout=10))
    assert got == b"PING\n"
    assert elapsed == pytest.approx(5, abs=0.01)


def test_a_timeout_still_fires_in_simulated_time() -> None:
    """A server slower than the client's timeout makes the wait time out, at its deadline."""
    with pytest.raises(asyncio.TimeoutError):
        run_in_simulated_time(_exchange(server_pause=30, client_timeout=10))


def test_executor_work_holds_the_clock() -> None:
    """While a thread works, timers wait for it: a 30 s timeout does not fire early."""

    async def threaded() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.wait_for(loop.run_in_executor(None, time.sleep, 0.05), timeout=30)
        return loop.time() - start

    elapsed = run_in_simulated_time(threaded())
    assert 0 < elapsed < 30
