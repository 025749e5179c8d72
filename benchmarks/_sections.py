"""Sections 2 to 5: waiting at scale, the list-probe crossover, waiting under a limit, bulk.

Every trial runs in a fresh process against the same server process, in a fresh account
(so the list endpoint lists only what the trial put there), with the sandbox's counters
zeroed first. Strategies of one batch size run back to back, round after round.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from benchmarks._control import ServerProcess
from benchmarks._plan import Plan
from benchmarks._trials import draw_durations, run_trial, summarise, tune_interval

Log = Callable[[str], None]

STRATEGY_AUTO = "videoapi_async (auto)"
STRATEGY_NEVER = "videoapi_async (list off)"
STRATEGY_SEEDED = "videoapi_async (list off, waiting on the created Video)"
STRATEGY_CAPPED = "videoapi_async (auto, 10 req/s cap)"
STRATEGY_BULK = "videoapi_async, default settings"
STRATEGY_BULK_CAPPED = "videoapi_async, 10 req/s cap"
STRATEGY_FIXED = "fixed interval (tuned)"
STRATEGY_NAIVE = "naive loop (sleep 1 s)"


def _timeout(durations: list[float], scale: float) -> float:
    """Return a deadline for a batch: generous, so only a broken run reaches it."""
    return max(durations) / scale * 3 + 30.0


def _videoapi_spec(
    plan: Plan,
    key: str,
    durations: list[float],
    scale: float,
    mode: str,
    budget: Any = None,
) -> dict[str, Any]:
    return {
        "api_key": key,
        "durations": durations,
        "time_scale": scale,
        "strategy": "videoapi",
        "list_polling": mode,
        "policy": dict(plan.poll_overrides),
        "client_budget": budget,
        "timeout": _timeout(durations, scale),
    }


def _loop_spec(
    key: str, durations: list[float], scale: float, interval: float, first_delay: float
) -> dict[str, Any]:
    return {
        "api_key": key,
        "durations": durations,
        "time_scale": scale,
        "strategy": "loop",
        "interval": interval,
        "first_delay": first_delay,
        "client_budget": None,
        "timeout": _timeout(durations, scale),
    }


def run_waiting(server: ServerProcess, plan: Plan, log: Log) -> list[dict[str, Any]]:
    """Section 2: batches waited on by each strategy; one summary row per trial."""
    control = server.control
    scale = plan.time_scale
    all_durations = draw_durations(
        max(plan.batch_sizes), seed=plan.seed, low=plan.min_duration, high=plan.max_duration
    )
    rows = []
    for size, rounds in zip(plan.batch_sizes, plan.batch_rounds, strict=True):
        durations = all_durations[:size]
        real = [d / scale for d in durations]
        naive_size = min(size, plan.naive_max)
        for round_index in range(rounds):

            def trial(
                label: str,
                spec: dict[str, Any],
                n: int = size,
                size: int = size,
                round_index: int = round_index,
            ) -> dict[str, Any]:
                log(f"  waiting: {n} renders, {label}")
                spec["api_key"] = control.new_account()
                row = summarise(run_trial(server, spec), label=label)
                row.update(batch=size, round=round_index)
                rows.append(row)
                return row

            never = trial(STRATEGY_NEVER, _videoapi_spec(plan, "", durations, scale, "never"))
            seeded = _videoapi_spec(plan, "", durations, scale, "never")
            trial(STRATEGY_SEEDED, {**seeded, "seeded": True})
            interval = tune_interval(real, never["requests_per_render"])
            fixed = trial(STRATEGY_FIXED, _loop_spec("", durations, scale, interval, interval))
            fixed["interval_s"] = round(interval, 3)
            trial(
                STRATEGY_NAIVE,
                _loop_spec("", durations[:naive_size], scale, 1.0, 0.0),
                naive_size,
            )
            trial(STRATEGY_AUTO, _videoapi_spec(plan, "", durations, scale, "auto"))
            if size >= plan.default_budget_from and round_index == 0:
                spec = _videoapi_spec(plan, "", durations, scale, "auto", 10.0)
                trial(STRATEGY_CAPPED, spec)
    return rows


def run_crossover(server: ServerProcess, plan: Plan, log: Log) -> list[dict[str, Any]]:
    """Section 3: per-id polling against the list endpoint, by in-flight count and account."""
    control = server.control
    scale = plan.crossover_time_scale
    all_durations = draw_durations(
        max(plan.crossover_in_flight),
        seed=plan.seed + 1,
        low=plan.min_duration,
        high=plan.max_duration,
    )
    rows = []
    for extra in plan.crossover_accounts:
        for in_flight in plan.crossover_in_flight:
            durations = all_durations[:in_flight]
            for mode in ("never", "always", "auto"):
                log(f"  crossover: {in_flight} in flight, {extra} other videos, list {mode}")
                key = control.new_account(seed_videos=extra)
                spec = _videoapi_spec(plan, key, durations, scale, mode)
                row = summarise(run_trial(server, spec), label=f"list_polling={mode}")
                row.update(in_flight=in_flight, account_extra=extra, mode=mode)
                rows.append(row)
    return rows


def run_pressure(server: ServerProcess, plan: Plan, log: Log) -> list[dict[str, Any]]:
    """Section 4: the same kind of batch with the sandbox's per-key rate limit on."""
    control = server.control
    scale = plan.time_scale
    durations = draw_durations(
        plan.pressure_batch, seed=plan.seed, low=plan.min_duration, high=plan.max_duration
    )
    rate = plan.pressure_rate
    rows = []
    control.set_rate_limit(rate)
    try:
        trials = [
            (STRATEGY_AUTO, _videoapi_spec(plan, "", durations, scale, "auto")),
            (STRATEGY_NEVER, _videoapi_spec(plan, "", durations, scale, "never")),
            (STRATEGY_CAPPED, _videoapi_spec(plan, "", durations, scale, "auto", 10.0)),
            (STRATEGY_NAIVE, _loop_spec("", durations, scale, 1.0, 0.0)),
        ]
        for label, spec in trials:
            log(f"  pressure: {len(durations)} renders at {rate:g} req/s, {label}")
            spec["api_key"] = control.new_account()
            spec["timeout"] = plan.pressure_timeout
            row = summarise(run_trial(server, spec), label=label)
            row.update(batch=len(durations), server_rate_limit=rate)
            rows.append(row)
    finally:
        control.set_rate_limit(None)
    return rows


