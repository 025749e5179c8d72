"""The sizes of a run: the full benchmark, and ``--quick`` (every section, tiny)."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Plan:
    """How big each section is. Durations are nominal seconds, divided by a time scale."""

    seed: int = 7
    # 1. per-call cost
    get_calls: int = 400
    list_calls: int = 12
    list_size: int = 1000
    percall_rounds: int = 9
    concurrency: int = 8
    # 2. waiting at scale
    batch_sizes: tuple[int, ...] = (100, 1000, 10000)
    batch_rounds: tuple[int, ...] = (2, 1, 1)
    naive_max: int = 2000
    min_duration: float = 60.0
    max_duration: float = 300.0
    time_scale: float = 10.0
    default_budget_from: int = 10000
    # 3. list-probe crossover
    crossover_in_flight: tuple[int, ...] = (10, 50, 200, 1000)
    crossover_accounts: tuple[int, ...] = (0, 1000, 10000)
    crossover_time_scale: float = 30.0
    # 4. under pressure
    pressure_batch: int = 1000
    pressure_rate: float = 50.0
    pressure_timeout: float = 300.0
    # 5. creates with waits started as each create answers
    bulk_creates: int = 300
    bulk_concurrency: int = 4
    bulk_min_duration: float = 3.0
    bulk_max_duration: float = 6.0
    bulk_cap: float = 10.0
    # startup: ``videoapi --help`` against ``python -c pass``
    startup_rounds: int = 15
    # many replicas (coordinated through Redis)
    replicas_processes: int = 4
    replicas_batch: int = 1000
    replicas_webhook_batch: int = 200
    replicas_failover_batch: int = 200
    replicas_failover_scale: float = 10.0
    replicas_lease: float = 5.0
    replicas_pressure_rounds: int = 3
    # profile
    profile_calls: int = 2000
    profile_batch: int = 2000
    # PollPolicy fields the client's waits use instead of its defaults (none in a full
    # run, which measures the defaults; --quick shortens the waits of its tiny renders).
    poll_overrides: tuple[tuple[str, float], ...] = ()


FULL = Plan()
QUICK = Plan(
    get_calls=60,
    list_calls=3,
    list_size=200,
    percall_rounds=2,
    concurrency=4,
    batch_sizes=(20,),
    batch_rounds=(1,),
    naive_max=20,
    time_scale=600.0,
    default_budget_from=20,
    crossover_in_flight=(25,),
    crossover_accounts=(0, 300),
    crossover_time_scale=600.0,
    pressure_batch=20,
    pressure_rate=10.0,
    pressure_timeout=30.0,
    bulk_creates=20,
    bulk_min_duration=0.5,
    bulk_max_duration=1.0,
    startup_rounds=2,
    replicas_batch=40,
    replicas_webhook_batch=20,
    replicas_failover_batch=20,
    replicas_failover_scale=60.0,
    replicas_lease=1.0,
    replicas_pressure_rounds=1,
    profile_calls=200,
    profile_batch=50,
    poll_overrides=(("first_poll", 0.2), ("min_interval", 0.05), ("max_interval", 1.0)),
)
