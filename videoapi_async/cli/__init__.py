"""The ``videoapi`` command: the Video API from a terminal, for people and for scripts.

This package holds `main`, the entry point; the commands are listed, once, in
`_root.COMMANDS`, and each lives in the module named there. ``videoapi --help`` lists them.

The command needs the ``cli`` extra (click and rich). Importing ``videoapi_async`` never
imports them, and neither does importing this package: only `main` does, and it imports
each command's module (with rich and the client) only when that command runs.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["MISSING_EXTRA_MESSAGE", "main"]

MISSING_EXTRA_MESSAGE = (
    "the videoapi command needs the cli extra (click and rich): from a clone of the "
    "project run pip install '.[cli]', or install a built wheel with "
    "pip install 'videoapi_async-VERSION-py3-none-any.whl[cli]'"
)
"""What `main` prints when click or rich is not installed."""


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the ``videoapi`` command with ``argv`` (default: ``sys.argv[1:]``) and exit.

    Exits with the command's status (see ``videoapi --help``), or with 2 and one line on
    stderr when the ``cli`` extra is not installed.
    """
    # Looked for, not imported: --help and --version never need rich.
    if any(importlib.util.find_spec(name) is None for name in ("click", "rich")):
        print(MISSING_EXTRA_MESSAGE, file=sys.stderr)
        sys.exit(2)
    from ._root import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="videoapi")
    sys.exit(0)  # cli.main always exits; this line keeps the NoReturn promise honest
