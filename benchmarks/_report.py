"""Turning a run's results into markdown tables, the README block, and a chart."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks._replicas import replicas_markdown

START = "<!-- results:start -->"
END = "<!-- results:end -->"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(machine: dict[str, Any]) -> str:
    """One line saying where and with what the run was made."""
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    load = machine.get("load_average_at_start")
    busy = f"; load average at start {load[0]:g}" if load else ""
    return (
        f"{machine['date']}: {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['os']}, Python {machine['python']}; {packages}{busy}."
    )


def percall_table(section: dict[str, Any]) -> str:
    """Section 1: CPU per call per stack, and the ratios (the targets are in their table)."""
    rows = []
    for operation, data in section.items():
        cpu = data["cpu_us_median"]
        names = list(cpu)
        ratios = data["ratios"]
        rows.append(
            [operation, *(round(cpu[n], 1) for n in names[:3])]
            + [round(ratios[f"{names[0]}/{n}"]["median"], 3) for n in names[1:3]]
            + [
                round(data["wall_ratios"][f"{names[0]}/{names[1]}"]["median"], 3)
                if "wall_ratios" in data
                else "n/a"
            ]
        )
    header = [
        "call",
        "videoapi_async µs",
        "aiohttp + json µs",
        "httpx + pydantic µs",
        "(a)/(b)",
        "(a)/(c)",
        "wall (a)/(b)",
    ]
    return _table(header, rows)


def _median_rows(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Merge the rounds of each (group, label): the median of every numeric field."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = (*(row.get(k) for k in keys), row["label"])
        groups[key].append(row)
    merged = []
    for members in groups.values():
        first = dict(members[0])
        for field, value in first.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values = [m[field] for m in members if m.get(field) is not None]
                middle = statistics.median(values) if values else None
                if isinstance(value, int) and middle is not None and middle == int(middle):
                    middle = int(middle)
                first[field] = middle
        first["rounds"] = len(members)
        merged.append(first)
    return merged


def waiting_table(rows: list[dict[str, Any]]) -> str:
    """Section 2: one line per batch size and strategy (median over rounds)."""
    out = []
    for row in _median_rows(rows, ("batch",)):
        label = row["label"]
        if row["renders"] != row["batch"]:
            label += f" ({row['renders']:,.0f} of {row['batch']:,.0f})"
        if row.get("interval_s"):
            label += f", every {row['interval_s']:.2f} s"
        out.append(
            [
                row["batch"],
                label,
                row["requests_per_render"],
                row["detect_p50_s"],
                row["detect_p95_s"],
                _pct(row["detect_p95_share"]),
                _pct(row["within_1s_5pct"]),
                row["client_cpu_s"],
                row["client_cpu_ms_per_render"],
                row["rss_growth_mb"],
            ]
        )
    header = [
        "batch",
        "strategy",
        "requests / render",
        "detect p50 s",
        "detect p95 s",
        "p95 / duration",
        "within 1 s + 5 %",
        "client CPU s",
        "CPU ms / render",
        "RSS growth MB",
    ]
    return _table(header, out)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def crossover_table(rows: list[dict[str, Any]]) -> str:
    """Section 3: per-id against list polling, and what auto chose."""
    cells: dict[tuple[int, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        cells[(row["account_extra"], row["in_flight"])][row["mode"]] = row
    out = []
    for (extra, in_flight), modes in sorted(cells.items()):
        never, always, auto = modes.get("never"), modes.get("always"), modes.get("auto")
        if never is None or always is None or auto is None:
            continue
        cheaper = "list" if always["client_cpu_s"] < never["client_cpu_s"] else "per id"
        stats = auto["client_stats"]
        lists, polls = stats.get("list_polls", 0), stats.get("polls", 0)
        chose = "list" if lists and lists * 4 >= polls else ("mixed" if lists else "per id")
        out.append(
            [
                extra,
                in_flight,
                f"{never['requests_per_render']:.2f} / {always['requests_per_render']:.2f}"
                f" / {auto['requests_per_render']:.2f}",
                f"{never['client_cpu_ms_per_render']:.2f}"
                f" / {always['client_cpu_ms_per_render']:.2f}"
                f" / {auto['client_cpu_ms_per_render']:.2f}",
                f"{never['bytes_per_render'] / 1e3:,.1f} / {always['bytes_per_render'] / 1e3:,.1f}"
                f" / {auto['bytes_per_render'] / 1e3:,.1f}",
                f"{never['detect_p95_s']:.2f} / {always['detect_p95_s']:.2f}"
                f" / {auto['detect_p95_s']:.2f}",
                cheaper,
                f"{chose} ({polls} GET, {lists} list)",
            ]
        )
    header = [
        "other videos in account",
        "in flight",
        "requests / render (off / always / auto)",
        "client CPU ms / render",
        "kB read / render",
        "detect p95 s",
        "cheaper in CPU",
        "auto did",
    ]
    return _table(header, out)


# Strategies that earlier runs named otherwise: the 10 req/s cap was once the default.
_FORMER_LABELS = {
    "videoapi_async (auto, default 10 req/s budget)": "videoapi_async (auto, 10 req/s cap)"
}


def pressure_table(rows: list[dict[str, Any]], previous: dict[str, Any] | None = None) -> str:
    """Section 4: the batch under the sandbox's rate limit, beside the previous saved run."""
    before = {
        _FORMER_LABELS.get(row["label"], row["label"]): row
        for row in (previous or {}).get("rows", [])
    }
    out = []
    for row in rows:
        old = before.get(row["label"])
        out.append(
            [
                row["label"],
                row["renders"],
                row["http_429"],
                "n/a" if old is None else old["http_429"],
                row["completion_s"],
                "n/a" if old is None else old["completion_s"],
                row["requests_per_render"],
                row["detect_p95_s"],
                f"{row['completed']:,} / {row['renders']:,}",
                row["errors"],
            ]
        )
    header = [
        "strategy",
        "renders",
        "429s",
        "429s before",
        "completion s",
        "completion s before",
        "requests / render",
        "detect p95 s",
        "finished / renders",
        "errors seen",
    ]
    table = _table(header, out)
    if previous is not None:
        table += (
            f'\n\n"Before" is the previous saved run, `results/{previous["run"]}` (another '
            "run, so another moment of the shared machine; n/a where it had no such strategy)."
        )
    return table


