"""The test harness itself: commands and servers share one simulated clock, as asyncio.run."""

from __future__ import annotations

import asyncio
import time

from .conftest import CommandLoop, LoopSandbox


def test_a_command_and_the_sandbox_read_one_simulated_clock(
    command_loop: CommandLoop, cli_sandbox: LoopSandbox
) -> None:
    """An hour waited by a command passes for the sandbox too, in no real time."""
    video = cli_sandbox.create()  # renders in well under a second of its clock

    def status() -> str:
        shown = cli_sandbox.sandbox.video(video["id"])
        assert shown is not None
        return str(shown["status"])

    async def command() -> float:
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time() - started

    assert status() not in ("ready", "failed")
    wall = time.monotonic()
    waited = command_loop.run_command(command())
    assert waited >= 3600 - 1e-6  # float sums of a large clock reading may round down
    assert time.monotonic() - wall < 60
    assert status() in ("ready", "failed")


def test_tasks_a_command_leaves_are_cancelled_and_servers_go_on(
    command_loop: CommandLoop,
) -> None:
    """Like asyncio.run, a command's leftover tasks are cancelled; a server's task survives."""

    async def forever() -> None:
        await asyncio.sleep(3600 * 24)

    server_task = command_loop.run(lambda: asyncio.ensure_future(forever()))
    left: list[asyncio.Task[None]] = []

    async def command() -> str:
        left.append(asyncio.ensure_future(forever()))
        await asyncio.sleep(0)
        return "done"

    assert command_loop.run_command(command()) == "done"
    assert left[0].cancelled()
    assert not server_task.done()
