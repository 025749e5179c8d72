"""A header sent more than once reaches the user whole: every value, in order, redacted."""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections.abc import Mapping

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

from videoapi_async import APIStatusError, RateLimitError, RetryPolicy, VideoAPI

from .conftest import CANARY_KEY, VIDEO
from .rawserver import raw_server, request_key

FIRST_COOKIE = "session=one; Path=/"
NEXT = '<https://api.example.test/videos?page=2>; rel="next"'
LAST = '<https://api.example.test/videos?page=9>; rel="last"'


def sent_headers(key: str) -> list[tuple[str, str]]:
    """Return the headers the server sends: two Set-Cookie (one echoing `key`), two Link."""
    return [
        ("Set-Cookie", FIRST_COOKIE),
        ("Link", NEXT),
        ("Set-Cookie", f"echo={key}; Path=/"),
        ("X-Single", "only"),
        ("Link", LAST),
        ("Content-Type", "application/json"),
        ("Connection", "close"),
    ]


# What the user must see: the same pairs in the same order, the key blanked out.
SHOWN = [
    (name, value.replace(CANARY_KEY, "[redacted]")) for name, value in sent_headers(CANARY_KEY)
]


def answer(status: int, body: object) -> object:
    """Return a raw server that answers `status` with `body` and the repeated headers."""

    async def respond(head: bytes, writer: asyncio.StreamWriter) -> None:
        payload = orjson.dumps(body)
        lines = [f"HTTP/1.1 {status} Whatever"]
        lines += [f"{name}: {value}" for name, value in sent_headers(request_key(head))]
        lines.append(f"Content-Length: {len(payload)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()

    return respond


def assert_faithful(headers: Mapping[str, str]) -> None:
    """Check `headers` behaves as aiohttp's CIMultiDictProxy of SHOWN (and the length) does."""
    assert isinstance(headers, MultiMapping)
    expected = CIMultiDictProxy(
        CIMultiDict([*SHOWN, ("Content-Length", headers["content-length"])])
    )
    assert list(headers.items()) == list(expected.items())
    assert list(headers.values()) == list(expected.values())
    assert list(headers) == list(headers.keys()) == list(expected)
    assert len(headers) == len(headers.items()) == len(headers.values()) == len(expected)
    assert len(headers.keys()) == len(expected.keys())
    assert headers.getall("set-cookie") == [FIRST_COOKIE, "echo=[redacted]; Path=/"]
    assert headers.getall("LINK") == [NEXT, LAST]
    assert headers["SET-COOKIE"] == headers.get("set-cookie") == FIRST_COOKIE
    assert headers.getone("Link") == NEXT
    assert ("Set-Cookie", "echo=[redacted]; Path=/") in headers.items()
    assert "set-cookie" in headers
    assert "X-SINGLE" in headers
    assert "x-missing" not in headers
    assert headers.get("x-missing") is None
    assert headers.getall("x-missing", []) == []
    assert headers.getone("x-missing", "none") == "none"
    with pytest.raises(KeyError):
        headers.getall("x-missing")
    with pytest.raises(KeyError):
        headers.getone("x-missing")
    assert CANARY_KEY not in repr(headers)
    assert repr(headers).count("Set-Cookie") == 2


@pytest.mark.e2e
async def test_raw_response_keeps_every_value_of_a_repeated_header() -> None:
    """with_raw_response's headers give each value of a repeated header, in order, redacted."""
    async with (
        raw_server(answer(200, VIDEO)) as base_url,  # type: ignore[arg-type]
        VideoAPI(CANARY_KEY, base_url=base_url, retry=RetryPolicy.disabled()) as api,
    ):
        raw = await api.with_raw_response(api.get_video, "vid-1")
    assert raw.parsed.id == "vid-1"
    assert_faithful(raw.headers)


@pytest.mark.e2e
async def test_error_keeps_every_value_of_a_repeated_header_through_pickling() -> None:
    """An error's headers, and their pickled or copied form, keep every repeated value."""
    async with (
        raw_server(answer(400, {"detail": "no"})) as base_url,  # type: ignore[arg-type]
        VideoAPI(CANARY_KEY, base_url=base_url, retry=RetryPolicy.disabled()) as api,
    ):
        with pytest.raises(APIStatusError) as info:
            await api.get_video("vid-1")
    assert_faithful(info.value.headers)
    pickled = pickle.dumps(info.value)
    assert CANARY_KEY.encode() not in pickled
    for restored in (pickle.loads(pickled), copy.deepcopy(info.value)):
        assert isinstance(restored, APIStatusError)
        assert_faithful(restored.headers)


def test_an_error_given_plain_headers_reads_them_case_insensitively_and_multi_valued() -> None:
    """An error built with a dict of headers (as the request budget does) has getall too."""
    error = RateLimitError(
        "GET /videos was not sent",
        retry_after=None,
        status_code=429,
        detail=None,
        headers={"Retry-After": "3"},
        method="GET",
        path="/videos",
    )
    for headers in (error.headers, pickle.loads(pickle.dumps(error)).headers):
        assert isinstance(headers, MultiMapping)
        assert headers.getall("retry-after") == ["3"]
        assert headers["RETRY-AFTER"] == "3"
        assert headers.getall("Set-Cookie", []) == []
