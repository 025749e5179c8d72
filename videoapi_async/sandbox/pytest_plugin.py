"""pytest fixtures for code that talks to the Video API: a running sandbox and a client.

Installed with the package (entry point ``videoapi_sandbox``), so any test can ask for:

* ``videoapi_sandbox``: a started :class:`~videoapi_async.sandbox.Sandbox` on a free port,
  one per test, with renders 40 times faster than nominal (0.05-0.2 s each);
* ``videoapi_client``: an open ``videoapi_async.VideoAPI`` pointed at that sandbox, polling
  at the pace of its renders: every interval of the default ``PollPolicy`` divided by the
  sandbox's ``time_scale`` (the first poll after 0.05 s instead of 2 s);
* ``videoapi_sandbox_config``: the :class:`~videoapi_async.sandbox.SandboxConfig` used;
  override this fixture in a ``conftest.py`` to change the defaults.

Per test, the ``videoapi_sandbox`` marker changes options (the names of
:func:`~videoapi_async.sandbox.config_from_options`)::

    @pytest.mark.videoapi_sandbox(seed=7, failure_rate=0.5, fault_rate=0.1)
    async def test_survives_a_flaky_api(videoapi_client, videoapi_sandbox): ...

and ``poll=`` gives the client fixture a poll policy of your own::

    @pytest.mark.videoapi_sandbox(poll=PollPolicy(first_poll=0.01, jitter=0))
    async def test_polls_eagerly(videoapi_client): ...

The async fixtures need pytest-asyncio. Without it, asking for them fails with a message
saying so; tests that do not use them are not affected. Nothing heavy is imported until a
fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

try:
    import pytest_asyncio
except ImportError:  # the fixtures below then explain what is missing
    pytest_asyncio = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from videoapi_async import PollPolicy, VideoAPI
    from videoapi_async.sandbox import Sandbox, SandboxConfig

__all__ = [
    "paced_poll_policy",
    "pytest_configure",
    "videoapi_client",
    "videoapi_sandbox",
    "videoapi_sandbox_config",
]

FAST_TIME_SCALE = 40.0
"""Speed-up of the fixtures' renders: 2-8 nominal seconds take 0.05-0.2 s."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``videoapi_sandbox`` marker."""
    config.addinivalue_line(
        "markers",
        "videoapi_sandbox(**options): options of the videoapi_sandbox fixture for this test "
        "(seed, time_scale, failure_rate, fault_rate, rate_limit, webhook_url, ...; see "
        "videoapi_async.sandbox.config_from_options), and poll=PollPolicy(...) for the "
        "videoapi_client fixture",
    )


def _needs_pytest_asyncio(function: Callable[..., Any]) -> Any:
    name = function.__name__

    @pytest.fixture(name=name)
    def unavailable() -> None:
        pytest.fail(
            f"the {name} fixture is async and needs pytest-asyncio: "
            "pip install pytest-asyncio (and set asyncio_mode = auto, or mark the test "
            "with @pytest.mark.asyncio)",
            pytrace=False,
        )

    return unavailable


_async_fixture: Callable[[Callable[..., Any]], Any] = (
    pytest_asyncio.fixture if pytest_asyncio is not None else _needs_pytest_asyncio
)


@pytest.fixture
def videoapi_sandbox_config() -> SandboxConfig:
    """Return the configuration of ``videoapi_sandbox``: fast renders, otherwise defaults."""
    from videoapi_async.sandbox import RenderProfile, SandboxConfig

    return SandboxConfig(render=RenderProfile(time_scale=FAST_TIME_SCALE))


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Return the keyword options of the test's ``videoapi_sandbox`` marker, if any."""
    marker = request.node.get_closest_marker("videoapi_sandbox")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            "the videoapi_sandbox marker takes keyword options only, "
            "e.g. @pytest.mark.videoapi_sandbox(seed=7)"
        )
    return dict(marker.kwargs)


def paced_poll_policy(time_scale: float) -> PollPolicy:
    """Return the default ``PollPolicy`` with every interval divided by ``time_scale``.

    A sandbox with ``time_scale=40`` renders 40 times faster than the real service, so
    its renders are polled 40 times sooner and more often than the defaults would.
    """
    import attrs

    from videoapi_async import PollPolicy

    default = PollPolicy()
    return attrs.evolve(
        default,
        first_poll=default.first_poll / time_scale,
        max_interval=default.max_interval / time_scale,
        min_interval=default.min_interval / time_scale,
        finish_margin=default.finish_margin / time_scale,
        webhook_safety_interval=default.webhook_safety_interval / time_scale,
    )


@_async_fixture
async def videoapi_sandbox(
    request: pytest.FixtureRequest, videoapi_sandbox_config: SandboxConfig
) -> AsyncIterator[Sandbox]:
    """Yield a running sandbox, configured by ``videoapi_sandbox_config`` and the marker."""
    from videoapi_async.sandbox import Sandbox, config_from_options

    config = videoapi_sandbox_config
    options = _marker_options(request)
    options.pop("poll", None)  # the client fixture's
    if options:
        config = config_from_options(options, base=config)
    async with Sandbox(config) as sandbox:
        yield sandbox


@_async_fixture
async def videoapi_client(
    request: pytest.FixtureRequest, videoapi_sandbox: Sandbox
) -> AsyncIterator[VideoAPI]:
    """Yield an open ``VideoAPI`` for ``videoapi_sandbox``, polling at its renders' pace."""
    from videoapi_async import PollPolicy, VideoAPI

    poll = _marker_options(request).get("poll")
    if poll is None:
        poll = paced_poll_policy(videoapi_sandbox.config.render.time_scale)
    elif not isinstance(poll, PollPolicy):
        raise pytest.UsageError(
            f"the videoapi_sandbox marker's poll option must be a PollPolicy, got {poll!r}: "
            "e.g. @pytest.mark.videoapi_sandbox(poll=PollPolicy(first_poll=0.05))"
        )
    async with VideoAPI(
        api_key=videoapi_sandbox.api_key, base_url=videoapi_sandbox.base_url, poll=poll
    ) as client:
        yield client
