"""Section "replicas": many replicas coordinated through a real redis-server.

Four client processes (``benchmarks._replica``), each a `VideoAPI` with
``coordination=RedisCoordination(...)``, against the benchmark's sandbox process and a
redis-server started here on a free port of 127.0.0.1:

* **requests**: the 4 wait on the same batch; API requests (``GET /videos/{id}`` and
  ``GET /videos``) against one process alone, without coordination, on a batch of the
  same durations;
* **webhook**: the sandbox delivers each render's webhook to one of the 4 (polls slowed
  to the webhook safety net); delay from its receipt to the end of the waits in all 4;
* **failover**: the 4 wait on the same batch (list polling off, so every poll names its
  video); once all are polled, the process holding the most leases is killed (SIGKILL);
  for each of its unfinished videos, the delay until a survivor polls it, against the
  lease time plus that video's last poll interval; and whether every survivor's wait ends;
* **pressure**: the sandbox's per-key rate limit on; one process waits on a batch alone,
  then 4 each wait on a quarter of it, coordinated and not: 429s received, and how many
  of them came within a second of the first (answers to requests already out before any
  replica could know of the limit) or later.

The server's counters are read through its control API; per-video poll times and the
times of 429s come from sampling those counters every 50 ms. Times are
``time.monotonic()``, which on Linux is the same clock in every process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from benchmarks._control import REPO, ControlClient, ServerProcess
from benchmarks._plan import Plan
from benchmarks._trials import ROUTE_GET, ROUTE_LIST, draw_durations, percentile

Log = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Run a redis-server without persistence on a free port; yield its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--dir", directory, "--appendonly", "no"]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock,
                ):
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait()


class Replica:
    """One ``benchmarks._replica`` process: started, given its renders, read or killed."""

    def __init__(self, spec: dict[str, Any]) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO),)))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._replica", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.kill()
            raise RuntimeError("a replica process did not start")
        hello = json.loads(line)
        self.token: str | None = hello["token"]
        self.webhook_url: str | None = hello["webhook_url"]

    def order(self, ids: list[str], timeout: float) -> None:
        """Tell the replica which renders to wait for."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"ids": ids, "timeout": timeout}) + "\n")
        self.process.stdin.flush()

    def result(self) -> dict[str, Any]:
        """Wait for the replica to finish and return what it reported."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.process.wait()
        self._close()
        if not line:
            raise RuntimeError("a replica process ended without reporting")
        result: dict[str, Any] = json.loads(line)
        return result

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close()

    def _close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


_S = TypeVar("_S", bound="_Sampler")


class _Sampler:
    """Calls `sample` every 50 ms in a thread, between entering and leaving the block."""

    name = "sampler"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def __enter__(self: _S) -> _S:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample(time.monotonic())

    def sample(self, now: float) -> None:
        """Read the counters once; ``now`` is when."""
        raise NotImplementedError


class PollSampler(_Sampler):
    """Samples the sandbox's per-video GET counters every 50 ms, in a thread."""

    name = "poll-sampler"

    def __init__(self, control: ControlClient, ids: list[str]) -> None:
        self.control = control
        self.ids = ids
        self.polled: dict[str, list[float]] = {video_id: [] for video_id in ids}
        self._counts = [0] * len(ids)
        super().__init__()

    def sample(self, now: float) -> None:
        """Record when each video's GET count went up."""
        for index, timing in enumerate(self.control.timings(self.ids)):
            gets = 0 if timing is None else int(timing[3] or 0)
            if gets > self._counts[index]:
                self._counts[index] = gets
                self.polled[self.ids[index]].append(now)


class FaultSampler(_Sampler):
    """Samples the sandbox's count of 429 answers every 50 ms, in a thread."""

    name = "fault-sampler"

    def __init__(self, control: ControlClient) -> None:
        self.control = control
        self.samples: list[tuple[float, int]] = []
        super().__init__()

    def sample(self, now: float) -> None:
        """Record the count of 429 answers so far."""
        faults = self.control.stats()["faults"]
        self.samples.append((now, int(faults.get("rate_limited", 0))))

    def split(self, total: int, window: float = 1.0) -> tuple[int, int]:
        """Return the 429s within ``window`` s of the first one seen, and those after."""
        first = next((t for t, count in self.samples if count), None)
        if first is None:
            return total, 0
        early = max(count for t, count in self.samples if t <= first + window)
        return early, total - early


