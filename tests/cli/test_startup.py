"""Start-up: the listing of commands loads no command, and loses nothing of their help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from videoapi_async.cli._root import COMMANDS, cli

from .conftest import invoke

REPO = Path(__file__).resolve().parents[2]
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.MULTILINE)


def _listing(help_text: str) -> dict[str, str]:
    """Return the ``Commands:`` section of a help page as {name: short help}."""
    section = help_text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    return dict(line.split(None, 1) for line in section.splitlines())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOAPI_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_every_command_is_listed_with_the_short_help_of_its_own_help() -> None:
    """Videoapi --help lists every command with the start of the help the command shows."""
    shown = invoke(["--help"])
    assert shown.exit_code == 0, shown.stderr
    listed = _listing(shown.stdout)
    ctx = click.Context(cli, info_name="videoapi")
    with CliRunner().isolation():  # the width the runner gave the help page
        width = ctx.make_formatter().width
    limit = width - 6 - max(len(name) for name in listed)
    assert sorted(listed) == sorted(COMMANDS)
    for name, short in listed.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert command.name == name
        assert command.help is not None, name
        assert command.help.startswith(COMMANDS[name].summary), name
        assert short == command.get_short_help_str(limit), name
        # the listing shortens, never rewrites: what it shows begins the command's own help
        assert " ".join(command.help.split()).startswith(short.removesuffix("...")), name


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"sandbox"}))
def test_each_command_shows_its_full_help(name: str) -> None:
    """Videoapi COMMAND --help still loads the command and shows its whole help."""
    shown = invoke([name, "--help"])
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.startswith(f"Usage: cli {name} ")
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.help is not None
    page = " ".join(shown.stdout.split())
    for paragraph in command.help.split("\n\n"):
        assert " ".join(paragraph.replace("\b", "").split()) in page, paragraph


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_neither_aiohttp_rich_nor_the_sandbox(flag: str) -> None:
    """Videoapi --help and --version, run as a process, import no aiohttp, rich or sandbox."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "videoapi_async.cli", flag],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "videoapi" in completed.stdout
    imported = _IMPORTED.findall(completed.stderr)
    assert "click" in imported  # the parsing sees the imports, so an empty list means none
    unwanted = sorted(
        module
        for module in imported
        if module.split(".")[0] in {"aiohttp", "rich"}
        or module.startswith("videoapi_async.sandbox")
    )
    assert unwanted == []


@pytest.mark.parametrize("args", [[], ["webhooks"]])
def test_a_group_without_arguments_shows_its_help_page(args: list[str]) -> None:
    """A bare videoapi (or videoapi webhooks) prints its help page, not one error line."""
    shown = invoke(args)
    page = shown.stdout + shown.stderr
    assert "\nCommands:\n" in page
    assert "Error:" not in page
