"""The standalone sandbox command: ``python -m videoapi_async.sandbox``.

The parser is built by :func:`build_arg_parser` and read by :func:`config_from_args`, so
another command (a ``sandbox`` subcommand) can offer the same options.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from ._app import Sandbox
from ._config import FAULT_KINDS, SandboxConfig
from ._options import OPTION_NAMES, config_from_options

__all__ = ["build_arg_parser", "config_from_args", "main", "serve"]

_DESCRIPTION = (
    "Serve a local stand-in for the Hour One Video API: renders that progress over time, "
    "subtitles, voice previews, usage analytics, signed webhooks, FastAPI-style errors, "
    "and faults on request. Point a client at the printed base URL with the printed api-key."
)


def build_arg_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the sandbox's options to ``parser`` (a new one when ``None``) and return it."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="python -m videoapi_async.sandbox")
        parser.description = _DESCRIPTION
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port; 0 picks a free one (default 8080)"
    )
    parser.add_argument(
        "--api-key", metavar="KEY", help="the API key to accept (default: a random one)"
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="seed of every random choice (default: random)"
    )
    renders = parser.add_argument_group("renders")
    renders.add_argument(
        "--time-scale",
        type=float,
        metavar="X",
        help="speed-up factor of renders (10 = ten times faster)",
    )
    renders.add_argument(
        "--min-duration", type=float, metavar="S", help="shortest render, nominal seconds (2)"
    )
    renders.add_argument(
        "--max-duration", type=float, metavar="S", help="longest render, nominal seconds (8)"
    )
    renders.add_argument(
        "--failure-rate", type=float, metavar="P", help="fraction of renders ending 'failed'"
    )
    renders.add_argument(
        "--cancel-rate", type=float, metavar="P", help="fraction ending 'cancelled'"
    )
    renders.add_argument("--stop-rate", type=float, metavar="P", help="fraction ending 'stopped'")
    renders.add_argument(
        "--publish-rate", type=float, metavar="P", help="fraction ending 'published'"
    )
    renders.add_argument(
        "--unknown-progress-rate",
        type=float,
        metavar="P",
        help="fraction of reads reporting progress -1",
    )
    renders.add_argument(
        "--preload-videos",
        type=int,
        metavar="N",
        help="finished videos to put in the account at start",
    )
    renders.add_argument(
        "--null-unset-fields",
        action="store_true",
        default=None,
        help="send null for optional fields without a value instead of leaving them out",
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--fault-rate",
        type=float,
        metavar="P",
        help="fraction of API requests that get a random fault",
    )
    faults.add_argument(
        "--fault-kinds",
        metavar="KINDS",
        help="comma-separated kinds for --fault-rate (default: http_429,http_500,http_502,"
        f"http_503,reset); any of {', '.join(FAULT_KINDS)}",
    )
    faults.add_argument(
        "--latency", type=float, metavar="S", help="seconds added to every API request"
    )
    faults.add_argument(
        "--retry-after", type=float, metavar="S", help="Retry-After of injected 429s, seconds"
    )
    faults.add_argument(
        "--rate-limit",
        type=float,
        metavar="RPS",
        help="requests per second allowed per API key (token bucket)",
    )
    faults.add_argument("--burst", type=int, metavar="N", help="burst size of --rate-limit")
    voice = parser.add_argument_group("voice previews")
    voice.add_argument(
        "--voice-min-duration",
        type=float,
        metavar="S",
        help="shortest voice preview, nominal seconds (1)",
    )
    voice.add_argument(
        "--voice-max-duration",
        type=float,
        metavar="S",
        help="longest voice preview, nominal seconds (4)",
    )
    voice.add_argument(
        "--voice-failure-rate",
        type=float,
        metavar="P",
        help="fraction of voice previews ending 'failed'",
    )
    hooks = parser.add_argument_group("webhooks")
    hooks.add_argument(
        "--webhook-url",
        metavar="URL",
        help="POST a signed video.ready / video.failed delivery here when a render ends",
    )
    hooks.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="signing secret of the deliveries (default: a random one, printed at start)",
    )
    hooks.add_argument(
        "--webhook-delay",
        type=float,
        metavar="S",
        help="seconds between the end of a render and its delivery (0)",
    )
    return parser


def config_from_args(namespace: argparse.Namespace) -> SandboxConfig:
    """Build the :class:`SandboxConfig` that parsed arguments ask for (``ValueError`` if bad)."""
    return config_from_options({name: getattr(namespace, name, None) for name in OPTION_NAMES})


async def serve(config: SandboxConfig, *, out: TextIO | None = None) -> None:
    """Run a sandbox until SIGINT or SIGTERM, printing where it listens to ``out``."""
    out = out if out is not None else sys.stdout
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        async with Sandbox(config) as sandbox:
            print(f"Video API sandbox serving at {sandbox.base_url}", file=out)
            print(f"  api-key: {sandbox.api_key}", file=out)
            print(f"  seed:    {sandbox.seed}", file=out)
            webhooks = sandbox.config.webhooks
            if webhooks is not None:
                print(f"  webhooks: {webhooks.url}", file=out)
                print(f"  webhook secret: {webhooks.secret}", file=out)
            print(f"  bearer token (webhook operations): {sandbox.bearer_token}", file=out)
            print("Press Ctrl-C to stop.", file=out, flush=True)
            await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the standalone sandbox command; return its exit status."""
    parser = build_arg_parser()
    namespace = parser.parse_args(argv)
    try:
        config = config_from_args(namespace)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    print("Sandbox stopped.", flush=True)
    return 0