def _api_requests(stats: dict[str, Any]) -> int:
    requests = stats["requests"]
    return int(requests.get(ROUTE_GET, 0)) + int(requests.get(ROUTE_LIST, 0))


def _spec(
    server: ServerProcess, key: str, redis_url: str | None, namespace: str, plan: Plan, **extra: Any
) -> dict[str, Any]:
    return {
        "api_key": key,
        "base_url": server.base_url,
        "redis_url": redis_url,
        "namespace": namespace,
        "lease_time": plan.replicas_lease,
        "policy": dict(plan.poll_overrides),
        "client_budget": None,
        **extra,
    }


def _timeout(durations: list[float], scale: float) -> float:
    return max(durations) / scale * 3 + 60.0


def _wait_all(
    server: ServerProcess,
    specs: list[dict[str, Any]],
    batches: list[list[float]],
    plan: Plan,
    faults: FaultSampler | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], list[list[str]]]:
    """Start the replicas, then the renders (one batch each, or one shared), and wait.

    With ``faults``, the sandbox's 429s are sampled while the replicas wait.
    """
    control = server.control
    replicas = [Replica(spec) for spec in specs]
    try:
        control.reset()
        key = specs[0]["api_key"]
        id_lists = [
            control.start_renders(key, durations, time_scale=plan.time_scale)[0]
            for durations in batches
        ]
        with faults or contextlib.nullcontext():
            for index, replica in enumerate(replicas):
                ids = id_lists[index % len(id_lists)]
                replica.order(ids, _timeout(batches[index % len(batches)], plan.time_scale))
            results = [replica.result() for replica in replicas]
    finally:
        for replica in replicas:
            replica.kill()
    return results, control.stats(), id_lists


def _requests_trial(
    server: ServerProcess, plan: Plan, redis_url: str, log: Log, mode: str
) -> dict[str, Any]:
    control = server.control
    n = plan.replicas_batch
    durations = draw_durations(n, seed=plan.seed, low=plan.min_duration, high=plan.max_duration)
    policy = {**dict(plan.poll_overrides), "list_polling": mode}
    log(f"  replicas: {n} renders, list {mode}, one process alone")
    key = control.new_account()
    alone, alone_stats, _ = _wait_all(
        server, [_spec(server, key, None, "", plan, policy=policy)], [durations], plan
    )
    log(f"  replicas: {n} renders, list {mode}, {plan.replicas_processes} coordinated processes")
    key = control.new_account()
    namespace = f"bench-requests-{mode}"
    specs = [
        _spec(server, key, redis_url, namespace, plan, policy=policy)
        for _ in range(plan.replicas_processes)
    ]
    shared, shared_stats, _ = _wait_all(server, specs, [durations], plan)
    one, many = _api_requests(alone_stats), _api_requests(shared_stats)
    return {
        "mode": mode,
        "renders": n,
        "processes": plan.replicas_processes,
        "requests_alone": one,
        "requests_shared": many,
        "ratio": round(many / one, 3) if one else None,
        "waits_ended": sum(len(r["delivered"]) for r in shared),
        "waits": n * plan.replicas_processes,
        "errors": sum(r["errors"] for r in alone + shared),
        "polls_per_process": [r["stats"]["polls"] + r["stats"]["list_polls"] for r in shared],
    }


