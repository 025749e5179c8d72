"""The ``videoapi`` group: its options, the list of its commands, and how each is loaded.

A command's module (and the client, rich and aiohttp behind it) is imported only when that
command runs or shows its own help, so ``videoapi --help`` and ``--version`` import click
and nothing else. The listing comes from `COMMANDS`, which holds each command's summary
once: `command_help` puts the same summary at the top of the command's own help.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import click

from videoapi_async import __version__

from ._options import GroupState, group_options

if TYPE_CHECKING:
    from ._common import CoroutineRunner

__all__ = ["COMMANDS", "Command", "cli", "command_help"]


class Command(NamedTuple):
    """Where a command of the group lives, and the one line the listing shows for it."""

    module: str
    """The module of ``videoapi_async.cli`` that defines the command."""
    attribute: str
    """The command's name in that module."""
    summary: str
    """The first paragraph of the command's help."""


COMMANDS: Final[dict[str, Command]] = {
    "batch": Command(
        "_batch_cmd", "batch", "Create and follow one video per row of FILE (CSV or JSON Lines)."
    ),
    "create": Command(
        "_app",
        "create",
        "Start a render and print the new video (follow it with 'videoapi wait ID').",
    ),
    "create-example": Command(
        "_webhooks_cmd",
        "create_example",
        "Print the create body the API suggests for a project (needs the bearer token).",
    ),
    "delete": Command("_around", "delete", "Delete a video."),
    "demo": Command(
        "_demo", "demo", "Make a batch of videos against a local sandbox: no key, no network."
    ),
    "get": Command("_app", "get", "Show one video and the state of its render."),
    "list": Command(
        "_app",
        "list_command",
        "List every video of the account (the API returns them all at once).",
    ),
    "metadata": Command(
        "_app", "metadata", "Show a rendered video's duration and the timing of its scenes."
    ),
    "render": Command(
        "_app", "render", "Create a video and wait for its render, with a live progress bar."
    ),
    "sandbox": Command(
        "_sandbox_cmd",
        "sandbox",
        "Serve a local sandbox API until Ctrl-C (--help lists its options).",
    ),
    "subtitles": Command(
        "_around",
        "subtitles",
        "Make a subtitle file for a finished video and print where to get it.",
    ),
    "usage": Command(
        "_around",
        "usage",
        "Show how many videos were made, and for how long, per day, week or month.",
    ),
    "wait": Command("_app", "wait", "Wait for a render to finish, with a live progress bar."),
    "webhooks": Command(
        "_webhooks_cmd", "webhooks", "Manage the webhooks that tell your service when renders end."
    ),
}
"""Every command of ``videoapi``, by name."""


def command_help(name: str, details: str = "") -> str:
    """Return the help of the command ``name``: its summary from `COMMANDS`, then ``details``."""
    summary = COMMANDS[name].summary
    return f"{summary}\n\n{details}" if details else summary


_EPILOG = """\b
Settings come from options or the environment: VIDEOAPI_API_KEY, VIDEOAPI_BASE_URL,
VIDEOAPI_WORKSPACE_ID, VIDEOAPI_TEAM_ID, VIDEOAPI_MAX_RPS. Options may go before or
after the command.

\b
Exit status: 0 done; 1 a render failed (or batch rows have no video); 2 bad usage or
input, or no API key; 3 the API refused or could not be reached, or a download
failed; 4 --timeout passed first; 130 interrupted (Ctrl-C); 70 an unexpected error.
"""


def _terminal_columns() -> int:
    """Return the terminal's width as `shutil.get_terminal_size` would, without shutil.

    $COLUMNS first, then the terminal of stdout, else 80. Importing shutil (and the
    compression modules it imports) is a measurable share of ``videoapi --help``.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Context(click.Context):
    """A context whose help page is as wide as click makes it, found without shutil."""

    def make_formatter(self) -> click.HelpFormatter:
        width = self.terminal_width
        if width is None and click.formatting.FORCED_WIDTH is None:
            width = max(min(_terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


# click 8.2+ raises this (a UsageError) for a group called without arguments; 8.1 prints
# the help itself. Its page must not be squeezed into one "Error:" line.
_NO_ARGS_IS_HELP: Final[type[click.UsageError] | tuple[()]] = getattr(
    click.exceptions, "NoArgsIsHelpError", ()
)


class _Group(click.Group):
    """The ``videoapi`` group: commands loaded on demand; every error ends as one line."""

    context_class = _Context

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        entry = COMMANDS.get(cmd_name)
        if command is None and entry is not None:
            module = importlib.import_module(f"{__package__}.{entry.module}")
            command = getattr(module, entry.attribute)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from `COMMANDS`, without importing their modules."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            entry = COMMANDS.get(name)
            # A stand-in with the summary as its help: click shortens it as it would the
            # command's own help, without importing the command's module.
            command = (
                self.commands[name] if entry is None else click.Command(name, help=entry.summary)
            )
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        *,
        runner: CoroutineRunner | None = None,
        **extra: Any,
    ) -> Any:
        """Run the command; ``runner`` runs its coroutines instead of `asyncio.run`.

        Tests pass ``runner=loop.run_until_complete`` to run a command on a loop of their
        own, such as a simulated-time loop that also serves the sandbox it talks to.
        """
        if runner is None:  # as a user runs it: nothing of the client is imported here
            code = self._run(args, prog_name, complete_var, **extra)
        else:
            from ._common import running_with

            with running_with(runner):
                code = self._run(args, prog_name, complete_var, **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        **extra: Any,
    ) -> int:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # a bare `videoapi`: the help page, as it is
            exc.show()
            return exc.exit_code
        except click.UsageError as exc:
            from ._common import CliError, ExitCode

            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            CliError(f"{exc.format_message()}{hint}", ExitCode.USAGE).show()
            return ExitCode.USAGE
        except click.ClickException as exc:
            exc.show()
            return exc.exit_code
        except click.Abort:
            from ._common import CliError, ExitCode

            CliError("interrupted", ExitCode.INTERRUPTED).show()
            return ExitCode.INTERRUPTED
        except BrokenPipeError:
            return 0  # the reader went away (| head): nothing left to say
        except Exception as exc:  # a bug: say so in one line, with the details on demand
            from ._common import CliError

            if "-v" in sys.argv or "--verbose" in sys.argv:
                import traceback

                traceback.print_exc()
            CliError(
                f"unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)",
                70,
            ).show()
            return 70
        return result if isinstance(result, int) else 0


@click.group(cls=_Group, epilog=_EPILOG, context_settings={"max_content_width": 100})
@click.version_option(__version__, prog_name="videoapi")
@group_options
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Make videos with Hour One's Video API from the terminal.

    Start with 'videoapi demo': it needs no key and no network.
    """
    ctx.obj = GroupState.from_options(**options)
