"""pytest fixtures for code that talks to the Video API: a running sandbox and a client.

Installed with the package (entry point ``videoapi_sandbox``), so any test can ask for:

* ``videoapi_sandbox``: a started :class:`~videoapi_async.sandbox.Sandbox` on a free port,
  one per test, with renders 40 times faster than nominal (0.05-0.2 s each);
* ``videoapi_client``: an open ``videoapi_async.VideoAPI`` pointed at that sandbox;
* ``videoapi_sandbox_config``: the :class:`~videoapi_async.sandbox.SandboxConfig` used;
  override this fixture in a ``conftest.py`` to change the defaults.

Per test, the ``videoapi_sandbox`` marker changes options (the names of
:func:`~videoapi_async.sandbox.config_from_options`)::

    @pytest.mark.videoapi_sandbox(seed=7, failure_rate=0.5, fault_rate=0.1)
    async def test_survives_a_flaky_api(videoapi_client, videoapi_sandbox): ...

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
    from videoapi_async import VideoAPI
    from videoapi_async.sandbox import Sandbox, SandboxConfig

__all__ = [
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
        "videoapi_async.sandbox.config_from_options)",
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


@_async_fixture
async def videoapi_sandbox(
    request: pytest.FixtureRequest, videoapi_sandbox_config: SandboxConfig
) -> AsyncIterator[Sandbox]:
    """Yield a running sandbox, configured by ``videoapi_sandbox_config`` and the marker."""
    from videoapi_async.sandbox import Sandbox, config_from_options

    config = videoapi_sandbox_config
    marker = request.node.get_closest_marker("videoapi_sandbox")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(
                "the videoapi_sandbox marker takes keyword options only, "
                "e.g. @pytest.mark.videoapi_sandbox(seed=7)"
            )
        config = config_from_options(marker.kwargs, base=config)
    async with Sandbox(config) as sandbox:
        yield sandbox


@_async_fixture
async def videoapi_client(videoapi_sandbox: Sandbox) -> AsyncIterator[VideoAPI]:
    """Yield an open ``VideoAPI`` client for ``videoapi_sandbox``."""
    from videoapi_async import VideoAPI

    async with VideoAPI(
        api_key=videoapi_sandbox.api_key, base_url=videoapi_sandbox.base_url
    ) as client:
        yield client
