"""Pure tests of the protocol: paths, deciphering every status, Retry-After, retry rules."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from multidict import CIMultiDict

from videoapi_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
)
from videoapi_async._protocol import (
    decipher_response,
    parse_retry_after,
    status_error,
    video_path,
)
from videoapi_async._retry import is_retryable

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def headers(**values: str) -> CIMultiDict[str]:
    return CIMultiDict({k.replace("_", "-"): v for k, v in values.items()})


def decipher(status: int, body: Any = b"", **hdrs: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return decipher_response(status, headers(**hdrs), raw, method="GET", path="/videos/v")


class TestVideoPath:
    @pytest.mark.parametrize(
        ("video_id", "path"),
        [
            ("abc-123", "/videos/abc-123"),
            ("a/b", "/videos/a%2Fb"),
            ("../x", "/videos/..%2Fx"),
            ("a?b#c", "/videos/a%3Fb%23c"),
            ("sp ace", "/videos/sp%20ace"),
            ("100%", "/videos/100%25"),
            ("vidé", "/videos/vid%C3%A9"),
        ],
    )
    def test_ids_are_one_encoded_segment(self, video_id: str, path: str) -> None:
        """Any id is percent-encoded as exactly one path segment."""
        assert video_path(video_id) == path

    def test_suffix(self) -> None:
        """The metadata path appends after the encoded id."""
        assert video_path("a/b", "/metadata") == "/videos/a%2Fb/metadata"

    @pytest.mark.parametrize(
        ("video_id", "error", "needle"),
        [
            ("", ValueError, "must not be empty"),
            ("x" * 1025, ValueError, "1025 characters"),
            ("a\nb", ValueError, "control characters"),
            ("a\x00", ValueError, "control characters"),
            ("..", ValueError, "would change the path"),
            (".", ValueError, "would change the path"),
            (12, TypeError, "must be a string"),
            (None, TypeError, "must be a string"),
        ],
    )
    def test_bad_ids_are_rejected(self, video_id: Any, error: type[Exception], needle: str) -> None:
        """Ids that cannot be a path segment are refused before sending, saying why."""
        with pytest.raises(error, match=needle):
            video_path(video_id)


class TestDecipher:
    def test_success_returns_json(self) -> None:
        """2xx answers return the decoded body."""
        assert decipher(200, {"id": "v"}) == {"id": "v"}
        assert decipher(201, [1]) == [1]

    def test_no_content(self) -> None:
        """An empty 2xx body (e.g. 204) is None."""
        assert decipher(204) is None

    def test_success_with_html_body(self) -> None:
        """A 200 with an HTML page is a decode error flagged as malformed JSON."""
        with pytest.raises(ResponseDecodeError) as info:
            decipher(200, b"<html>oops</html>")
        assert info.value.malformed_json
        assert info.value.status_code == 200
        assert "not JSON" in str(info.value)

    def test_truncated_json(self) -> None:
        """A cut-off JSON body is a decode error with an excerpt."""
        with pytest.raises(ResponseDecodeError) as info:
            decipher(200, b'{"id": "v", "stat')
        assert info.value.body_excerpt.startswith('{"id"')

    @pytest.mark.parametrize("status", [401, 403])
    def test_auth(self, status: int) -> None:
        """401 and 403 raise AuthenticationError saying how to set the key."""
        with pytest.raises(AuthenticationError) as info:
            decipher(status, {"detail": "Not authenticated"})
        assert info.value.status_code == status
        assert info.value.detail == "Not authenticated"
        assert "VIDEOAPI_API_KEY" in str(info.value)

    def test_not_found(self) -> None:
        """404 raises NotFoundError with the server's detail."""
        with pytest.raises(NotFoundError) as info:
            decipher(404, {"detail": "Video not found"})
        assert info.value.detail == "Video not found"
        assert "GET /videos/v" in str(info.value)

    def test_validation(self) -> None:
        """422 raises RequestValidationError naming each bad field."""
        detail = [
            {"loc": ["body", "scenes", 0, "name"], "msg": "field required", "type": "x"},
            {"loc": ["body", "correlation_id"], "msg": "too long", "type": "y", "ctx": {}},
        ]
        with pytest.raises(RequestValidationError) as info:
            decipher(422, {"detail": detail})
        errors = info.value.errors
        assert [e.field for e in errors] == ["scenes.0.name", "correlation_id"]
        assert errors[0].loc == ("body", "scenes", 0, "name")
        assert "scenes.0.name: field required" in str(info.value)
        assert "correlation_id: too long" in str(info.value)

    def test_validation_with_odd_body(self) -> None:
        """A 422 without FastAPI's list still raises, with no parsed errors."""
        with pytest.raises(RequestValidationError) as info:
            decipher(422, {"detail": "bad"})
        assert info.value.errors == ()
        assert "bad" in str(info.value)

    def test_rate_limit(self) -> None:
        """429 raises RateLimitError with Retry-After in seconds."""
        with pytest.raises(RateLimitError) as info:
            decipher(429, {"detail": "slow down"}, Retry_After="7")
        assert info.value.retry_after == 7.0
        assert info.value.headers["retry-after"] == "7"
        assert "retry after 7 s" in str(info.value)

    def test_rate_limit_without_header(self) -> None:
        """429 without Retry-After still raises, with retry_after None."""
        with pytest.raises(RateLimitError) as info:
            decipher(429)
        assert info.value.retry_after is None

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_html_gateway_errors(self, status: int) -> None:
        """5xx with an HTML page raises ServerError whose detail is the page title."""
        with pytest.raises(ServerError) as info:
            decipher(status, HTML_502, Content_Type="text/html")
        assert info.value.detail == "502 Bad Gateway"
        assert info.value.status_code == status

    def test_other_client_errors(self) -> None:
        """Other 4xx raise the APIStatusError base class."""
        with pytest.raises(APIStatusError) as info:
            decipher(409, {"detail": "conflict"})
        assert type(info.value) is APIStatusError
        assert info.value.status_code == 409

    def test_plain_text_error(self) -> None:
        """A non-JSON error body becomes a short whitespace-collapsed excerpt."""
        error = status_error(500, headers(), b"boom\n\n  again", method="GET", path="/videos")
        assert error.detail == "boom again"


