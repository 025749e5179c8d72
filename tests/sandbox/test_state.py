"""Pure tests: render plans, status computed from time, configuration checks, the clock."""

from __future__ import annotations

import random

import pytest

from videoapi_async.sandbox import (
    FaultConfig,
    ManualClock,
    RenderProfile,
    RouteFaults,
    SandboxConfig,
    ServerRateLimit,
    VoicePreviewProfile,
    WebhookConfig,
    config_from_options,
)
from videoapi_async.sandbox._state import FAILURE_STATUSES, plan_render, render_state, scene_lengths

PROFILE = RenderProfile(min_duration=1.0, max_duration=5.0, failure_rate=0.1)


def _plans(seed: int, count: int = 200) -> list[tuple[str, float, str]]:
    plans = [plan_render(seed, index, PROFILE) for index in range(count)]
    return [(plan.video_id, plan.duration, plan.outcome) for plan in plans]


def test_same_seed_plans_the_same_renders() -> None:
    """200 renders of 1-5 s, 10 % failing, seed 7: the same ids, durations, outcomes each time."""
    assert _plans(7) == _plans(7)


def test_another_seed_plans_other_renders() -> None:
    """A different seed gives a different set of plans."""
    assert _plans(7) != _plans(8)


def test_plans_follow_the_profile() -> None:
    """Durations stay in range and about 10 % of renders fail."""
    plans = [plan_render(7, index, PROFILE) for index in range(2000)]
    assert all(1.0 <= plan.duration <= 5.0 for plan in plans)
    failed = sum(plan.outcome == "failed" for plan in plans)
    assert 140 <= failed <= 260
    assert {plan.outcome for plan in plans} == {"ready", "failed"}


def test_time_scale_divides_durations() -> None:
    """time_scale=10 makes the same plan ten times shorter."""
    slow = plan_render(3, 0, RenderProfile(min_duration=10, max_duration=20))
    fast = plan_render(3, 0, RenderProfile(min_duration=10, max_duration=20, time_scale=10))
    assert fast.duration == pytest.approx(slow.duration / 10)
    assert fast.video_id == slow.video_id


def test_outcome_mix_covers_every_final_status() -> None:
    """Each outcome probability shows up in the drawn plans."""
    profile = RenderProfile(failure_rate=0.2, cancel_rate=0.2, stop_rate=0.2, publish_rate=0.2)
    outcomes = {plan_render(1, index, profile).outcome for index in range(300)}
    assert outcomes == {"ready", "published", "failed", "cancelled", "stopped"}


def test_forced_outcome_and_duration() -> None:
    """Outcome and duration given to plan_render replace the drawn ones."""
    plan = plan_render(1, 0, RenderProfile(time_scale=2), outcome="stopped", duration=8.0)
    assert (plan.outcome, plan.duration) == ("stopped", 4.0)
    with pytest.raises(ValueError, match="final status"):
        plan_render(1, 0, PROFILE, outcome="processing")


def test_successful_render_moves_through_every_stage() -> None:
    """Status goes not_started, started, processing with rising progress, then ready at 100."""
    plan = plan_render(1, 0, RenderProfile(min_duration=10, max_duration=10), outcome="ready")
    states = [render_state(plan, t / 10) for t in range(121)]
    statuses = [status for status, _ in states]
    assert statuses[0] == "not_started"
    assert statuses.index("started") < statuses.index("processing") < statuses.index("ready")
    assert statuses[-1] == "ready"
    progresses = [progress for _, progress in states]
    assert progresses == sorted(progresses)
    assert render_state(plan, 0.5) == ("not_started", 0)
    assert render_state(plan, 9.99)[1] == 99
    assert render_state(plan, 10.0) == ("ready", 100)


@pytest.mark.parametrize("outcome", sorted(FAILURE_STATUSES))
def test_failing_render_stalls_before_it_fails(outcome: str) -> None:
    """A failing render's progress stops rising before the end and stays below 100."""
    plan = plan_render(5, 0, RenderProfile(min_duration=10, max_duration=10), outcome=outcome)
    stall_time = plan.stall_fraction * plan.duration
    stalled = render_state(plan, stall_time)[1]
    assert render_state(plan, plan.duration - 0.01) == ("processing", stalled)
    assert render_state(plan, plan.duration) == (outcome, stalled)
    assert 0 < stalled < 100


def test_zero_duration_render_is_finished_at_once() -> None:
    """A render of duration 0 is in its final status at creation."""
    plan = plan_render(1, 0, RenderProfile(min_duration=0, max_duration=0), outcome="published")
    assert render_state(plan, 0.0) == ("published", 100)


def test_scene_lengths_follow_transcripts() -> None:
    """A scene with a transcript lasts words / 2.5 s; no scenes means one scene."""
    rng = random.Random(1)
    words = " ".join(["word"] * 25)
    assert scene_lengths(rng, [{"transcript": words}]) == (10.0,)
    assert len(scene_lengths(rng, [])) == 1
    assert len(scene_lengths(rng, [{}, {}, {}])) == 3


