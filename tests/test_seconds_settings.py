"""Every setting given in seconds takes exactly the edges it documents, and says so when not."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from videoapi_async import (
    APIConnectionError,
    CreateOutcomeUnknownError,
    HTTPResponse,
    MockTransport,
    PollPolicy,
    RateLimit,
    RetryPolicy,
    Timeouts,
    VideoAPI,
)
from videoapi_async._waits import check_timeout
from videoapi_async.sandbox import (
    FaultConfig,
    RenderProfile,
    RouteFaults,
    Sandbox,
    VoicePreviewProfile,
    WebhookConfig,
)
from videoapi_async.sandbox._faults import Fault
from videoapi_async.sandbox._webhook_faults import WebhookFault
from videoapi_async.validators import check_seconds
from videoapi_async.webhooks import WebhookVerifier

VALUES: dict[str, object] = {
    "0": 0,
    "1e-9": 1e-9,
    "2": 2,
    "inf": math.inf,
    "None": None,
    "-1e-9": -1e-9,
    "nan": math.nan,
    "True": True,
    "'1'": "1",
    "10**400": 10**400,
}
"""The edges tried on every setting; only the first five can ever be accepted."""


def _find_created_video(grace: Any) -> None:
    """Call `VideoAPI.find_created_video` with ``grace`` against a server without videos."""

    async def no_wait(seconds: float) -> None:
        pass  # the grace passes at once

    async def run() -> None:
        api = VideoAPI(
            "k",
            base_url="https://api.example.test/api/v1",
            transport=MockTransport(lambda request: HTTPResponse.from_json([])),
            clock=lambda: 0.0,
            sleep=no_wait,
        )
        lost = CreateOutcomeUnknownError(
            "lost",
            body={"type": "workflow", "correlation_id": "c"},
            cause=APIConnectionError("reset", method="POST", path="/videos", request_sent=True),
        )
        async with api:
            assert await api.find_created_video(lost, grace=grace) is None

    asyncio.run(run())


_WEBHOOK = {"url": "http://127.0.0.1:9/hook", "secret": "s"}

# name in the error, build(value), zero accepted, math.inf accepted, None accepted
SETTINGS: list[tuple[str, Callable[[Any], object], bool, bool, bool]] = [
    ("Timeouts.connect", lambda v: Timeouts(connect=v), False, True, True),
    ("Timeouts.read", lambda v: Timeouts(read=v), False, True, True),
    ("RetryPolicy.max_elapsed", lambda v: RetryPolicy(max_elapsed=v), True, True, False),
    ("RetryPolicy.initial_backoff", lambda v: RetryPolicy(initial_backoff=v), True, True, False),
    ("RetryPolicy.max_backoff", lambda v: RetryPolicy(max_backoff=v), True, True, False),
    ("RetryPolicy.max_retry_after", lambda v: RetryPolicy(max_retry_after=v), True, True, False),
    ("RateLimit.recovery", lambda v: RateLimit(recovery=v), True, True, False),
    ("PollPolicy.first_poll", lambda v: PollPolicy(first_poll=v), False, False, False),
    (
        "PollPolicy.max_interval",
        lambda v: PollPolicy(max_interval=v, min_interval=1e-9),
        False,
        False,
        False,
    ),
    ("PollPolicy.min_interval", lambda v: PollPolicy(min_interval=v), False, False, False),
    ("PollPolicy.finish_margin", lambda v: PollPolicy(finish_margin=v), False, False, False),
    ("PollPolicy.max_failing", lambda v: PollPolicy(max_failing=v), False, False, False),
    (
        "PollPolicy.webhook_safety_interval",
        lambda v: PollPolicy(webhook_safety_interval=v),
        False,
        False,
        False,
    ),
    ("PollPolicy.stall_timeout", lambda v: PollPolicy(stall_timeout=v), False, False, True),
    ("a wait's timeout", check_timeout, False, True, True),
    ("WebhookVerifier's tolerance", lambda v: WebhookVerifier("s", tolerance=v), *(False,) * 3),
    ("find_created_video's grace", _find_created_video, True, False, False),
    ("RenderProfile.min_duration", lambda v: RenderProfile(min_duration=v), True, False, False),
    (
        "RenderProfile.max_duration",
        lambda v: RenderProfile(min_duration=0, max_duration=v),
        True,
        False,
        False,
    ),
    (
        "VoicePreviewProfile.min_duration",
        lambda v: VoicePreviewProfile(min_duration=v),
        True,
        False,
        False,
    ),
    (
        "VoicePreviewProfile.max_duration",
        lambda v: VoicePreviewProfile(min_duration=0, max_duration=v),
        True,
        False,
        False,
    ),
    ("RouteFaults.latency", lambda v: RouteFaults(latency=v), True, False, False),
    ("RouteFaults.latency_jitter", lambda v: RouteFaults(latency_jitter=v), True, False, False),
    ("FaultConfig.retry_after", lambda v: FaultConfig(retry_after=v), True, False, True),
    ("FaultConfig.delay", lambda v: FaultConfig(delay=v), True, False, False),
    ("FaultConfig.slow_body_pause", lambda v: FaultConfig(slow_body_pause=v), True, False, False),
    ("Fault.retry_after", lambda v: Fault("http_429", retry_after=v), True, False, True),
    ("Fault.seconds", lambda v: Fault("delay", seconds=v), True, False, True),
    ("WebhookFault.seconds", lambda v: WebhookFault("delay", seconds=v), True, False, True),
    ("WebhookConfig.delay", lambda v: WebhookConfig(**_WEBHOOK, delay=v), True, False, False),
    ("WebhookConfig.timeout", lambda v: WebhookConfig(**_WEBHOOK, timeout=v), *(False,) * 3),
    (
        "WebhookConfig.retry_delay",
        lambda v: WebhookConfig(**_WEBHOOK, retry_delay=v),
        True,
        False,
        False,
    ),
    (
        "WebhookConfig.fault_delay",
        lambda v: WebhookConfig(**_WEBHOOK, fault_delay=v),
        True,
        False,
        False,
    ),
    # math.inf: a render that never ends; None: the drawn duration
    ("Sandbox.create_video's duration", lambda v: Sandbox().create_video(duration=v), *(True,) * 3),
    (
        "Sandbox.create_voice_preview's duration",
        lambda v: Sandbox().create_voice_preview("Hello there.", "d", duration=v),
        *(True,) * 3,
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "zero", "infinite", "none"), SETTINGS, ids=[row[0] for row in SETTINGS]
)
def test_each_setting_takes_its_documented_edges(
    name: str, build: Callable[[Any], object], zero: bool, infinite: bool, none: bool
) -> None:
    """Positive finite numbers pass; 0, inf, None only where taken; the rest are refused."""
    accepted, messages = {}, {}
    for label, value in VALUES.items():
        try:
            build(value)
        except ValueError as error:
            accepted[label], messages[label] = False, str(error)
        else:
            accepted[label] = True
    for label, message in messages.items():
        assert message.startswith(f"{name} must be "), message
        assert f"got {VALUES[label]!r}" in message, message
    assert accepted == {
        "0": zero,
        "1e-9": True,
        "2": True,
        "inf": infinite,
        "None": none,
        "-1e-9": False,
        "nan": False,
        "True": False,
        "'1'": False,
        "10**400": False,
    }


@pytest.mark.parametrize(
    ("value", "flags", "message"),
    [
        (0, {}, "x must be a positive, finite number of seconds; got 0"),
        (-1, {"zero": True}, "x must be a finite number of seconds >= 0; got -1"),
        (-1, {"infinite": True}, "x must be a positive number of seconds or math.inf; got -1"),
        (
            -1,
            {"zero": True, "infinite": True, "none": "no limit", "default": 5.0},
            "x must be a number of seconds >= 0 or math.inf, or None for no limit; got -1 "
            "(the default is 5.0)",
        ),
    ],
)
def test_the_message_states_the_rule_the_value_and_the_default(
    value: float, flags: dict[str, Any], message: str
) -> None:
    """The error says which setting, what it takes, what was given and the default to pass."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_seconds(value, "x", **flags)


def test_an_accepted_number_comes_back_as_a_float() -> None:
    """An int is returned as a float, so callers can format and compare it as one."""
    returned = check_seconds(3, "x")
    assert returned == 3.0
    assert type(returned) is float
