"""The calls under a bearer token: webhook management and the ready-made create example.

`Webhooks` (reachable as `VideoAPI.webhooks`) lists, creates, reads, updates and deletes
the account's webhooks, rotates a webhook's signing secret and toggles its pause and
active states. `get_create_example` reads the create body the API suggests for a project.
All of them go through the client's one request path (budget, retries, errors) with
``Authorization: Bearer <token>`` instead of the ``api-key`` header.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._errors import APIStatusError, AuthenticationError, NotFoundError
from ._models import OpenEnum
from ._protocol import _expect_array, _expect_object, _structure, encode_id
from ._requester import Requester
from .contract import CREATE_EXAMPLE_TYPES, MAX_URL, WEBHOOK_EVENTS

__all__ = [
    "CreateExample",
    "Webhook",
    "WebhookStatus",
    "Webhooks",
    "get_create_example",
]


class WebhookStatus(OpenEnum):
    """A webhook's state: ``active``, ``inactive``, ``paused`` or ``pending``.

    A value the API adds later is kept as a pseudo-member, as for `VideoStatus`.
    """

    ACTIVE = "active"
    INACTIVE = "inactive"
    PAUSED = "paused"
    PENDING = "pending"


@attrs.frozen(kw_only=True)
class Webhook:
    """A registered webhook.

    Attributes:
        id: The webhook's id.
        name: Its name.
        url: Where deliveries are sent.
        description: Its description, if any.
        status: Whether deliveries are sent (``active``) or not, if the API says.
        events: The events delivered (``video.ready``, ``video.failed``).
        created_at: When it was created, as the API writes it.
        updated_at: When it last changed, as the API writes it.
        signing_secret: The secret its deliveries are signed with, when the API returns
            it; give it to `videoapi_async.webhooks.WebhookVerifier`. Not in the repr.
    """

    id: str
    name: str
    url: str
    description: str | None = None
    status: WebhookStatus | None = None
    events: tuple[str, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None
    signing_secret: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class CreateExample:
    """The create call the API suggests for a project.

    Attributes:
        json_request: The body to send to ``POST /videos`` (the tagged create form).
        curl: The same call as a ``curl`` command line. Not in the repr.
    """

    json_request: Mapping[str, Any]
    curl: str = attrs.field(repr=False)


def _parse_webhook(data: Any, method: str, path: str, status: int) -> Webhook:
    _expect_object(data, "Webhook", method, path, status)
    if data.get("events", ()) is None:  # tolerated: null for "none listed"
        data = {key: value for key, value in data.items() if key != "events"}
    return _structure(data, Webhook, method, path, status)


def _parse_webhooks(data: Any, method: str, path: str, status: int) -> list[Webhook]:
    _expect_array(data, "list of Webhook", method, path, status)
    return [_parse_webhook(item, method, path, status) for item in data]


def _webhook_path(webhook_id: str, suffix: str = "") -> str:
    return f"/webhooks/{encode_id(webhook_id, 'webhook_id')}{suffix}"


def _check_text(name: str, value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _check_url(url: object) -> str:
    text = _check_text("url", url, required=True)
    assert text is not None
    try:
        parts = urlsplit(text)
        good = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        good = False
    # The document says format "uri": printable ASCII only, anything else percent-encoded.
    if not good or len(text) > MAX_URL or any(not "!" <= c <= "~" for c in text):
        raise ValueError(
            f"url must be an absolute http(s) URL of at most {MAX_URL} characters, with "
            f"spaces and non-ASCII characters percent-encoded, got {url!r}"
        )
    return text


def _check_events(events: Collection[str]) -> list[str]:
    if isinstance(events, str):
        events = (events,)
    chosen = list(dict.fromkeys(events))
    unknown = [event for event in chosen if event not in WEBHOOK_EVENTS]
    if unknown or not chosen:
        raise ValueError(
            f"events must be some of {', '.join(WEBHOOK_EVENTS)}, got {list(events)!r}"
        )
    return chosen


def _webhook_body(
    name: str, url: str, events: Collection[str] | None, description: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": _check_text("name", name, required=True),
        "url": _check_url(url),
    }
    if events is not None:
        body["events"] = _check_events(events)
    if _check_text("description", description, required=False) is not None:
        body["description"] = description
    return body


class Webhooks:
    """The account's webhooks: ``api.webhooks.list()``, ``.create(...)`` and so on.

    Every call needs the client's bearer token (``bearer_token=`` or
    ``VIDEOAPI_BEARER_TOKEN``); without one, `VideoAPIError` is raised before sending.
    Errors and retries are the client's: reads, updates, deletes and secret rotations are
    retried like any read; creates and the two toggles are re-sent only when the server
    certainly did not act on them, since repeating them would act twice.
    """

    def __init__(self, requester: Requester) -> None:
        """Send through the client's `requester`."""
        self._requester = requester

    def __repr__(self) -> str:
        return f"<Webhooks of {self._requester.base_url}>"

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = await self._requester.send(method, path, auth="bearer", **kwargs)
        except AuthenticationError as exc:
            raise _reworded(
                exc,
                "check the bearer token (pass bearer_token= or set "
                "VIDEOAPI_BEARER_TOKEN); the API key is not used here",
            ) from exc
        except NotFoundError as exc:
            raise _reworded(exc, "no such webhook for this bearer token") from exc
        return reply

    async def list(self) -> list[Webhook]:
        """Return every webhook of the account."""
        path = "/webhooks"
        reply = await self._send("GET", path)
        return _parse_webhooks(reply.value, "GET", path, reply.status)

    async def get(self, webhook_id: str) -> Webhook:
        """Return one webhook.

        Raises:
            NotFoundError: No webhook has this id.
        """
        path = _webhook_path(webhook_id)
        reply = await self._send("GET", path)
        return _parse_webhook(reply.value, "GET", path, reply.status)

    async def create(
        self,
        *,
        name: str,
        url: str,
        events: Collection[str] = WEBHOOK_EVENTS,
        description: str | None = None,
    ) -> Webhook:
        """Register a webhook: `url` receives the `events` (both by default), signed.

        The returned webhook carries the ``signing_secret`` to verify deliveries with.

        Raises:
            ValueError: A field is empty, the URL is not http(s), or an event is unknown
                (checked before sending).
        """
        body = _webhook_body(name, url, events, description)
        path = "/webhooks"
        reply = await self._send("POST", path, body=body, idempotent=False)
        return _parse_webhook(reply.value, "POST", path, reply.status)

    async def update(
        self,
        webhook_id: str,
        *,
        name: str,
        url: str,
        events: Collection[str] | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Replace a webhook's name and URL, and its events and description when given.

        Raises:
            ValueError: A field is empty, the URL is not http(s), or an event is unknown.
            NotFoundError: No webhook has this id.
        """
        body = _webhook_body(name, url, events, description)
        path = _webhook_path(webhook_id)
        reply = await self._send("PUT", path, body=body)
        return _parse_webhook(reply.value, "PUT", path, reply.status)

    async def delete(self, webhook_id: str, *, missing_ok: bool = False) -> None:
        """Delete a webhook; with `missing_ok`, one that does not exist counts as deleted.

        Raises:
            NotFoundError: No webhook has this id, unless `missing_ok`.
        """
        try:
            await self._send("DELETE", _webhook_path(webhook_id))
        except NotFoundError:
            if not missing_ok:
                raise

    async def rotate_secret(self, webhook_id: str) -> Webhook:
        """Give a webhook a new signing secret and return it (in ``signing_secret``).

        Deliveries signed with the old secret may still arrive for a while: verify with
        both, ``WebhookVerifier([new, old])``, until they stop.
        """
        path = _webhook_path(webhook_id, "/secret")
        reply = await self._send("PUT", path)
        return _parse_webhook(reply.value, "PUT", path, reply.status)

    async def toggle_pause(self, webhook_id: str) -> Webhook:
        """Pause a webhook's deliveries, or resume them if it is paused; return it."""
        path = _webhook_path(webhook_id, "/pause")
        reply = await self._send("PUT", path, idempotent=False)
        return _parse_webhook(reply.value, "PUT", path, reply.status)

    async def toggle_active(self, webhook_id: str) -> Webhook:
        """Make an active webhook inactive, or an inactive one active; return it."""
        path = _webhook_path(webhook_id, "/toggle-status")
        reply = await self._send("PUT", path, idempotent=False)
        return _parse_webhook(reply.value, "PUT", path, reply.status)


async def get_create_example(
    requester: Requester,
    draft_id: str,
    example_type: str = "create",
    *,
    headers: Mapping[str, str] | None = None,
) -> CreateExample:
    """Read the create body the API suggests for project `draft_id` (bearer token needed).

    Raises:
        ValueError: The draft id is empty or the example type unknown (before sending).
    """
    if not isinstance(draft_id, str) or not draft_id:  # any other string is an id
        raise ValueError(f"draft_id must be a non-empty string, got {draft_id!r}")
    if example_type not in CREATE_EXAMPLE_TYPES:
        raise ValueError(
            f"example_type must be one of {', '.join(CREATE_EXAMPLE_TYPES)}, got {example_type!r}"
        )
    path = "/examples/create-video"
    reply = await requester.send(
        "GET",
        path,
        query={"draft_id": draft_id, "example_type": example_type},
        headers=headers,
        auth="bearer",
    )
    _expect_object(reply.value, "CreateExample", "GET", path, reply.status)
    return _structure(reply.value, CreateExample, "GET", path, reply.status)


def _reworded(exc: APIStatusError, advice: str) -> APIStatusError:
    """Return the same error with its advice fitted to the bearer-token calls."""
    head = str(exc).split("): ", 1)[0] + ")" if "): " in str(exc) else str(exc)
    return type(exc)(
        f"{head}: {advice}",
        status_code=exc.status_code,
        detail=exc.detail,
        headers=exc.headers,
        method=exc.method,
        path=exc.path,
    )
