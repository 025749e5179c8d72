"""A fault soak: many renders created and waited on through a misbehaving sandbox.

Run the full size with ``python -m tests.soak --renders 2000`` (about a minute or two);
the test suite runs a smaller one. Every render must reach an outcome the caller sees,
creates whose answer was lost must be found again (never silently re-sent), and after
the client closes no task or file descriptor may remain.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from collections import Counter
from typing import Any

from videoapi_async import (
    PollPolicy,
    RateLimit,
    RetryPolicy,
    SourceDraftVideoRequest,
    Timeouts,
    Video,
    VideoAPI,
)
from videoapi_async.sandbox import FaultConfig, RenderProfile, RouteFaults, Sandbox

# The share of all faults each kind takes (they sum to 1).
FAULT_MIX = {
    "reset": 0.18,
    "http_500": 0.08,
    "http_502": 0.12,
    "http_503": 0.12,
    "http_429": 0.04,
    "truncated_json": 0.12,
    "malformed_json": 0.10,
    "drop_response": 0.14,
    "slow_body": 0.10,
}


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


async def run_soak(renders: int = 300, fault_rate: float = 0.15, seed: int = 1) -> dict[str, Any]:
    """Create and wait on `renders` renders with `fault_rate` of requests misbehaving."""
    fds_before = _open_fds()
    tasks_before = len(asyncio.all_tasks())
    faults = FaultConfig(
        routes={"*": RouteFaults(rates={k: fault_rate * w for k, w in FAULT_MIX.items()})},
        retry_after=1.0,
        slow_body_pause=0.6,
        slow_body_chunks=3,
    )
    profile = RenderProfile(min_duration=60, max_duration=240, time_scale=60, failure_rate=0.1)
    clock = asyncio.get_running_loop().time  # simulated under run_in_simulated_time
    started = clock()
    report: dict[str, Any] = {"renders": renders, "fault_rate": fault_rate, "seed": seed}
    async with Sandbox(seed=seed, render=profile, faults=faults, clock=clock) as sb:
        api = VideoAPI(
            sb.api_key,
            base_url=sb.base_url,
            clock=clock,
            timeouts=Timeouts(connect=5, read=0.5),
            retry=RetryPolicy(
                max_attempts=6, initial_backoff=0.05, max_backoff=0.5, max_elapsed=30
            ),
            rate_limit=RateLimit(requests_per_second=400, burst=100, recovery=5),
            poll=PollPolicy(first_poll=0.5, max_interval=2.0),
        )
        async with api:
            requests = [
                SourceDraftVideoRequest(source_draft_id=f"draft-{i}", name=f"soak-{seed}-{i}")
                for i in range(renders)
            ]
            videos, creation = await _create_all(api, requests)
            report.update(creation)
            outcomes = await api.wait_for_renders(list(videos.values()), timeout=180)
            report["outcomes"] = dict(
                Counter(
                    "ready" if o.ok else "render failed" if o.failed else type(o.error).__name__
                    for o in outcomes
                )
            )
            report["client"] = api.stats
        stats = sb.stats
        report["requests"] = stats.total_requests
        report["requests_per_render"] = round(stats.total_requests / renders, 2)
        report["faults_injected"] = dict(sorted(stats.faults.items()))
        report["faulted_share"] = round(sum(stats.faults.values()) / stats.total_requests, 3)
        report["videos_created"] = len(stats.created_ids)
        report["duplicate_creates"] = len(stats.duplicate_creates())
    report["seconds"] = round(clock() - started, 1)
    await asyncio.sleep(0)
    gc.collect()
    report["leaked_tasks"] = len(asyncio.all_tasks()) - tasks_before
    report["leaked_fds"] = _open_fds() - fds_before if fds_before >= 0 else None
    return report


async def _create_all(
    api: VideoAPI, requests: list[SourceDraftVideoRequest]
) -> tuple[dict[int, Video], dict[str, Any]]:
    """Create every request once, finding lost creates by name before re-sending any."""
    videos: dict[int, Video] = {}
    pending = list(range(len(requests)))
    lost = found_again = resent = 0
    for _ in range(10):
        if not pending:
            break
        results = await api.create_videos([requests[i] for i in pending], concurrency=16)
        unknown: list[int] = []
        failed: list[int] = []
        for index, result in zip(pending, results, strict=True):
            if result.video is not None:
                videos[index] = result.video
            elif result.outcome_unknown:
                unknown.append(index)
            else:
                failed.append(index)  # certainly not created: safe to send again
        lost += len(unknown)
        if unknown:
            by_name = {v.name: v for v in await api.list_videos()}
            for index in unknown:
                video = by_name.get(requests[index].name)
                if video is not None:
                    videos[index] = video
                    found_again += 1
                else:
                    failed.append(index)
        resent += len(failed)
        pending = sorted(failed)
    if pending:
        raise AssertionError(f"{len(pending)} requests could not be created in 10 rounds")
    return videos, {"lost_create_answers": lost, "found_again": found_again, "resent": resent}


def main() -> None:
    """Run the soak from the command line and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=2000)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = asyncio.run(run_soak(args.renders, args.fault_rate, args.seed))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