def test_manual_clock_moves_only_forward() -> None:
    """ManualClock advances by hand and refuses to go back."""
    clock = ManualClock(5.0)
    assert clock() == 5.0
    assert clock.advance(2.5) == 7.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RenderProfile(min_duration=-1), "min_duration must be a finite number"),
        (lambda: RenderProfile(min_duration=5, max_duration=1), "swap them"),
        (lambda: RenderProfile(time_scale=0), "time_scale must be a number > 0"),
        (lambda: RenderProfile(failure_rate=1.5), "failure_rate must be a probability"),
        (lambda: RenderProfile(failure_rate=0.6, cancel_rate=0.6), "must be at most 1"),
        (lambda: RouteFaults(rates={"http_418": 0.1}), "unknown fault kind 'http_418'"),
        (lambda: RouteFaults(rates={"http_502": 0.7, "reset": 0.7}), "add up to 1.4"),
        (lambda: RouteFaults(latency=-1), "latency must be a finite number of seconds"),
        (lambda: FaultConfig(routes={"GET /nope": RouteFaults()}), "unknown route key"),
        (lambda: FaultConfig(slow_body_chunks=0), "slow_body_chunks must be an integer >= 1"),
        (lambda: ServerRateLimit(0), "ServerRateLimit.rate must be"),
        (lambda: ServerRateLimit(5, burst=0), "burst must be an integer >= 1"),
        (lambda: SandboxConfig(port=70000), "port must be 0..65535"),
        (lambda: SandboxConfig(api_key=""), "api_key must be a non-empty string"),
    ],
)
def test_bad_configuration_says_what_is_wrong(build: object, message: str) -> None:
    """Each bad setting fails at construction with a message naming the field."""
    assert callable(build)
    with pytest.raises(ValueError, match=message):
        build()


def test_rate_limit_burst_defaults_to_rate() -> None:
    """ServerRateLimit's burst defaults to the rate rounded up."""
    assert ServerRateLimit(2.5).burst == 3


def test_config_from_options_maps_flat_options() -> None:
    """Flat options (as on a command line) land in the right nested settings."""
    config = config_from_options(
        {
            "seed": 7,
            "time_scale": 10,
            "failure_rate": 0.1,
            "fault_rate": 0.2,
            "fault_kinds": "http_502,reset",
            "latency": 0.01,
            "rate_limit": 5,
            "burst": 2,
            "api_key": "k",
            "port": None,
        }
    )
    assert config.seed == 7
    assert config.api_key == "k"
    assert config.port == 0
    assert config.render.time_scale == 10
    assert config.render.failure_rate == 0.1
    assert dict(config.faults.routes["*"].rates) == {"http_502": 0.1, "reset": 0.1}
    assert config.faults.routes["*"].latency == 0.01
    assert config.rate_limit == ServerRateLimit(5, 2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": 1}, "unknown sandbox option"),
        ({"seed": "seven"}, "seed must be an integer"),
        ({"burst": 2}, "burst needs rate_limit"),
        ({"fault_kinds": "reset"}, "fault_kinds needs fault_rate"),
        ({"fault_rate": 0.1, "fault_kinds": "boom"}, "unknown kind 'boom'"),
        ({"webhook_secret": "s"}, "need webhook_url"),
        ({"webhook_delay": 1}, "need webhook_url"),
        ({"webhook_url": "ftp://x"}, "http:// or https:// URL"),
        ({"voice_failure_rate": 2}, "failure_rate must be a probability"),
        ({"voice_min_duration": 5, "voice_max_duration": 1}, "swap them"),
    ],
)
def test_config_from_options_rejects_bad_options(options: dict[str, object], message: str) -> None:
    """Unknown or ill-typed options fail with a message saying which."""
    with pytest.raises(ValueError, match=message):
        config_from_options(options)


def test_config_from_options_maps_voice_and_webhook_options() -> None:
    """Voice-preview and webhook options build their settings; a secret is made if needed."""
    config = config_from_options(
        {
            "voice_min_duration": 0.5,
            "voice_max_duration": 2,
            "voice_failure_rate": 0.25,
            "webhook_url": "http://127.0.0.1:9000/hook",
            "webhook_secret": "s3",
            "webhook_delay": 1.5,
        }
    )
    assert config.voice_preview == VoicePreviewProfile(0.5, 2.0, 0.25)
    assert config.webhooks == WebhookConfig("http://127.0.0.1:9000/hook", "s3", delay=1.5)
    generated = config_from_options({"webhook_url": "https://example.test/h"})
    assert generated.webhooks is not None
    assert len(generated.webhooks.secret) >= 24
    again = config_from_options({"webhook_secret": "new"}, base=config)
    assert again.webhooks == WebhookConfig("http://127.0.0.1:9000/hook", "new", delay=1.5)
    assert config_from_options({}).webhooks is None