class TestRetryAfter:
    def test_seconds(self) -> None:
        """Delta-seconds are read as seconds, never negative."""
        assert parse_retry_after("120") == 120.0
        assert parse_retry_after(" 1.5 ") == 1.5
        assert parse_retry_after("-3") == 0.0

    def test_http_date(self) -> None:
        """An HTTP date becomes the seconds until then; past dates mean now."""
        now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
        later = format_datetime(now + timedelta(seconds=30), usegmt=True)
        earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
        assert parse_retry_after(later, now=now) == 30.0
        assert parse_retry_after(earlier, now=now) == 0.0

    @pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "Mon, 99 Foo"])
    def test_unreadable(self, value: str | None) -> None:
        """Absent or unreadable values are None, so the normal backoff applies."""
        assert parse_retry_after(value) is None


def api_error(status: int, retry_after: float | None = None) -> APIStatusError:
    hdrs = headers(Retry_After=str(retry_after)) if retry_after is not None else headers()
    return status_error(status, hdrs, b"", method="GET", path="/videos")


class TestRetryRules:
    policy = RetryPolicy(max_retry_after=60)

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    def test_reads_retry_transient_statuses(self, status: int) -> None:
        """Reads are retried on 408, 429 and 5xx."""
        assert is_retryable(api_error(status), idempotent=True, policy=self.policy)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 501])
    def test_reads_do_not_retry_permanent_statuses(self, status: int) -> None:
        """Client errors are not retried; retrying cannot fix them."""
        assert not is_retryable(api_error(status), idempotent=True, policy=self.policy)

    def test_reads_retry_connection_errors(self) -> None:
        """Reads are retried whatever happened to the connection."""
        sent = APITimeoutError("t", method="GET", path="/", request_sent=True)
        assert is_retryable(sent, idempotent=True, policy=self.policy)

    def test_creates_retry_only_when_the_server_did_not_act(self) -> None:
        """A create is retried on 429 or a connection that failed before sending, only."""
        not_sent = APIConnectionError("c", method="POST", path="/", request_sent=False)
        sent = APIConnectionError("c", method="POST", path="/", request_sent=True)
        assert is_retryable(not_sent, idempotent=False, policy=self.policy)
        assert is_retryable(api_error(429), idempotent=False, policy=self.policy)
        assert not is_retryable(sent, idempotent=False, policy=self.policy)
        for status in (408, 500, 502, 503, 504):
            assert not is_retryable(api_error(status), idempotent=False, policy=self.policy)

    def test_retry_after_past_the_cap_is_not_retried(self) -> None:
        """A server asking for a longer wait than the cap gets its error raised at once."""
        assert is_retryable(api_error(429, 60), idempotent=True, policy=self.policy)
        assert not is_retryable(api_error(429, 61), idempotent=True, policy=self.policy)

    def test_malformed_bodies_are_retried_but_wrong_shapes_are_not(self) -> None:
        """Garbled bodies are often transient; JSON of the wrong shape will not change."""
        garbled = ResponseDecodeError(
            "x", status_code=200, method="GET", path="/", body_excerpt="", malformed_json=True
        )
        shaped = ResponseDecodeError("x", status_code=200, method="GET", path="/", body_excerpt="")
        assert is_retryable(garbled, idempotent=True, policy=self.policy)
        assert not is_retryable(shaped, idempotent=True, policy=self.policy)
        assert not is_retryable(garbled, idempotent=False, policy=self.policy)

    def test_foreign_exceptions_are_never_retried(self) -> None:
        """Cancellation and programming errors pass straight through."""
        import asyncio

        for exc in (asyncio.CancelledError(), KeyError("x"), RuntimeError()):
            assert not is_retryable(exc, idempotent=True, policy=self.policy)


