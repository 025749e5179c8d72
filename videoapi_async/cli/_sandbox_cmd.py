"""``videoapi sandbox``: serve the local stand-in API until Ctrl-C.

The options are the standalone sandbox's own (``python -m videoapi_async.sandbox``),
parsed by its parser, so both commands always agree.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from typing import NoReturn

import click

from ._common import CliError, ExitCode
from ._root import command_help

__all__ = ["sandbox"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors end the command as one line, like click's."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see 'videoapi sandbox --help')", ExitCode.USAGE)


def _parser() -> argparse.ArgumentParser:
    # Imported here: the sandbox (an aiohttp server) is not loaded for 'videoapi --help'.
    from videoapi_async.sandbox._cli import build_arg_parser

    parser = _Parser(
        prog="videoapi sandbox",
        description="Serve a local stand-in for the Video API until Ctrl-C: renders that "
        "progress over time, FastAPI-style errors, and faults on request. Point videoapi "
        "(or any client) at it with the printed base URL and key.",
    )
    return build_arg_parser(parser)


@click.command(
    help=command_help("sandbox"),
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sandbox(args: tuple[str, ...]) -> int:
    """Run ``videoapi sandbox`` (its help is in `COMMANDS`)."""
    parser = _parser()
    if "-h" in args or "--help" in args:
        click.echo(parser.format_help(), nl=False)
        return ExitCode.OK
    namespace = parser.parse_args(list(args))
    from videoapi_async.sandbox._cli import config_from_args, serve

    try:
        config = config_from_args(namespace)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    try:
        asyncio.run(serve(config, out=_Announce()))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise CliError(
            f"cannot serve on {config.host}:{config.port}: {exc}", ExitCode.USAGE
        ) from None
    click.echo("Sandbox stopped.")
    return ExitCode.OK


class _Announce(io.StringIO):
    """Passes the sandbox's banner to stdout, adding how to point ``videoapi`` at it."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = ""
        self._base_url: str | None = None

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._line(line)
        return len(text)

    def _line(self, line: str) -> None:
        click.echo(line)
        if "serving at " in line:
            self._base_url = line.split("serving at ", 1)[1].strip()
        elif line.startswith("  api-key:") and self._base_url is not None:
            key = line.split(":", 1)[1].strip()
            click.echo("Use it from another terminal with:")
            click.echo(f"  export VIDEOAPI_BASE_URL={self._base_url} VIDEOAPI_API_KEY={key}")

    def flush(self) -> None:
        sys.stdout.flush()
