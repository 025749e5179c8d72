"""The webhooks registered through the API, per account, and their bearer-token routes.

Served under ``Authorization: Bearer <token>`` (``Sandbox.bearer_token``): list, create,
read, update and delete webhooks, rotate a signing secret, toggle pause and active
states, and the create example of a project. A registered webhook that is ``active``
gets the deliveries of its events, signed with its own ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import attrs
from aiohttp import web

from videoapi_async.contract import CREATE_EXAMPLE_TYPES, MAX_URL, WEBHOOK_EVENTS

from ._config import WebhookConfig
from ._more_routes import Result, body_error, read_body
from ._routes import (
    ROUTE_CREATE_EXAMPLE,
    ROUTE_WEBHOOK_CREATE,
    ROUTE_WEBHOOK_DELETE,
    ROUTE_WEBHOOK_GET,
    ROUTE_WEBHOOK_PAUSE,
    ROUTE_WEBHOOK_SECRET,
    ROUTE_WEBHOOK_TOGGLE,
    ROUTE_WEBHOOK_UPDATE,
    ROUTE_WEBHOOKS_LIST,
)
from ._store import dump_json
from ._validation import BodyError

__all__ = ["RegisteredWebhook", "WebhookRegistry", "serve_bearer_route"]

_JSON: Final = "application/json"


@attrs.define
class RegisteredWebhook:
    """One webhook as the API keeps it."""

    id: str
    name: str
    url: str
    events: list[str]
    signing_secret: str
    created_at: str
    updated_at: str
    description: str | None = None
    status: str = "active"

    def view(self) -> dict[str, Any]:
        """Return the webhook as the API shows it (``WebhookResponse``)."""
        shown = attrs.asdict(self)
        if self.description is None:
            del shown["description"]
        return shown

    def delivery_config(self) -> WebhookConfig | None:
        """Return how to deliver to it now, or ``None`` when it takes no deliveries."""
        if self.status != "active" or not self.events:
            return None
        return WebhookConfig(self.url, self.signing_secret, events=tuple(self.events))


def _error(status: int, detail: Any) -> Result:
    return status, dump_json({"detail": detail}), _JSON, []


def _missing(field: str) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": "field required", "type": "value_error.missing"}


def _check_body(raw: bytes, *, events_required: bool) -> dict[str, Any] | Result:
    """Validate a webhook body as the API would; return its fields or a 422."""
    try:
        body = json.loads(raw)
    except ValueError:
        return _error(422, [{"loc": ["body"], "msg": "invalid JSON", "type": "value_error"}])
    if not isinstance(body, dict):
        return _error(422, [{"loc": ["body"], "msg": "expected an object", "type": "type_error"}])
    problems: list[dict[str, Any]] = []
    required = ("name", "url", "events") if events_required else ("name", "url")
    problems += [_missing(field) for field in required if field not in body]
    for field in ("name", "description"):
        if field in body and not isinstance(body[field], str):
            problems.append(
                {"loc": ["body", field], "msg": "str type expected", "type": "type_error.str"}
            )
    url = body.get("url")
    if "url" in body:
        parts = urlsplit(url) if isinstance(url, str) and len(url) <= MAX_URL else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                {
                    "loc": ["body", "url"],
                    "msg": "invalid or missing URL scheme",
                    "type": "value_error.url",
                }
            )
    events = body.get("events")
    if "events" in body and (
        not isinstance(events, list) or any(event not in WEBHOOK_EVENTS for event in events)
    ):
        problems.append(
            {
                "loc": ["body", "events"],
                "msg": "value is not a valid enumeration member; permitted: "
                + ", ".join(WEBHOOK_EVENTS),
                "type": "type_error.enum",
            }
        )
    if problems:
        return _error(422, problems)
    return body


class WebhookRegistry:
    """Every account's registered webhooks, and the answers of their routes."""

    def __init__(self, seed: int, wall_time: Callable[[], float]) -> None:
        """Make ids and secrets from `seed`; date changes with ``wall_time()``."""
        self._rng = random.Random(f"videoapi-sandbox:{seed}:webhook-registry")
        self._wall_time = wall_time
        self._hooks: dict[str, dict[str, RegisteredWebhook]] = {}

    def webhooks(self, api_key: str) -> list[RegisteredWebhook]:
        """Return the account's webhooks, oldest first."""
        return list(self._hooks.get(api_key, {}).values())

    def delivery_configs(self, api_key: str) -> list[tuple[str, WebhookConfig]]:
        """Return ``(webhook id, how to deliver)`` for each webhook taking deliveries now."""
        configs = []
        for hook in self.webhooks(api_key):
            config = hook.delivery_config()
            if config is not None:
                configs.append((hook.id, config))
        return configs

    def delivery_config(self, api_key: str, webhook_id: str) -> WebhookConfig | None:
        """Return how to deliver to one webhook now (``None``: deleted, paused or inactive)."""
        hook = self._hooks.get(api_key, {}).get(webhook_id)
        return hook.delivery_config() if hook is not None else None

    def _now(self) -> str:
        stamp = dt.datetime.fromtimestamp(self._wall_time(), tz=dt.timezone.utc)
        return stamp.isoformat(timespec="seconds")

    def _secret(self) -> str:
        return "whsec_" + base64.b64encode(self._rng.randbytes(24)).decode()

    # -- routes ----------------------------------------------------------------------------

    def list_route(self, api_key: str) -> Result:
        """Answer ``GET /webhooks``."""
        return 200, dump_json([hook.view() for hook in self.webhooks(api_key)]), _JSON, []

    def create_route(self, api_key: str, raw: bytes) -> Result:
        """Answer ``POST /webhooks``: 201 with the new webhook and its signing secret."""
        body = _check_body(raw, events_required=True)
        if not isinstance(body, dict):
            return body
        now = self._now()
        hook = RegisteredWebhook(
            id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            name=body["name"],
            url=body["url"],
            events=list(dict.fromkeys(body["events"])),
            signing_secret=self._secret(),
            created_at=now,
            updated_at=now,
            description=body.get("description"),
        )
        self._hooks.setdefault(api_key, {})[hook.id] = hook
        return 201, dump_json(hook.view()), _JSON, []

    def item_route(self, api_key: str, webhook_id: str, action: str, raw: bytes) -> Result:
        """Answer a route of one webhook (`action`: get, update, delete, secret, pause, toggle)."""
        hook = self._hooks.get(api_key, {}).get(webhook_id)
        if hook is None:
            return _error(404, "Webhook not found")
        if action == "get":
            return 200, dump_json(hook.view()), _JSON, []
        if action == "delete":
            del self._hooks[api_key][webhook_id]
            return 204, None, _JSON, []
        if action == "update":
            body = _check_body(raw, events_required=False)
            if not isinstance(body, dict):
                return body
            hook.name, hook.url = body["name"], body["url"]
            if "events" in body:
                hook.events = list(dict.fromkeys(body["events"]))
            if "description" in body:
                hook.description = body["description"]
        elif action == "secret":
            hook.signing_secret = self._secret()
        elif action == "pause":
            hook.status = "active" if hook.status == "paused" else "paused"
        else:
            assert action == "toggle"
            hook.status = "inactive" if hook.status == "active" else "active"
        hook.updated_at = self._now()
        return 200, dump_json(hook.view()), _JSON, []

    def example_route(self, query: str) -> Result:
        """Answer ``GET /examples/create-video``: a create body for the draft, and its curl."""
        params = dict(parse_qsl(query))
        draft_id = params.get("draft_id")
        if not draft_id:
            return _error(422, [_missing("draft_id") | {"loc": ["query", "draft_id"]}])
        example_type = params.get("example_type", "create")
        if example_type not in CREATE_EXAMPLE_TYPES:
            return _error(
                400,
                f"unknown example_type {example_type!r}: use one of "
                f"{', '.join(CREATE_EXAMPLE_TYPES)}",
            )
        request = _example_body(draft_id, example_type)
        curl = (
            "curl -X POST https://api.makereals.com/api/v1/videos "
            "-H 'api-key: <YOUR_API_KEY>' -H 'Content-Type: application/json' "
            f"-d '{json.dumps(request)}'"
        )
        return 200, dump_json({"curl": curl, "json_request": request}), _JSON, []