MISSING_TYPE_DETAILS = [
    [  # pydantic v1 discriminated union (FastAPI < 0.100)
        {
            "loc": ["body"],
            "msg": "Discriminator 'type' is missing in value",
            "type": "value_error.discriminated_union.missing_discriminator",
            "ctx": {"discriminator_key": "type"},
        }
    ],
    [  # pydantic v2
        {
            "type": "union_tag_not_found",
            "loc": ["body"],
            "msg": "Unable to extract tag using discriminator 'type'",
            "ctx": {"discriminator": "'type'"},
        }
    ],
    [{"loc": ["body", "type"], "msg": "field required", "type": "value_error.missing"}],
]


@pytest.mark.parametrize("detail", MISSING_TYPE_DETAILS)
def test_missing_type_422_says_which_tagged_form_to_use(detail: list[dict[str, Any]]) -> None:
    """A 422 for a create without `type` names the tagged forms and how to send them."""
    body = json.dumps({"detail": detail}).encode()
    error = status_error(422, headers(), body, method="POST", path="/videos")
    assert isinstance(error, RequestValidationError)
    message = str(error)
    for needle in ("OverrideVideoRequest", "'override'", "NewVideoRequest", "'create'"):
        assert needle in message
    assert "WorkflowVideoRequest" in message
    assert "create_video(request)" in message


def test_other_422s_carry_no_tagged_form_advice() -> None:
    """A 422 about another field, or on another call, is not mistaken for a missing `type`."""
    detail = [{"loc": ["body", "name"], "msg": "str type expected", "type": "type_error.str"}]
    body = json.dumps({"detail": detail}).encode()
    error = status_error(422, headers(), body, method="POST", path="/videos")
    assert "OverrideVideoRequest" not in str(error)
    missing = json.dumps({"detail": MISSING_TYPE_DETAILS[0]}).encode()
    error = status_error(422, headers(), missing, method="POST", path="/videos/v/subtitles")
    assert "OverrideVideoRequest" not in str(error)