def _webhook_trial(server: ServerProcess, plan: Plan, redis_url: str, log: Log) -> dict[str, Any]:
    control = server.control
    n = plan.replicas_webhook_batch
    durations = draw_durations(n, seed=plan.seed + 2, low=plan.min_duration, high=plan.max_duration)
    log(f"  replicas: {n} renders, webhooks delivered to one of {plan.replicas_processes}")
    key = control.new_account()
    secret = "bench-webhook-secret"
    policy = {**dict(plan.poll_overrides), "webhooks": True}
    specs = [
        _spec(server, key, redis_url, "bench-webhook", plan, policy=policy)
        for _ in range(plan.replicas_processes)
    ]
    specs[0]["webhook_secret"] = secret
    replicas = [Replica(spec) for spec in specs]
    try:
        assert replicas[0].webhook_url is not None
        control.call("/webhooks", {"url": replicas[0].webhook_url, "secret": secret})
        control.reset()
        ids, _ = control.start_renders(key, durations, time_scale=plan.time_scale)
        for replica in replicas:
            replica.order(ids, _timeout(durations, plan.time_scale))
        results = [replica.result() for replica in replicas]
    finally:
        control.call("/webhooks", {"url": None})
        for replica in replicas:
            replica.kill()
    received = results[0]["received"]
    delays = []
    for video_id in ids:
        ends = [r["delivered"].get(video_id) for r in results]
        if video_id in received and all(end is not None for end in ends):
            delays.append(max(end for end in ends if end is not None) - received[video_id])
    return {
        "renders": n,
        "processes": plan.replicas_processes,
        "relayed": len(delays),
        "delay_p50_ms": _ms(percentile(delays, 0.5)),
        "delay_p95_ms": _ms(percentile(delays, 0.95)),
        "delay_max_ms": _ms(max(delays, default=None)),
        "errors": sum(r["errors"] for r in results),
    }


def _failover_trial(server: ServerProcess, plan: Plan, redis_url: str, log: Log) -> dict[str, Any]:
    import redis

    control = server.control
    n = plan.replicas_failover_batch
    durations = draw_durations(n, seed=plan.seed + 3, low=plan.min_duration, high=plan.max_duration)
    scale = plan.replicas_failover_scale
    log(f"  replicas: {n} renders, the polling process killed")
    key = control.new_account()
    namespace = "bench-failover"
    policy = {**dict(plan.poll_overrides), "list_polling": "never"}
    specs = [
        _spec(server, key, redis_url, namespace, plan, policy=policy)
        for _ in range(plan.replicas_processes)
    ]
    replicas = [Replica(spec) for spec in specs]
    store = redis.Redis.from_url(redis_url)
    try:
        control.reset()
        ids, _ = control.start_renders(key, durations, time_scale=scale)
        timeout = _timeout(durations, scale)
        for replica in replicas:
            replica.order(ids, timeout)
        with PollSampler(control, ids) as sampler:
            deadline = time.monotonic() + 60
            while any(not sampler.polled[v] for v in ids) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(plan.replicas_lease)  # let the polling settle into its leases
            holders = store.mget([f"{namespace}:lease:{v}" for v in ids])
            tokens = [h.decode() if h is not None else None for h in holders]
            victim = max(replicas, key=lambda r: tokens.count(r.token))
            timings = control.timings(ids)
            now = time.monotonic()
            orphans = [  # the victim's, not finished yet (finished_at is the planned time)
                v
                for v, token, timing in zip(ids, tokens, timings, strict=True)
                if token == victim.token
                and timing is not None
                and (timing[1] is None or timing[1] > now)
            ]
            victim.kill()
            killed = time.monotonic()
            survivors = [r for r in replicas if r is not victim]
            results = [replica.result() for replica in survivors]
        polled = sampler.polled
    finally:
        store.close()
        for replica in replicas:
            replica.kill()
    delays, bounds, late = [], [], 0
    for video_id in orphans:
        before = [t for t in polled[video_id] if t <= killed]
        after = [t for t in polled[video_id] if t > killed]
        if not after:
            continue  # finished and settled by a shared state before anyone needed to poll
        interval = before[-1] - before[-2] if len(before) >= 2 else 0.0
        delay = after[0] - killed
        bound = plan.replicas_lease + interval + 0.05  # + the sampler's resolution
        delays.append(delay)
        bounds.append(bound)
        late += delay > bound
    lost = sum(len(ids) - len(r["delivered"]) for r in results)
    return {
        "renders": n,
        "lease_time_s": plan.replicas_lease,
        "orphaned": len(orphans),
        "polled_again": len(delays),
        "delay_p50_s": _round(percentile(delays, 0.5)),
        "delay_max_s": _round(max(delays, default=None)),
        "bound_min_s": _round(min(bounds, default=None)),
        "over_bound": late,
        "waits_lost": lost,
        "errors": sum(r["errors"] for r in results),
    }