def startup_table(startup: dict[str, Any]) -> str:
    """``videoapi --help`` (and the others measured beside it) against ``python -c pass``."""
    rows = [
        [
            "videoapi --help",
            *(
                value
                for kind in ("wall", "cpu")
                for value in (
                    round(startup[kind]["help_ms_median"], 1),
                    round(startup[kind]["ratio"]["median"], 2),
                )
            ),
        ],
        *(
            [
                name,
                *(
                    value
                    for kind in ("wall", "cpu")
                    for value in (
                        round(other[kind]["ms_median"], 1),
                        round(other[kind]["ratio"]["median"], 2),
                    )
                ),
            ]
            for name, other in startup.get("others", {}).items()
        ),
        [
            "python -c pass",
            round(startup["wall"]["python_pass_ms_median"], 1),
            1.0,
            round(startup["cpu"]["python_pass_ms_median"], 1),
            1.0,
        ],
    ]
    return _table(["command", "wall ms", "wall ratio", "CPU ms", "CPU ratio"], rows)


def bulk_table(rows: list[dict[str, Any]]) -> str:
    """Section 5: creates with a wait started as each create answers."""
    out = [
        [
            row["label"],
            row["renders"],
            row["creates_s"],
            row["requests_per_render"],
            row["detect_p50_s"],
            row["detect_p95_s"],
            _pct(row["within_1s_5pct"]),
            row["completion_s"],
            row["errors"],
        ]
        for row in rows
    ]
    header = [
        "client",
        "renders",
        "last create answered s",
        "polls / render",
        "detect p50 s",
        "detect p95 s",
        "within 1 s + 5 %",
        "completion s",
        "errors",
    ]
    return _table(header, out)


