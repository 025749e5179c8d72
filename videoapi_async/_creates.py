"""What a create sends and what its answer says: the pure steps around `VideoAPI.create_video`.

The request from a request object or the flat form's keyword arguments, the body with
its correlation id, what a half-readable answer still tells, and the checks of a bulk
create before anything is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ._models import CreateVideoRequest, SourceDraftVideoRequest
from ._recovery import new_correlation_id
from ._requests import build_create_body
from .contract import REQUEST_ID_HEADER

__all__ = [
    "answer_ids",
    "check_bulk",
    "check_render_fields",
    "create_body",
    "create_request",
]


def create_request(
    caller: str, request: CreateVideoRequest | None, flat: Mapping[str, str | None]
) -> CreateVideoRequest:
    """Return the request object, or the flat form built from keyword arguments."""
    if request is None:
        return SourceDraftVideoRequest(**flat)
    given = ", ".join(k for k, v in flat.items() if v is not None)
    if given:
        raise TypeError(
            f"pass either a request object or keyword arguments to {caller}, not both "
            f"(got a {type(request).__name__} and {given})"
        )
    return request


def check_render_fields(fields: Collection[str], flat_fields: Collection[str]) -> None:
    """Refuse keyword arguments of `VideoAPI.render` that are not flat create fields."""
    unknown = set(fields) - set(flat_fields)
    if unknown:
        raise TypeError(
            f"render() got unexpected keyword arguments: {', '.join(sorted(unknown))}; "
            f"it takes {', '.join(sorted(flat_fields))}, timeout and on_created"
        )


def create_body(
    request: CreateVideoRequest, extra_body: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return the JSON body of a create, with a fresh ``correlation_id`` if it has none.

    A ``correlation_id`` in ``extra_body`` is the one sent, so it is the one recorded.
    """
    body = build_create_body(request)
    body.setdefault("correlation_id", new_correlation_id())
    if extra_body is not None and "correlation_id" in extra_body:
        body["correlation_id"] = extra_body["correlation_id"]
    return body


def answer_ids(value: Any, headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Return the video id and the request id a create's unreadable answer still gives.

    The request id is the ``x-request-id`` header, else the body's ``req_id``.
    """
    created = value.get("id") if isinstance(value, dict) else None
    request_id = headers.get(REQUEST_ID_HEADER)
    if request_id is None and isinstance(value, dict):
        request_id = value.get("req_id")
    return (created if isinstance(created, str) and created else None), request_id


def check_bulk(requests: Any, concurrency: Any) -> None:
    """Check the arguments of `VideoAPI.create_videos` before anything is sent."""
    if not isinstance(requests, (list, tuple)):
        raise TypeError(
            f"create_videos takes a list of create requests, got {type(requests).__name__}"
        )
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    for index, request in enumerate(requests):
        try:
            build_create_body(request)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"requests[{index}]: {exc}") from exc
