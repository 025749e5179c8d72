"""The project's metadata agrees with itself: one version, a license, a changelog."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import videoapi_async

# tomllib is in the standard library from Python 3.11; on 3.10 these checks do not run.
tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_defined_once() -> None:
    """pyproject.toml takes the version from videoapi_async/_version.py, not a literal."""
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "videoapi_async/_version.py"


def test_installed_metadata_has_the_packages_version() -> None:
    """The installed distribution's version is the one the package reports."""
    assert importlib.metadata.version("videoapi-async") == videoapi_async.__version__


def test_cli_version_is_the_packages_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`videoapi --version` prints the package's version."""
    pytest.importorskip("click")
    from videoapi_async.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code in (0, None)
    assert capsys.readouterr().out.split() == ["videoapi,", "version", videoapi_async.__version__]


def test_license_is_mit_and_shipped() -> None:
    """The license field is the SPDX id of the LICENSE file's text, which is shipped."""
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the videoapi-async authors" in text


def test_changelog_follows_keep_a_changelog() -> None:
    """Unreleased comes first, then dated releases, newest first, the current one included."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.*)$", text, flags=re.M)
    assert sections[0] == "[Unreleased]"
    released = [re.fullmatch(r"\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})", s) for s in sections[1:]]
    assert all(released), f"a release heading is not '[X.Y.Z] - YYYY-MM-DD': {sections[1:]}"
    dates = [m[2] for m in released if m]
    assert dates == sorted(dates, reverse=True)
    assert videoapi_async.__version__ in [m[1] for m in released if m]
    kinds = set(re.findall(r"^### (.*)$", text, flags=re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