def _example_body(draft_id: str, example_type: str) -> dict[str, Any]:
    if example_type == "override":
        return {
            "type": "override",
            "source_draft_id": draft_id,
            "name": "My video",
            "scenes": [{"name": "Scene 1", "texts": ["Hello"], "transcript": "Hello!"}],
        }
    if example_type == "create_video_from_workflow":
        return {
            "type": "workflow",
            "workflow_id": draft_id,
            "variables": [{"name": "title", "variable_id": "v1", "value": "Hello"}],
        }
    return {
        "type": "create",
        "template_id": "template-1",
        "character_id": "character-1",
        "voice_id": "voice-1",
        "name": "My video",
        "scenes": [
            {
                "name": "Scene 1",
                "layout_id": "layout-1",
                "texts_elements": [{"id": "t1", "text": "Hello"}],
                "transcript": "Hello!",
            }
        ],
    }


_ACTIONS: Final = {
    ROUTE_WEBHOOK_GET: "get",
    ROUTE_WEBHOOK_UPDATE: "update",
    ROUTE_WEBHOOK_DELETE: "delete",
    ROUTE_WEBHOOK_SECRET: "secret",
    ROUTE_WEBHOOK_PAUSE: "pause",
    ROUTE_WEBHOOK_TOGGLE: "toggle",
}


async def serve_bearer_route(
    registry: WebhookRegistry,
    request: web.BaseRequest,
    route: str,
    api_key: str,
    webhook_id: str | None,
) -> Result:
    """Answer one of the `BEARER_ROUTES` for the account `api_key`."""
    if route == ROUTE_WEBHOOKS_LIST:
        return registry.list_route(api_key)
    if route == ROUTE_CREATE_EXAMPLE:
        return registry.example_route(request.query_string)
    raw = b""
    if route in (ROUTE_WEBHOOK_CREATE, ROUTE_WEBHOOK_UPDATE):
        try:
            raw = await read_body(request)
        except BodyError as exc:  # e.g. 413, body over the size limit
            return body_error(exc)
    if route == ROUTE_WEBHOOK_CREATE:
        return registry.create_route(api_key, raw)
    assert webhook_id is not None
    return registry.item_route(api_key, webhook_id, _ACTIONS[route], raw)