def run_bulk(server: ServerProcess, plan: Plan, log: Log) -> list[dict[str, Any]]:
    """Section 5: creates through the API, each row waiting as soon as its create answers.

    What ``videoapi batch`` and the README's bulk pattern do. Renders last
    ``bulk_min_duration`` to ``bulk_max_duration`` real seconds; with a client-side cap
    the creates take long enough that renders finish while creates are still going out,
    so status polls must get their share of the budget.
    """
    control = server.control
    control.set_render_profile(plan.bulk_min_duration, plan.bulk_max_duration)
    rows = []
    try:
        for label, budget in ((STRATEGY_BULK, None), (STRATEGY_BULK_CAPPED, plan.bulk_cap)):
            count = plan.bulk_creates
            log(f"  bulk: {count} creates, {plan.bulk_concurrency} at a time, {label}")
            timeout = count / min(budget or math.inf, 10.0) + plan.bulk_max_duration * 3 + 60
            spec = {
                "api_key": control.new_account(),
                "strategy": "create",
                "count": count,
                "concurrency": plan.bulk_concurrency,
                "list_polling": "auto",
                "policy": dict(plan.poll_overrides),
                "client_budget": budget,
                "timeout": timeout,
            }
            row = summarise(run_trial(server, spec), label=label)
            row.update(batch=count, concurrency=plan.bulk_concurrency, client_cap=budget)
            rows.append(row)
    finally:
        control.set_render_profile(1.0, 1.0)  # the benchmark server's own default
    return rows
