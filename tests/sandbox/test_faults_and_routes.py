"""Pure tests: route matching, fault choice and its determinism, the token bucket."""

from __future__ import annotations

import pytest

from videoapi_async.sandbox import FaultConfig, ManualClock, RouteFaults, ServerRateLimit
from videoapi_async.sandbox._faults import (
    Fault,
    FaultInjector,
    RateLimiter,
    TokenBucket,
    choose_fault,
)
from videoapi_async.sandbox._routes import (
    ROUTE_ANALYTICS,
    ROUTE_CREATE,
    ROUTE_DELETE,
    ROUTE_GET,
    ROUTE_LIST,
    ROUTE_METADATA,
    ROUTE_SUBTITLES,
    ROUTE_VOICE_PREVIEW_CREATE,
    ROUTE_VOICE_PREVIEW_GET,
    RouteMatch,
    match_route,
)


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("GET", "/api/v1/videos", RouteMatch(route=ROUTE_LIST)),
        ("GET", "/api/v1/videos?x=1", RouteMatch(route=ROUTE_LIST)),
        ("POST", "/api/v1/videos", RouteMatch(route=ROUTE_CREATE)),
        ("GET", "/api/v1/videos/abc", RouteMatch(route=ROUTE_GET, video_id="abc")),
        ("DELETE", "/api/v1/videos/abc", RouteMatch(route=ROUTE_DELETE, video_id="abc")),
        ("GET", "/api/v1/videos/a%2Fb", RouteMatch(route=ROUTE_GET, video_id="a/b")),
        ("GET", "/api/v1/videos/..%2Fx", RouteMatch(route=ROUTE_GET, video_id="../x")),
        ("GET", "/api/v1/videos/a%20b%3F", RouteMatch(route=ROUTE_GET, video_id="a b?")),
        ("GET", "/api/v1/videos/a%2Fb/metadata", RouteMatch(route=ROUTE_METADATA, video_id="a/b")),
        ("GET", "/api/v1/videos/", RouteMatch(redirect="/api/v1/videos")),
        ("PUT", "/api/v1/videos", RouteMatch(allowed=("GET", "POST"))),
        ("POST", "/api/v1/videos/abc", RouteMatch(allowed=("GET", "DELETE"))),
        ("GET", "/api/v1/videos/a/b", RouteMatch()),
        ("GET", "/api/v1/videoz", RouteMatch()),
        ("GET", "/videos", RouteMatch()),
        ("GET", "/media/player/a%2Fb", RouteMatch(media="player", video_id="a/b")),
        ("GET", "/media/download/abc.mp4", RouteMatch(media="download", video_id="abc")),
        (
            "POST",
            "/api/v1/videos/a%2Fb/subtitles",
            RouteMatch(route=ROUTE_SUBTITLES, video_id="a/b"),
        ),
        ("GET", "/api/v1/videos/a/subtitles", RouteMatch(allowed=("POST",))),
        ("POST", "/api/v1/voice-preview", RouteMatch(route=ROUTE_VOICE_PREVIEW_CREATE)),
        ("GET", "/api/v1/voice-preview", RouteMatch(allowed=("POST",))),
        (
            "GET",
            "/api/v1/voice-preview/t%2F1?x",
            RouteMatch(route=ROUTE_VOICE_PREVIEW_GET, task_id="t/1"),
        ),
        ("GET", "/api/v1/analytics/summary?a=1", RouteMatch(route=ROUTE_ANALYTICS)),
        ("GET", "/api/v1/analytics/other", RouteMatch()),
        ("GET", "/api/v1/analytics", RouteMatch()),
        ("GET", "/api/v1/analytics/summary/", RouteMatch(redirect="/api/v1/analytics/summary")),
        ("GET", "/api/v1/voice-preview/", RouteMatch(redirect="/api/v1/voice-preview")),
        ("GET", "/api/v1/videos/x/", RouteMatch(redirect="/api/v1/videos/x")),
        ("GET", "/api/v1/videos//metadata", RouteMatch()),
        ("GET", "/api/v1/videos/x/metadata/", RouteMatch(redirect="/api/v1/videos/x/metadata")),
        ("GET", "/api/v1/", RouteMatch()),
        ("GET", "/media/voice-preview/t.wav", RouteMatch(media="voice", task_id="t")),
        (
            "GET",
            "/media/subtitles/a%2Fb/en.vtt",
            RouteMatch(media="subtitles", video_id="a/b", file="en.vtt"),
        ),
        ("GET", "/media/subtitles/a/b/en.vtt", RouteMatch()),
    ],
)
def test_match_route(method: str, target: str, expected: RouteMatch) -> None:
    """Each request target maps to its route, with the id percent-decoded once."""
    assert match_route(method, target) == expected


