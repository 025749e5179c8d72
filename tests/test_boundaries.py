"""The command and the sandbox stand on the library's public API, never its private modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "videoapi_async"
OWN = ("videoapi_async.cli.", "videoapi_async.sandbox.")
"""Subpackages whose private modules the command and the sandbox may import."""


def imported_modules(source: str, package: str) -> list[str]:
    """Return every module ``source`` (a module of ``package``) imports, names included.

    Relative imports are resolved, and ``from videoapi_async import _contract`` yields
    ``videoapi_async._contract``, so a private module imported through its package counts.
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


def private_imports(source: str, package: str) -> list[str]:
    """Return the private modules of the library that ``source`` imports."""
    return [
        module
        for module in imported_modules(source, package)
        if module.startswith("videoapi_async.")
        and not module.startswith(OWN)
        and any(part.startswith("_") for part in module.split(".")[1:] if part != "__version__")
    ]


@pytest.mark.parametrize("subpackage", ["cli", "sandbox"])
def test_no_private_module_of_the_library_is_imported(subpackage: str) -> None:
    """No module of the command or the sandbox imports an underscore module of the client."""
    offenders = {
        path.name: found
        for path in sorted((PACKAGE / subpackage).glob("*.py"))
        if (
            found := private_imports(
                path.read_text(encoding="utf-8"), f"videoapi_async.{subpackage}"
            )
        )
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from videoapi_async._recovery import match_lost_creates",
        "from videoapi_async import Video, _contract",
        "import videoapi_async._client",
        "from .._bulk import create_many",
        "from .. import _errors",
        "def f():\n    from videoapi_async._transport import HTTPRequest",
    ],
)
def test_every_spelling_of_a_private_import_is_caught(source: str) -> None:
    """Absolute, from-package, relative and local imports of a private module are reported."""
    assert private_imports(source, "videoapi_async.cli")


def test_public_and_own_imports_pass() -> None:
    """The package's public names and the command's own modules are not reported."""
    source = (
        "from videoapi_async import Video, __version__\n"
        "from videoapi_async.contract import WEBHOOK_EVENTS\n"
        "from videoapi_async.sandbox._cli import serve\n"
        "from ._journal import Journal\n"
    )
    assert private_imports(source, "videoapi_async.cli") == []
    assert "videoapi_async.cli._journal" in imported_modules(source, "videoapi_async.cli")