def _pressure_trial(server: ServerProcess, plan: Plan, redis_url: str, log: Log) -> dict[str, Any]:
    control = server.control
    n = plan.pressure_batch
    k = plan.replicas_processes
    durations = draw_durations(n, seed=plan.seed, low=plan.min_duration, high=plan.max_duration)
    quarters = [durations[i::k] for i in range(k)]
    policy = {**dict(plan.poll_overrides), "list_polling": "never"}
    alone, shared = "one process alone", f"{k} processes, coordinated"
    rounds = []
    control.set_rate_limit(plan.pressure_rate)
    try:
        for number in range(plan.replicas_pressure_rounds):
            rows = {}
            for label, count, url in (
                (alone, 1, None),
                (shared, k, redis_url),
                (f"{k} processes, not coordinated", k, None),
            ):
                log(
                    f"  replicas: {n} renders at {plan.pressure_rate:g} req/s, {label} "
                    f"(round {number + 1})"
                )
                key = control.new_account()  # a fresh key, and a fresh namespace for it
                namespace = f"bench-pressure-{number}"
                specs = [
                    _spec(server, key, url, namespace, plan, policy=policy) for _ in range(count)
                ]
                sampler = FaultSampler(control)
                results, stats, _ = _wait_all(
                    server, specs, [durations] if count == 1 else quarters, plan, sampler
                )
                refused = int(stats["faults"].get("rate_limited", 0))
                early, later = sampler.split(refused)
                rows[label] = {
                    "processes": count,
                    "429s": refused,
                    "429s_first_second": early,
                    "429s_later": later,
                    "requests": _api_requests(stats),
                    "waits_ended": sum(len(r["delivered"]) for r in results),
                    "errors": sum(r["errors"] for r in results),
                }
            one, many = rows[alone]["429s"], rows[shared]["429s"]
            rounds.append({"rows": rows, "ratio": round(many / one, 3) if one else None})
    finally:
        control.set_rate_limit(None)
    ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
    return {
        "renders": n,
        "server_rate_limit": plan.pressure_rate,
        "rounds": rounds,
        "ratio": round(statistics.median(ratios), 3) if ratios else None,
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def run_replicas(server: ServerProcess, plan: Plan, log: Log) -> dict[str, Any]:
    """Run every replicas trial against one redis-server; skip without one."""
    try:
        import redis  # noqa: F401
    except ImportError:
        return {"skipped": "redis-py is not installed: pip install -e '.[redis]'"}
    if shutil.which("redis-server") is None:
        return {"skipped": "redis-server is not installed: apt-get install -y redis-server"}
    with redis_server() as url:
        return {
            "requests": [
                _requests_trial(server, plan, url, log, mode) for mode in ("auto", "never")
            ],
            "webhook": _webhook_trial(server, plan, url, log),
            "failover": _failover_trial(server, plan, url, log),
            "pressure": _pressure_trial(server, plan, url, log),
        }


def _rounds(pressure: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the pressure trial's rounds (a run saved before rounds had one, unnamed)."""
    if "rounds" in pressure:
        rounds: list[dict[str, Any]] = pressure["rounds"]
        return rounds
    return [{"rows": pressure["rows"], "ratio": pressure["ratio"]}]


def replica_targets(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Check the replicas section against its targets (reported, never enforced)."""
    if not section or "skipped" in section:
        return []
    found = []
    for row in section["requests"]:
        ratio = row["ratio"]
        found.append(
            {
                "target": f"{row['processes']} processes waiting on the same {row['renders']:,} "
                f"renders (list {row['mode']}): requests / one process alone ≤ 1.2",
                "measured": f"{ratio} ({row['requests_shared']} / {row['requests_alone']})",
                "met": ratio is not None and ratio <= 1.2,
            }
        )
    hook = section["webhook"]
    found.append(
        {
            "target": f"webhook delivered to one of {hook['processes']} processes: delay until "
            "the waits in all end, p95 ≤ 100 ms",
            "measured": f"p95 {hook['delay_p95_ms']} ms (max {hook['delay_max_ms']} ms, "
            f"{hook['relayed']} renders)",
            "met": hook["delay_p95_ms"] is not None and hook["delay_p95_ms"] <= 100,
        }
    )
    fail = section["failover"]
    found.append(
        {
            "target": "the polling process killed: delay until its videos are polled again "
            "≤ lease time + one poll interval; 0 waits lost",
            "measured": f"max {fail['delay_max_s']} s for {fail['polled_again']} videos "
            f"(lease {fail['lease_time_s']} s), {fail['over_bound']} over the bound, "
            f"{fail['waits_lost']} waits lost",
            "met": fail["polled_again"] > 0 and fail["over_bound"] == 0 and not fail["waits_lost"],
        }
    )
    pressure = section["pressure"]
    rounds = _rounds(pressure)
    later = [list(r["rows"].values())[:2] for r in rounds]
    found.append(
        {
            "target": "4 processes under the sandbox's per-key rate limit: 429s / one "
            "process's ≤ 1.5",
            "measured": f"median {pressure['ratio']} of {len(rounds)} rounds "
            f"({', '.join(str(r['ratio']) for r in rounds)}); after the first second: "
            f"{sum(c['429s_later'] for _, c in later)} coordinated, "
            f"{sum(a['429s_later'] for a, _ in later)} alone, in all rounds",
            "met": pressure["ratio"] is not None and pressure["ratio"] <= 1.5,
        }
    )
    return found


def replicas_markdown(section: dict[str, Any]) -> str:
    """Return the replicas section's tables as markdown."""
    if "skipped" in section:
        return f"Skipped: {section['skipped']}."
    lines = [
        "| renders | list polling | API requests, one process alone | API requests, 4 "
        "coordinated | ratio | polls + list polls per process | waits ended |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in section["requests"]:
        lines.append(
            f"| {row['renders']:,} | {row['mode']} | {row['requests_alone']:,} | "
            f"{row['requests_shared']:,} | {row['ratio']} | "
            f"{' / '.join(str(p) for p in row['polls_per_process'])} | "
            f"{row['waits_ended']:,} / {row['waits']:,} |"
        )
    hook = section["webhook"]
    fail = section["failover"]
    lines += [
        "",
        f"Webhook relay: {hook['relayed']} renders, delay from receipt in one process to "
        f"the end of the waits in all {hook['processes']}: p50 {hook['delay_p50_ms']} ms, "
        f"p95 {hook['delay_p95_ms']} ms, max {hook['delay_max_ms']} ms.",
        "",
        f"Failover (lease {fail['lease_time_s']} s, list polling off): "
        f"{fail['orphaned']} unfinished videos held by the killed process, "
        f"{fail['polled_again']} polled again (the rest ended on a shared state first), "
        f"delay p50 {fail['delay_p50_s']} s, max {fail['delay_max_s']} s; "
        f"{fail['over_bound']} over lease time + their last poll interval; "
        f"{fail['waits_lost']} waits lost.",
        "",
        "| under a server limit of "
        f"{section['pressure']['server_rate_limit']:g} req/s | round | 429s | within 1 s of "
        "the first | later | API requests | waits ended |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, round_ in enumerate(_rounds(section["pressure"]), 1):
        for label, row in round_["rows"].items():
            lines.append(
                f"| {label} | {number} | {row['429s']} | {row['429s_first_second']} | "
                f"{row['429s_later']} | {row['requests']:,} | {row['waits_ended']:,} |"
            )
    return "\n".join(lines)