def test_choose_fault_maps_draws_to_kinds() -> None:
    """Draws below the cumulative rates pick kinds in a fixed order; above, none."""
    rates = RouteFaults(rates={"http_502": 0.1, "reset": 0.2})
    assert choose_fault(rates, 0.05) == "http_502"
    assert choose_fault(rates, 0.15) == "reset"
    assert choose_fault(rates, 0.35) is None


def _sequence(seed: int, route: str = ROUTE_GET, count: int = 300) -> list[str | None]:
    injector = FaultInjector(FaultConfig.spread(0.3), seed)
    picks = [injector.pick(route) for _ in range(count)]
    return [fault.kind if fault else None for fault in picks]


def test_random_faults_are_reproducible_per_seed() -> None:
    """The same seed gives the same fault sequence on a route; rates are about right."""
    first = _sequence(7)
    assert first == _sequence(7)
    assert first != _sequence(8)
    assert 60 <= sum(kind is not None for kind in first) <= 120


def test_routes_draw_from_their_own_generators() -> None:
    """Traffic on one route does not shift the fault sequence of another."""
    injector = FaultInjector(FaultConfig.spread(0.3), 7)
    for _ in range(50):
        injector.pick(ROUTE_LIST)
    picks = [injector.pick(ROUTE_GET) for _ in range(300)]
    assert [fault.kind if fault else None for fault in picks] == _sequence(7)


def test_route_entry_replaces_the_star_entry() -> None:
    """A route's own RouteFaults wins over '*'; other routes use '*'."""
    config = FaultConfig(
        routes={
            "*": RouteFaults(rates={"http_500": 1.0}, latency=0.5),
            ROUTE_LIST: RouteFaults(),
        }
    )
    injector = FaultInjector(config, 1)
    assert injector.pick(ROUTE_LIST) is None
    assert injector.latency(ROUTE_LIST) == 0.0
    assert injector.pick(ROUTE_GET) == Fault("http_500")
    assert injector.latency(ROUTE_GET) == 0.5


def test_queued_faults_come_first_in_order_then_normal() -> None:
    """Scripted faults hit the next matching requests in order, route queue before '*'."""
    injector = FaultInjector(FaultConfig(), 1)
    injector.queue(ROUTE_GET, "http_502", "http_503")
    injector.queue("*", Fault("http_429", retry_after=3))
    assert injector.pending() == 3
    assert injector.pick(ROUTE_LIST) == Fault("http_429", retry_after=3)
    assert injector.pick(ROUTE_GET) == Fault("http_502")
    assert injector.pick(ROUTE_GET) == Fault("http_503")
    assert injector.pick(ROUTE_GET) is None
    assert injector.pending(ROUTE_GET) == 0


def test_clear_and_set_route_change_faults_while_running() -> None:
    """set_route adds random faults to one route; clear removes queues and rates."""
    injector = FaultInjector(FaultConfig(), 1)
    injector.set_route(ROUTE_CREATE, RouteFaults(rates={"drop_response": 1.0}))
    assert injector.pick(ROUTE_CREATE) == Fault("drop_response")
    injector.queue(ROUTE_GET, "reset")
    injector.clear()
    assert injector.pick(ROUTE_CREATE) is None
    assert injector.pick(ROUTE_GET) is None
    injector.set_route(ROUTE_CREATE, RouteFaults(rates={"reset": 1.0}))
    injector.set_route(ROUTE_CREATE, None)
    assert injector.pick(ROUTE_CREATE) is None


def test_bad_route_keys_and_kinds_are_refused() -> None:
    """An unknown route key or fault kind fails with the list of valid ones."""
    injector = FaultInjector(FaultConfig(), 1)
    with pytest.raises(ValueError, match="unknown route key 'GET /video'"):
        injector.queue("GET /video", "reset")
    with pytest.raises(ValueError, match="unknown fault kind 'http_504'"):
        injector.queue(ROUTE_GET, "http_504")
    with pytest.raises(ValueError, match="retry_after must be a finite number of seconds >= 0"):
        Fault("http_429", retry_after=-1)


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    """A bucket of burst 3 at 2/s lets 3 through, then one every half second."""
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) == pytest.approx(0.5)
    assert bucket.take(100.0) == 0.0
    assert bucket.tokens == pytest.approx(2.0)


def test_rate_limiter_is_per_key_and_rounds_retry_after_up() -> None:
    """Each key has its own bucket; Retry-After is whole seconds, at least 1."""
    clock = ManualClock()
    limiter = RateLimiter(ServerRateLimit(rate=0.25, burst=1), clock)
    assert limiter.check("a") is None
    assert limiter.check("a") == 4
    assert limiter.check("b") is None
    clock.advance(4)
    assert limiter.check("a") is None
    limiter.configure(None)
    assert all(limiter.check("a") is None for _ in range(10))