def profile_table(profile: dict[str, Any], percall: dict[str, Any] | None) -> str:
    """Where a get_video's CPU goes, by layer, for videoapi_async and raw aiohttp."""
    stacks = profile["get_video"]
    names = list(stacks)
    measured = percall["get_video"]["cpu_us_median"] if percall else {}
    header = ["layer"] + [f"{n}: share (≈ µs of measured CPU)" for n in names]
    rows = []
    for layer in stacks[names[0]]["layers_share"]:
        row: list[Any] = [layer]
        for name in names:
            share = stacks[name]["layers_share"][layer]
            est = measured.get(name)
            row.append(f"{100 * share:.1f} %" + (f" (≈ {share * est:.0f})" if est else ""))
        rows.append(row)
    table = _table(header, rows)
    wait = profile.get("wait_list_off")
    if wait:
        layers = wait["layers_us_per_call"]
        table += (
            f"\n\nWaiting for {wait['renders']:,} renders with list polling off, per poll "
            f"(profiled µs, inflated by cProfile): {wait['total_us_per_call']:.0f} in all, "
            f"of which the wait scheduler {layers['wait scheduler']:.0f}, request "
            f"{layers['request']:.0f}, structure {layers['structure']:.0f}, dispatch "
            f"{layers['dispatch']:.0f}."
        )
    return table


def render_markdown(results: dict[str, Any]) -> str:
    """Return the whole results block: machine, targets, and every section's table."""
    parts = [f"Measured {machine_line(results['machine'])}"]
    client = results.get("client") or {}
    if client.get("git"):
        parts[0] += f" Client measured: `videoapi_async` at git `{client['git']}`."
    if results.get("quick"):
        parts.append("**Quick run (`--quick`): tiny sizes; a smoke test, not a measurement.**")
    sections = results["sections"]
    if results.get("targets"):
        rows = [
            [t["target"], t["measured"], "yes" if t["met"] else "**no**"]
            for t in results["targets"]
        ]
        parts += ["#### Targets", _table(["target", "measured", "met"], rows)]
    if "percall" in sections:
        parts += [
            "#### 1. Client CPU per call (median of interleaved blocks)",
            percall_table(sections["percall"]),
        ]
    if "waiting" in sections:
        parts += ["#### 2. Waiting at scale", waiting_table(sections["waiting"])]
    if "crossover" in sections:
        parts += [
            "#### 3. Per-id polling against the list endpoint",
            crossover_table(sections["crossover"]),
        ]
    if "pressure" in sections:
        parts += [
            "#### 4. Under a server rate limit",
            pressure_table(sections["pressure"], results.get("pressure_previous")),
        ]
    if "bulk" in sections:
        parts += [
            "#### 5. Creates with waits started as each create answers",
            bulk_table(sections["bulk"]),
        ]
    if "startup" in sections:
        parts += ["#### Startup of the command line", startup_table(sections["startup"])]
    if "replicas" in sections:
        parts += ["#### Many replicas through Redis", replicas_markdown(sections["replicas"])]
    if "profile" in sections:
        parts += [
            "#### Profile of one get_video",
            profile_table(sections["profile"], sections.get("percall")),
        ]
    return "\n\n".join(parts) + "\n"


def write_readme(
    readme: Path, block: str, *, json_names: list[str], chart_name: str | None
) -> None:
    """Replace the text between the result markers of ``readme`` with ``block``."""
    text = readme.read_text()
    if START not in text or END not in text:
        raise RuntimeError(f"{readme} has no {START} ... {END} markers")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    files = "Raw results: " + ", ".join(f"`results/{name}`" for name in json_names)
    if chart_name:
        files += f"; chart: `results/{chart_name}`"
    readme.write_text(f"{head}{START}\n{block}\n{files}.\n{END}{tail}")


def draw_chart(rows: list[dict[str, Any]], path: Path) -> bool:
    """Plot requests per render against p95 detection delay; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    merged = _median_rows(rows, ("batch",))
    figure, axes = plt.subplots(figsize=(8, 5.5))
    markers = {100: "o", 1000: "s", 10000: "^"}
    labels = sorted({row["label"] for row in merged})
    colours = plt.get_cmap("tab10")
    for index, label in enumerate(labels):
        points = [r for r in merged if r["label"] == label and r["detect_p95_s"] is not None]
        for row in points:
            axes.scatter(
                max(row["requests_per_render"], 1e-3),
                row["detect_p95_s"],
                color=colours(index),
                marker=markers.get(row["batch"], "D"),
                s=60,
                label=label if row is points[0] else None,
            )
            axes.annotate(
                f"{row['renders']:,.0f}",
                (max(row["requests_per_render"], 1e-3), row["detect_p95_s"]),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=7,
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("requests per render (log)")
    axes.set_ylabel("p95 detection delay, s (log)")
    axes.set_title(
        "Waiting for renders: requests against p95 detection delay (lower left is better)\n"
        "marker: circle 100, square 1,000, triangle 10,000 renders; label: renders waited on"
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
