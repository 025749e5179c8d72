"""The command-line options: those every command shares, and the create form's.

The shared ones are accepted before or after the command name: ``videoapi --sandbox list
--json`` and ``videoapi list --sandbox --json`` mean the same (the group keeps what it was
given in `GroupState`, and a command's own options win). `create_options` are the flat
create form's fields (and ``--json-body``) as options, for ``create`` and ``render``.

``videoapi --help`` lists these options, so this module imports click and nothing of the
client: what the commands need (`Settings`, the create form) is imported when they run.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

import click

if TYPE_CHECKING:
    from videoapi_async import CreateVideoRequest

    from ._common import Settings

__all__ = [
    "GroupState",
    "api_command",
    "configure_logging",
    "create_options",
    "group_options",
    "request_from_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])

ENV_MAX_RPS: Final = "VIDEOAPI_MAX_RPS"
"""The environment variable that caps the command's requests per second."""


# Not attrs, nor a dataclass: ``videoapi --help`` imports this module, and both are slow
# to import; a NamedTuple is as frozen and needs only typing, which click imports anyway.
class GroupState(NamedTuple):
    """What was given before the command name."""

    settings: Settings
    as_json: bool = False
    verbose: int = 0

    @classmethod
    def from_options(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        workspace_id: str | None,
        team_id: str | None,
        max_rps: float | None,
        sandbox: bool | None,
        as_json: bool | None,
        verbose: int,
    ) -> GroupState:
        """Return what the shared options say (the values click passes, unset as None)."""
        from ._common import Settings

        settings = Settings(
            api_key=api_key,
            base_url=base_url,
            workspace_id=workspace_id,
            team_id=team_id,
            sandbox=bool(sandbox),
            max_rps=max_rps,
        )
        return cls(settings=settings, as_json=bool(as_json), verbose=verbose)


_SHARED_NAMES: Final = tuple(inspect.signature(GroupState.from_options).parameters)
"""The names click passes the shared options under (`GroupState.from_options` takes them)."""


def _api_options() -> list[Callable[[_F], _F]]:
    return [
        click.option(
            "--api-key",
            default=None,
            metavar="KEY",
            help="The API key (default: $VIDEOAPI_API_KEY; prefer the variable, command "
            "lines are visible to other users).",
        ),
        click.option(
            "--base-url",
            default=None,
            metavar="URL",
            help="The API's base URL (default: $VIDEOAPI_BASE_URL, else the production API).",
        ),
        click.option(
            "--workspace-id",
            default=None,
            metavar="ID",
            help="Sent as workspace-id on creates (default: $VIDEOAPI_WORKSPACE_ID).",
        ),
        click.option(
            "--team-id",
            default=None,
            metavar="ID",
            help="Sent as team-id on creates (default: $VIDEOAPI_TEAM_ID).",
        ),
        click.option(
            "--max-rps",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            envvar=ENV_MAX_RPS,
            metavar="N",
            help=f"Start at most N requests per second (default: ${ENV_MAX_RPS}, else no "
            "cap: the client slows down by itself when the server answers 429).",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            default=None,
            help="Use a local sandbox started for this command (no key, no network).",
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            default=None,
            help="Print JSON for scripts instead of text (shapes in docs/cli.md).",
        ),
        click.option(
            "-v",
            "--verbose",
            count=True,
            help="Log every request to stderr (the key is never logged).",
        ),
    ]


def group_options(function: _F) -> _F:
    """Add the shared options to the group."""
    for option in reversed(_api_options()):
        function = option(function)
    return function


def api_command(function: _F) -> _F:
    """Add the shared options to a command and call it with ``settings`` and ``as_json``."""

    @functools.wraps(function)
    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        own = GroupState.from_options(**{name: kwargs.pop(name) for name in _SHARED_NAMES})
        settings, as_json, verbose = own.settings, own.as_json, own.verbose
        state = ctx.find_object(GroupState)
        if state is not None:
            settings = state.settings.merged(settings)
            verbose = max(verbose, state.verbose)
            as_json = as_json or state.as_json
        configure_logging(verbose)
        return function(*args, settings=settings, as_json=as_json, **kwargs)

    command: _F = wrapper  # type: ignore[assignment]
    for option in reversed(_api_options()):
        command = option(command)
    return command


def configure_logging(verbose: int) -> None:
    """With ``verbose`` > 0, log each request of the client (and its retries) to stderr."""
    if verbose <= 0:
        return
    import logging

    logger = logging.getLogger("videoapi_async")
    logger.setLevel(logging.DEBUG)
    if not any(getattr(handler, "_videoapi_cli", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler._videoapi_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


_CREATE_HELP: Final = {
    "name": "The video's name.",
    "source_draft_id": "The project (draft) to render.",
    "recipe_id": "The recipe to render.",
    "folder_id": "The folder to put the video in.",
    "palette_id": "The palette to use.",
    "character_id": "The presenter to use.",
    "voice_id": "The voice to use.",
}


def create_options(function: _F) -> _F:
    """Add the flat create form's fields as options, and ``--json-body``."""
    from ._input import FLAT_FIELDS

    function = click.option(
        "--json-body",
        type=click.File("r", encoding="utf-8"),
        default=None,
        metavar="FILE|-",
        help='The whole create body as JSON, any form: flat, or tagged with "type" '
        "(override, create, workflow). '-' reads stdin.",
    )(function)
    for field in reversed(FLAT_FIELDS):
        function = click.option(
            f"--{field.replace('_', '-')}", field, default=None, help=_CREATE_HELP[field]
        )(function)
    return function


def request_from_options(fields: dict[str, Any], json_body: IO[str] | None) -> CreateVideoRequest:
    """Build the create request the options ask for, or fail with a usage error."""
    import json

    from ._common import CliError, ExitCode
    from ._input import FLAT_FIELDS, InputError, request_from_json

    given = {name: fields[name] for name in FLAT_FIELDS if fields.get(name) is not None}
    try:
        if json_body is not None:
            if given:
                options = ", ".join(f"--{name.replace('_', '-')}" for name in given)
                raise CliError(
                    f"give --json-body or field options, not both (got {options})",
                    ExitCode.USAGE,
                )
            try:
                data = json.loads(json_body.read())
            except ValueError as exc:
                raise CliError(f"--json-body is not valid JSON: {exc}", ExitCode.USAGE) from None
            return request_from_json(data)
        if not given.get("source_draft_id") and not given.get("recipe_id"):
            raise CliError(
                "nothing to create: pass --source-draft-id or --recipe-id (with --name ... "
                "if you like), or the whole body with --json-body FILE",
                ExitCode.USAGE,
            )
        return request_from_json(given)
    except InputError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
