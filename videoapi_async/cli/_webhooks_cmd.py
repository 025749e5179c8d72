"""``videoapi webhooks ...``: manage the account's webhooks; ``videoapi create-example``.

These calls take the bearer token (``VIDEOAPI_BEARER_TOKEN``), not the API key.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from videoapi_async import Webhook
from videoapi_async.contract import CREATE_EXAMPLE_TYPES, WEBHOOK_EVENTS

from ._common import ExitCode, Settings, call, emit_json, human_console
from ._options import api_command
from ._root import command_help

__all__ = ["create_example", "webhooks"]

_EVENT = click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(WEBHOOK_EVENTS),
    help="An event to deliver (repeat for several). Default for create: both.",
)
_DESCRIPTION = click.option("--description", help="What the webhook is for.")


def _webhook_json(hook: Webhook, *, secret: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "description": hook.description,
        "status": hook.status.value if hook.status is not None else None,
        "events": list(hook.events),
        "created_at": hook.created_at,
        "updated_at": hook.updated_at,
    }
    if secret:
        shown["signing_secret"] = hook.signing_secret
    return shown


def _show(hook: Webhook, as_json: bool, *, secret: bool = False, action: str = "") -> int:
    if as_json:
        emit_json(_webhook_json(hook, secret=secret))
        return ExitCode.OK
    console = human_console()
    status = hook.status.value if hook.status is not None else "unknown"
    console.print(f"{action}{hook.id}  {hook.name}  {status}  {', '.join(hook.events)}")
    console.print(f"url: {hook.url}")
    if secret and hook.signing_secret is not None:
        console.print(f"signing secret: {hook.signing_secret}")
    return ExitCode.OK


@click.group(
    help=command_help(
        "webhooks",
        "These commands need the bearer token in VIDEOAPI_BEARER_TOKEN (the API key does not "
        "work for them). Verify deliveries with the signing secret that `create` and "
        "`rotate-secret` print.",
    )
)
def webhooks() -> None:
    """Group ``videoapi webhooks`` (its help is in `COMMANDS` and the decorator)."""


@webhooks.command(name="list")
@api_command
def list_webhooks(*, settings: Settings, as_json: bool) -> int:
    """List the account's webhooks (without their secrets)."""
    found = call(settings, lambda api: api.webhooks.list())
    if as_json:
        emit_json([_webhook_json(hook, secret=False) for hook in found])
        return ExitCode.OK
    table = Table(box=None)
    widest = max((len(hook.id) for hook in found), default=2)
    table.add_column("id", no_wrap=True, min_width=widest)  # ids are copied whole
    for column in ("name", "status", "events", "url"):
        table.add_column(column, overflow="fold")
    for hook in found:
        status = hook.status.value if hook.status is not None else ""
        table.add_row(hook.id, hook.name, status, ", ".join(hook.events), hook.url)
    human_console().print(table if found else "No webhooks.")
    return ExitCode.OK


@webhooks.command()
@click.argument("webhook_id")
@api_command
def get(webhook_id: str, *, settings: Settings, as_json: bool) -> int:
    """Show one webhook, its signing secret included."""
    hook = call(settings, lambda api: api.webhooks.get(webhook_id))
    return _show(hook, as_json, secret=True)


@webhooks.command()
@click.option("--name", required=True, help="The webhook's name.")
@click.option("--url", required=True, help="The http(s) URL that receives deliveries.")
@_EVENT
@_DESCRIPTION
@api_command
def create(
    *,
    name: str,
    url: str,
    events: tuple[str, ...],
    description: str | None,
    settings: Settings,
    as_json: bool,
) -> int:
    """Register a webhook and print its signing secret."""
    hook = call(
        settings,
        lambda api: api.webhooks.create(
            name=name, url=url, events=events or WEBHOOK_EVENTS, description=description
        ),
    )
    return _show(hook, as_json, secret=True, action="Created ")


@webhooks.command()
@click.argument("webhook_id")
@click.option("--name", required=True, help="The webhook's name.")
@click.option("--url", required=True, help="The http(s) URL that receives deliveries.")
@_EVENT
@_DESCRIPTION
@api_command
def update(
    webhook_id: str,
    *,
    name: str,
    url: str,
    events: tuple[str, ...],
    description: str | None,
    settings: Settings,
    as_json: bool,
) -> int:
    """Replace a webhook's name and URL (and its events and description, when given)."""
    hook = call(
        settings,
        lambda api: api.webhooks.update(
            webhook_id, name=name, url=url, events=events or None, description=description
        ),
    )
    return _show(hook, as_json, action="Updated ")


@webhooks.command()
@click.argument("webhook_id")
@click.option("--missing-ok", is_flag=True, help="Succeed when the webhook is already gone.")
@api_command
def delete(webhook_id: str, *, missing_ok: bool, settings: Settings, as_json: bool) -> int:
    """Delete a webhook."""
    call(settings, lambda api: api.webhooks.delete(webhook_id, missing_ok=missing_ok))
    if as_json:
        emit_json({"webhook_id": webhook_id, "deleted": True})
    else:
        human_console().print(f"Deleted webhook {webhook_id}.")
    return ExitCode.OK


@webhooks.command(name="rotate-secret")
@click.argument("webhook_id")
@api_command
def rotate_secret(webhook_id: str, *, settings: Settings, as_json: bool) -> int:
    """Give a webhook a new signing secret and print it.

    Deliveries signed with the old one may still arrive for a while: verify with both.
    """
    hook = call(settings, lambda api: api.webhooks.rotate_secret(webhook_id))
    return _show(hook, as_json, secret=True, action="New secret for ")


@webhooks.command(name="toggle-pause")
@click.argument("webhook_id")
@api_command
def toggle_pause(webhook_id: str, *, settings: Settings, as_json: bool) -> int:
    """Pause a webhook's deliveries, or resume them if it is paused."""
    hook = call(settings, lambda api: api.webhooks.toggle_pause(webhook_id))
    return _show(hook, as_json)


@webhooks.command(name="toggle-active")
@click.argument("webhook_id")
@api_command
def toggle_active(webhook_id: str, *, settings: Settings, as_json: bool) -> int:
    """Make an active webhook inactive, or an inactive one active."""
    hook = call(settings, lambda api: api.webhooks.toggle_active(webhook_id))
    return _show(hook, as_json)


@click.command(name="create-example", help=command_help("create-example"))
@click.argument("draft_id")
@click.option(
    "--type",
    "example_type",
    default="create",
    show_default=True,
    type=click.Choice(CREATE_EXAMPLE_TYPES),
    help="Which create form to show.",
)
@click.option("--curl", "show_curl", is_flag=True, help="Print the curl command line instead.")
@api_command
def create_example(
    draft_id: str, *, example_type: str, show_curl: bool, settings: Settings, as_json: bool
) -> int:
    """Run ``videoapi create-example`` (its help is in `COMMANDS`)."""
    example = call(settings, lambda api: api.get_create_example(draft_id, example_type))
    if show_curl and not as_json:
        human_console().print(example.curl)
    else:
        emit_json(dict(example.json_request))
    return ExitCode.OK
