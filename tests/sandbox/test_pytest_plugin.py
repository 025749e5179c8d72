"""The pytest plugin, run in a separate pytest process as a user's test suite would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

USER_TESTS = '''
import asyncio

import aiohttp
import pytest

from videoapi_async import PollPolicy


async def test_sandbox_fixture_serves(videoapi_sandbox):
    """The fixture is a started sandbox with fast renders."""
    assert videoapi_sandbox.config.render.time_scale == 40
    headers = {"api-key": videoapi_sandbox.api_key}
    async with aiohttp.ClientSession() as session:
        async with session.get(videoapi_sandbox.base_url + "/videos", headers=headers) as r:
            assert r.status == 200 and await r.json() == []


@pytest.mark.videoapi_sandbox(seed=7, failure_rate=1.0)
async def test_marker_configures_the_sandbox(videoapi_sandbox):
    """The marker's options reach the sandbox."""
    assert videoapi_sandbox.seed == 7
    assert videoapi_sandbox.config.render.failure_rate == 1.0


async def test_client_fixture(videoapi_client, videoapi_sandbox):
    """The client fixture is an open VideoAPI on the sandbox."""
    videoapi_sandbox.create_video({"source_draft_id": "d"})
    videos = await videoapi_client.list_videos()
    assert len(videos) == 1


async def test_client_polls_at_the_pace_of_the_renders(videoapi_client):
    """The client fixture waits for a 0.05-0.2 s render well before the default 2 s first poll."""
    loop = asyncio.get_running_loop()
    assert videoapi_client.poll_policy.first_poll == 2.0 / 40
    started = loop.time()
    video = await videoapi_client.render(source_draft_id="d")
    assert video.status.value in ("ready", "published", "failed", "cancelled", "stopped")
    assert loop.time() - started < 1.5


@pytest.mark.videoapi_sandbox(poll=PollPolicy(first_poll=0.7, min_interval=0.7, jitter=0))
async def test_marker_sets_the_poll_policy(videoapi_client, videoapi_sandbox):
    """The marker's poll option is the client fixture's policy, and it paces the polls."""
    loop = asyncio.get_running_loop()
    assert videoapi_client.poll_policy.first_poll == 0.7
    assert videoapi_sandbox.config.render.time_scale == 40
    started = loop.time()
    await videoapi_client.render(source_draft_id="d")
    assert loop.time() - started >= 0.7


def test_plain_test_is_unaffected():
    """A test that uses no fixture of the plugin runs as usual."""
    assert True
'''


ASYNC_INI = (
    "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    "filterwarnings = error\n"
)

Starter = Callable[[Path], "subprocess.Popen[str]"]


def _popen(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _pytest(
    folder: Path, *args: str, ini: str = ASYNC_INI, extra_path: str = ""
) -> subprocess.Popen[str]:
    """Start pytest on folder in a new process, with only the plugins named in args."""
    (folder / "pytest.ini").write_text(ini)
    python_path = os.pathsep.join(part for part in (extra_path, str(REPO)) if part)
    env = {**os.environ, "PYTHONPATH": python_path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return _popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], folder, env)


def _finish(start: Starter, folder: Path) -> subprocess.CompletedProcess[str]:
    """Start `start`'s process in folder, wait for it and return its outcome."""
    process = start(folder)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _user_suite(folder: Path) -> subprocess.Popen[str]:
    (folder / "test_user.py").write_text(USER_TESTS)
    return _pytest(
        folder,
        "-p",
        "pytest_asyncio.plugin",
        "-p",
        "videoapi_async.sandbox.pytest_plugin",
        "--strict-markers",
        "-q",
    )


@pytest.mark.e2e
def test_fixtures_and_marker_in_a_user_suite(tmp_path: Path) -> None:
    """videoapi_sandbox, videoapi_client and the marker work under pytest-asyncio."""
    result = _finish(_user_suite, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout


def _overriding_conftest(folder: Path) -> subprocess.Popen[str]:
    (folder / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from videoapi_async.sandbox import SandboxConfig

            @pytest.fixture
            def videoapi_sandbox_config():
                return SandboxConfig(api_key="from-conftest", seed=99)
            """
        )
    )
    (folder / "test_override.py").write_text(
        "async def test_key(videoapi_sandbox):\n"
        "    assert videoapi_sandbox.api_key == 'from-conftest'\n"
        "    assert videoapi_sandbox.seed == 99\n"
    )
    return _pytest(
        folder, "-p", "pytest_asyncio.plugin", "-p", "videoapi_async.sandbox.pytest_plugin"
    )


@pytest.mark.e2e
def test_config_fixture_can_be_overridden(tmp_path: Path) -> None:
    """A conftest overriding videoapi_sandbox_config changes the sandbox."""
    result = _finish(_overriding_conftest, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _no_pytest_asyncio(folder: Path) -> subprocess.Popen[str]:
    blocker = folder / "blocker"
    blocker.mkdir()
    (blocker / "pytest_asyncio.py").write_text("raise ImportError('not installed')\n")
    (folder / "test_user.py").write_text(
        "def test_plain():\n    assert True\n\ndef test_uses_sandbox(videoapi_sandbox):\n    pass\n"
    )
    return _pytest(
        folder,
        "-p",
        "videoapi_async.sandbox.pytest_plugin",
        "-rA",
        ini="[pytest]\nfilterwarnings = error\n",
        extra_path=str(blocker),
    )


def test_without_pytest_asyncio_only_the_fixtures_fail(tmp_path: Path) -> None:
    """Without pytest-asyncio, plain tests pass and the async fixtures explain what's missing."""
    result = _finish(_no_pytest_asyncio, tmp_path)
    assert "1 passed" in result.stdout, result.stdout
    assert "1 error" in result.stdout, result.stdout
    assert "needs pytest-asyncio" in result.stdout


def _plugin_imports(folder: Path) -> subprocess.Popen[str]:
    code = (
        "import sys\n"
        "import videoapi_async.sandbox.pytest_plugin\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'\n"
        "               or m.startswith(('videoapi_async._client', 'videoapi_async.sandbox._')))\n"
        "print(heavy)\n"
    )
    return _popen([sys.executable, "-c", code], folder)


def test_loading_the_plugin_imports_no_server_or_client_code(tmp_path: Path) -> None:
    """The plugin every pytest run loads imports neither aiohttp, the sandbox nor the client."""
    done = _finish(_plugin_imports, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _public_names(folder: Path) -> subprocess.Popen[str]:
    code = (
        "import sys\n"
        "import videoapi_async, videoapi_async.sandbox as sb\n"
        "assert 'aiohttp' not in sys.modules, 'import alone loaded aiohttp'\n"
        "missing = [n for n in videoapi_async.__all__ if not hasattr(videoapi_async, n)]\n"
        "missing += [n for n in sb.__all__ if not hasattr(sb, n)]\n"
        "print(missing)\n"
    )
    return _popen([sys.executable, "-c", code], folder)


def test_public_names_load_on_first_use(tmp_path: Path) -> None:
    """Importing the package is light, and every name in __all__ still resolves when used."""
    done = _finish(_public_names, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
