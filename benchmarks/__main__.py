"""``python -m benchmarks``: measure videoapi_async against the sandbox and report.

The sandbox runs in a child process (``benchmarks._server``) so that this process's CPU
time is the client's alone; every waiting trial runs in a fresh child process of its own.
Results go to ``benchmarks/results/`` (JSON, and a PNG chart when matplotlib is
installed), the tables to standard output, and with ``--write-readme`` into
``benchmarks/README.md``. Timings never decide the exit status: it is 0 whenever the
benchmark ran, whatever it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

import videoapi_async
from benchmarks._control import ServerProcess
from benchmarks._machine import machine_info
from benchmarks._percall import run_percall
from benchmarks._plan import FULL, QUICK, Plan
from benchmarks._profile import run_profile
from benchmarks._replicas import replica_targets, run_replicas
from benchmarks._report import draw_chart, render_markdown, write_readme
from benchmarks._sections import (
    STRATEGY_AUTO,
    STRATEGY_NEVER,
    STRATEGY_SEEDED,
    run_bulk,
    run_crossover,
    run_pressure,
    run_waiting,
)
from benchmarks._startup import run_startup

HERE = Path(__file__).resolve().parent
SECTIONS = (
    "percall",
    "waiting",
    "crossover",
    "pressure",
    "bulk",
    "startup",
    "replicas",
    "profile",
)
WALL_LIMIT = 1.3  # get_video wall time per call, sequential, / raw aiohttp
STARTUP_AIM = 3.0  # ``videoapi --help`` wall time / ``python -c pass``: reported, an aim


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _client_source() -> dict[str, Any]:
    """Say which videoapi_async was measured: its path and, in a git checkout, revision."""
    path = Path(videoapi_async.__file__).resolve().parent
    revision = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        revision = subprocess.run(
            ["git", "-C", str(path), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    return {"path": str(path), "git": revision or None}


def percall_limits(operation: str) -> tuple[float, float]:
    """Return the targets of one per-call measure: its CPU / raw aiohttp, / httpx + pydantic.

    A list call reads each video's ``id`` and ``status`` in every stack.
    """
    if operation.startswith("list_videos"):
        return 2.0, 1.0
    if "concurrent" in operation:
        return 1.3, 0.3
    return 1.2, 0.3


def targets(sections: dict[str, Any]) -> list[dict[str, Any]]:
    """Check the results against the stated targets (reported, never enforced)."""
    found = []
    for operation, data in sections.get("percall", {}).items():
        for other, limit in zip(
            ("aiohttp_raw", "httpx_pydantic"), percall_limits(operation), strict=True
        ):
            ratio = data["ratios"][f"videoapi_async/{other}"]["median"]
            found.append(
                {
                    "target": f"{operation}: videoapi_async / {other} ≤ {limit}",
                    "measured": f"{ratio:.3f}",
                    "met": ratio <= limit,
                }
            )
        wall = data.get("wall_ratios", {}).get("videoapi_async/aiohttp_raw")
        if operation == "get_video" and wall is not None:
            found.append(
                {
                    "target": f"get_video wall time per call: videoapi_async / aiohttp_raw "
                    f"≤ {WALL_LIMIT}",
                    "measured": f"{wall['median']:.3f}",
                    "met": wall["median"] <= WALL_LIMIT,
                }
            )
    for row in sections.get("waiting", []):
        if row["label"] not in (STRATEGY_AUTO, STRATEGY_NEVER, STRATEGY_SEEDED) or row.get("round"):
            continue
        within = row["within_1s_5pct"] or 0.0
        found.append(
            {
                "target": f"{row['batch']:,} renders, {row['label']}: ≤ 4 requests / render "
                "and p95 detection ≤ 1 s + 5 % of duration",
                "measured": f"{row['requests_per_render']:.2f} requests / render; "
                f"{100 * within:.1f} % of renders within 1 s + 5 % "
                f"(p95 {row['detect_p95_s']} s)",
                "met": row["requests_per_render"] <= 4 and within >= 0.95,
            }
        )
        if row["batch"] >= 10000 and row["rss_growth_mb"] is not None:
            found.append(
                {
                    "target": f"{row['batch']:,} concurrent waits, {row['label']}: "
                    "≤ 100 MB memory growth",
                    "measured": f"{row['rss_growth_mb']} MB peak RSS growth",
                    "met": row["rss_growth_mb"] <= 100,
                }
            )
    for row in sections.get("bulk", []):
        if row.get("client_cap") is not None:
            continue
        within = row["within_1s_5pct"] or 0.0
        found.append(
            {
                "target": f"{row['batch']:,} creates with waits started as each create "
                "answers: p95 detection ≤ 1 s + 5 % of duration",
                "measured": f"p95 {row['detect_p95_s']} s; {100 * within:.1f} % of renders "
                "within 1 s + 5 %",
                "met": within >= 0.95,
            }
        )
    startup = sections.get("startup")
    if startup is not None:
        wall = startup["wall"]
        found.append(
            {
                "target": f"videoapi --help wall time / python -c pass: aim ≤ {STARTUP_AIM:g}",
                "measured": f"{wall['ratio']['median']:.1f} ({wall['help_ms_median']:.0f} ms "
                f"/ {wall['python_pass_ms_median']:.0f} ms)",
                "met": wall["ratio"]["median"] <= STARTUP_AIM,
            }
        )
    return found + replica_targets(sections.get("replicas"))


def previous_pressure(json_path: Path) -> dict[str, Any] | None:
    """Return the pressure rows of the newest run saved before ``json_path``, beside it."""
    older = sorted(
        (p for p in json_path.parent.glob("run-*.json") if p.name < json_path.name),
        reverse=True,
    )
    for path in older:
        if path.name.endswith("-quick.json"):
            continue
        rows = json.loads(path.read_text()).get("sections", {}).get("pressure")
        if rows:
            return {"run": path.name, "rows": rows}
    return None


def run(plan: Plan, sections: tuple[str, ...], candidates: tuple[str, ...]) -> dict[str, Any]:
    """Run the chosen sections against one server process and collect the results."""
    results: dict[str, Any] = {"machine": machine_info(), "client": _client_source()}
    results["plan"] = attrs.asdict(plan)
    out: dict[str, Any] = {}
    started = time.monotonic()
    with ServerProcess(seed=plan.seed) as server:
        if "percall" in sections:
            _log("1. per-call cost")
            out["percall"] = run_percall(
                server,
                get_calls=plan.get_calls,
                list_calls=plan.list_calls,
                list_size=plan.list_size,
                rounds=plan.percall_rounds,
                concurrency=plan.concurrency,
                candidates=candidates,
            )
        if "waiting" in sections:
            _log("2. waiting at scale")
            out["waiting"] = run_waiting(server, plan, _log)
        if "crossover" in sections:
            _log("3. list-probe crossover")
            out["crossover"] = run_crossover(server, plan, _log)
        if "pressure" in sections:
            _log("4. under pressure")
            out["pressure"] = run_pressure(server, plan, _log)
        if "bulk" in sections:
            _log("5. creates with waits started as each create answers")
            out["bulk"] = run_bulk(server, plan, _log)
        if "startup" in sections:
            _log("startup")
            out["startup"] = run_startup(rounds=plan.startup_rounds)
        if "replicas" in sections:
            _log("many replicas, coordinated through Redis")
            out["replicas"] = run_replicas(server, plan, _log)
        if "profile" in sections:
            _log("profile")
            out["profile"] = run_profile(
                server,
                calls=plan.profile_calls,
                batch=plan.profile_batch,
                scale=plan.crossover_time_scale,
                seed=plan.seed,
            )
    results["sections"] = out
    results["targets"] = targets(out)
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def _load_report(path: Path) -> dict[str, Any]:
    """Read a saved run, checked against the current targets."""
    results: dict[str, Any] = json.loads(path.read_text())
    results["targets"] = targets(results["sections"])
    if "pressure" in results["sections"] and "pressure_previous" not in results:
        results["pressure_previous"] = previous_pressure(path)
    return results


def _pick_batches(plan: Plan, spec: str, parser: argparse.ArgumentParser) -> Plan:
    """Return ``plan`` waiting only on the batch sizes named in ``spec``."""
    rounds = dict(zip(plan.batch_sizes, plan.batch_rounds, strict=True))
    try:
        sizes = tuple(int(s) for s in spec.split(",") if s.strip())
    except ValueError:
        parser.error(f"--batches takes sizes such as 1000,10000, not {spec!r}")
    unknown = [size for size in sizes if size not in rounds]
    if unknown or not sizes:
        parser.error(f"--batches: choose among {', '.join(map(str, rounds))}")
    return attrs.evolve(plan, batch_sizes=sizes, batch_rounds=tuple(rounds[n] for n in sizes))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run, write the results; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every section at tiny sizes")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--write-readme", action="store_true", help="put the tables into benchmarks/README.md"
    )
    parser.add_argument(
        "--output", type=Path, help="directory for the JSON and PNG (default: results/)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        action="append",
        metavar="JSON",
        help="run nothing: print (and with --write-readme, write) the tables of a saved run; "
        "given again, the sections of another run that the first lacks follow, each under "
        "its own date and machine",
    )
    parser.add_argument(
        "--batches",
        metavar="SIZES",
        help="comma-separated subset of the plan's batch sizes for the waiting section "
        "(e.g. 10000)",
    )
    parser.add_argument(
        "--candidate",
        action="append",
        default=[],
        metavar="MODULE",
        help="also measure per-call cost of an importable copy of the client under "
        "another package name (e.g. a patched build), interleaved with the others",
    )
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    if args.quick and args.write_readme and args.report is None:
        parser.error("--write-readme takes a full run; --quick is a smoke test")
    earlier: list[tuple[Path, dict[str, Any]]] = []
    if args.report is not None:
        json_path = args.report[0]
        results = _load_report(json_path)
        shown = set(results["sections"])
        for path in args.report[1:]:
            other = _load_report(path)
            missing = {k: v for k, v in other["sections"].items() if k not in shown}
            if missing:
                shown |= set(missing)
                other["sections"] = missing
                other["targets"] = targets(missing)
                earlier.append((path, other))
        chart_path = json_path.with_suffix(".png")
    else:
        plan = QUICK if args.quick else FULL
        if args.batches:
            plan = _pick_batches(plan, args.batches, parser)
        results = run(plan, sections, tuple(args.candidate))
        results["quick"] = args.quick
        output = args.output
        if output is None:
            output = HERE / "results"
            if args.quick:  # a smoke test leaves nothing in the repository
                output = Path(tempfile.mkdtemp(prefix="videoapi-bench-"))
        output.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"run-{stamp}{'-quick' if args.quick else ''}"
        json_path = output / f"{name}.json"
        if "pressure" in results["sections"]:
            results["pressure_previous"] = previous_pressure(json_path)
        json_path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        chart_path = output / f"{name}.png"
    charted = "waiting" in results["sections"] and draw_chart(
        results["sections"]["waiting"], chart_path
    )
    block = render_markdown(results)
    for path, other in earlier:
        block += (
            f"\n#### From another run, `results/{path.name}`: "
            f"{', '.join(other['sections'])}\n\n{render_markdown(other)}"
        )
    print(block)
    _log(f"results: {json_path}" + (f", chart: {chart_path}" if charted else ""))
    if args.report is None:
        _log(f"took {results['seconds']} s")
    if args.write_readme:
        write_readme(
            HERE / "README.md",
            block,
            json_names=[json_path.name, *(path.name for path, _ in earlier)],
            chart_name=chart_path.name if charted else None,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
