"""Every fenced code block in README.md, docs/ and benchmarks/README.md runs, or says why not.

Python blocks run against an in-process sandbox (``VIDEOAPI_BASE_URL`` and
``VIDEOAPI_API_KEY`` point at it), all at once in threads of their own, each with its own
event loop, so the suite pays for the slowest block rather than for their sum. Shell
blocks run when every command in them is a ``videoapi`` command line (in-process, through
click's test runner). A block that cannot run says so in a comment just above it:

* ``<!-- docs-test: not-run: REASON -->``: not run at all (it installs packages, serves
  until Ctrl-C, names placeholder ids or files, takes minutes...);
* ``<!-- docs-test: fragment: REASON -->``: Python that uses names defined elsewhere; it
  is compiled, so its syntax is checked, but not run;
* ``<!-- docs-test: pytest -->``: a test module, run with pytest in a subprocess.

A ``<!-- docs-test: then ... -->`` comment just below a Python block holds code run after
it (to call what the block defines and check the result). ``text`` blocks are diagrams
and sample output, not code.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import shlex
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = (
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "benchmarks" / "README.md",
)
BLOCK_TIMEOUT = 30.0
SHELL_LANGUAGES = frozenset({"sh", "console", "shell", "bash"})
MARKER = re.compile(
    r"^<!-- docs-test: (?P<kind>not-run|fragment|pytest)(?::\s*(?P<why>.*?))?\s*-->$"
)
THEN_START = "<!-- docs-test: then"


@attrs.frozen
class Block:
    """One fenced code block of a document, with its docs-test marker."""

    path: Path
    line: int  # of the first line of code
    language: str
    code: str
    marker: str | None = None  # not-run, fragment or pytest
    reason: str = ""
    then: str = ""
    then_line: int = 0

    @property
    def name(self) -> str:
        """Where the block is, for test ids and messages."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = lines[index]
        if not opening.startswith("```"):
            index += 1
            continue
        language = opening[3:].strip()
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path.relative_to(ROOT)}:{index + 1}: unclosed code block")
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = MARKER.match(lines[before].strip()) if before >= 0 else None
        then, then_line, after = "", 0, end + 1
        if after < len(lines) and lines[after].startswith(THEN_START):
            closing = after
            while closing < len(lines) and "-->" not in lines[closing]:
                closing += 1
            then = "\n".join(lines[after + 1 : closing])
            then_line = after + 2
            end = closing
        yield Block(
            path=path,
            line=index + 2,
            language=language,
            code="\n".join(lines[index + 1 : end if not then else after - 1]),
            marker=marker["kind"] if marker else None,
            reason=(marker["why"] or "") if marker else "",
            then=then,
            then_line=then_line,
        )
        index = end + 1


BLOCKS = [block for path in DOCUMENTS for block in _blocks(path)]
PYTHON_RUN = [b for b in BLOCKS if b.language == "python" and b.marker is None]


def _compile(block: Block) -> object:
    """Compile the block (and its ``then`` code) with line numbers that match the file."""
    source = "\n" * (block.line - 1) + block.code
    if block.then:
        source += "\n" * (block.then_line - block.line - block.code.count("\n")) + block.then
    return compile(
        source, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )


def _run_python(block: Block, results: dict[str, str | None]) -> None:
    """Run one block in this thread; record None, or the traceback of what went wrong."""
    try:
        namespace: dict[str, object] = {"__name__": "__docs__"}
        outcome = eval(_compile(block), namespace)  # our own documentation's code
        if asyncio.iscoroutine(outcome):  # the block has a top-level await
            asyncio.run(outcome)
        results[block.name] = None
    except BaseException:  # report everything, SystemExit and KeyboardInterrupt included
        results[block.name] = traceback.format_exc()


class _SandboxThread:
    """A sandbox serving from an event loop of its own, in a background thread."""

    def __init__(self) -> None:
        from videoapi_async.sandbox import RenderProfile, Sandbox

        # Renders of 0.05-0.2 s, none failing: the documented examples expect success.
        self.sandbox = Sandbox(seed=1, render=RenderProfile(time_scale=40.0))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> _SandboxThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.sandbox.__aenter__(), self.loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        future = asyncio.run_coroutine_threadsafe(
            self.sandbox.__aexit__(None, None, None), self.loop
        )
        future.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[_SandboxThread]:
    """Start a sandbox that ``VideoAPI()`` finds through the environment."""
    saved = {name: os.environ.get(name) for name in _ENV}
    with _SandboxThread() as running:
        os.environ.update(
            VIDEOAPI_BASE_URL=running.sandbox.base_url, VIDEOAPI_API_KEY=running.sandbox.api_key
        )
        for name in ("VIDEOAPI_WORKSPACE_ID", "VIDEOAPI_TEAM_ID"):
            os.environ.pop(name, None)
        try:
            yield running
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


_ENV = ("VIDEOAPI_BASE_URL", "VIDEOAPI_API_KEY", "VIDEOAPI_WORKSPACE_ID", "VIDEOAPI_TEAM_ID")


PYTEST_BLOCKS = [b for b in BLOCKS if b.marker == "pytest"]


@attrs.frozen
class _PytestRun:
    """A documented test module being run by pytest in a subprocess."""

    process: subprocess.Popen[str]


def _start_pytest_runs(root: Path) -> dict[str, _PytestRun]:
    """Start pytest on every documented test module, each in a folder of ``root``."""
    runs: dict[str, _PytestRun] = {}
    env = {k: v for k, v in os.environ.items() if k not in _ENV}
    for index, block in enumerate(PYTEST_BLOCKS):
        folder = root / f"docs-pytest-{index}"
        folder.mkdir()
        (folder / "test_example.py").write_text(block.code + "\n", encoding="utf-8")
        # What a project using the fixtures would have in its own configuration.
        (folder / "pytest.ini").write_text(
            "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
            "filterwarnings = error\n",
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        runs[block.name] = _PytestRun(process)
    return runs


def _stop(runs: dict[str, _PytestRun]) -> None:
    for run in runs.values():
        run.process.kill()
        run.process.communicate()


@pytest.fixture(scope="module")
def pytest_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, _PytestRun]]:
    """Start the documented test modules' pytest runs side by side; stop them when done."""
    runs = _start_pytest_runs(tmp_path_factory.mktemp("docs"))
    yield runs
    _stop(runs)


@pytest.fixture(scope="module")
def python_results(
    sandbox: _SandboxThread, pytest_runs: dict[str, _PytestRun]
) -> dict[str, str | None]:
    """Run every runnable Python block at once; map each to None or its traceback.

    The documented test modules (``pytest_runs``) run in their subprocesses meanwhile.
    """
    results: dict[str, str | None] = {}
    threads = [
        threading.Thread(target=_run_python, args=(block, results), daemon=True)
        for block in PYTHON_RUN
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BLOCK_TIMEOUT)
    for block in PYTHON_RUN:
        results.setdefault(block.name, f"still running after {BLOCK_TIMEOUT:.0f} s")
    return results


def _ids(blocks: list[Block]) -> list[str]:
    return [block.name for block in blocks]


def test_blocks_are_found() -> None:
    """The parser finds the documents' code blocks, Python and shell ones among them."""
    languages = {block.language for block in BLOCKS}
    assert {"python", "console", "sh"} <= languages
    assert len(PYTHON_RUN) >= 8


@pytest.mark.parametrize("block", BLOCKS, ids=_ids(BLOCKS))
def test_block_is_runnable_or_says_why_not(block: Block) -> None:
    """Each block is run by a test below, or its marker says why it cannot be."""
    if block.marker in ("not-run", "fragment"):
        assert block.reason, f"{block.name}: say why after '{block.marker}:'"
    elif block.marker == "pytest":
        assert block.language == "python", f"{block.name}: a pytest block must be Python"
    elif block.language in SHELL_LANGUAGES:
        for command in _commands(block):
            assert command[:1] == ["videoapi"], (
                f"{block.name}: {shlex.join(command)!r} cannot be run by the docs test: "
                "mark the block <!-- docs-test: not-run: REASON -->"
            )
    else:
        assert block.language in ("python", "text"), (
            f"{block.name}: a {block.language or 'plain'} block: write ```text for output "
            "and diagrams, or mark it <!-- docs-test: not-run: REASON -->"
        )
    assert not block.then or block.language == "python", f"{block.name}: 'then' needs Python"


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.language == "python" and b.marker != "not-run"],
    ids=_ids([b for b in BLOCKS if b.language == "python" and b.marker != "not-run"]),
)
def test_python_block_compiles(block: Block) -> None:
    """Every Python block, fragments included, is valid Python."""
    _compile(block)


@pytest.mark.parametrize("block", PYTHON_RUN, ids=_ids(PYTHON_RUN))
def test_python_block_runs(block: Block, python_results: dict[str, str | None]) -> None:
    """The block runs to the end against the sandbox, and so does its ``then`` check."""
    failure = python_results[block.name]
    assert failure is None, f"{block.name} failed:\n{failure}"


def _commands(block: Block) -> list[list[str]]:
    """Return the command lines of a shell block (``$ `` lines of a console transcript)."""
    lines = block.code.splitlines()
    if block.language == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    return [words for words in (shlex.split(line, comments=True) for line in lines) if words]


SHELL_RUN = [b for b in BLOCKS if b.language in SHELL_LANGUAGES and b.marker is None]


@pytest.mark.parametrize("block", SHELL_RUN, ids=_ids(SHELL_RUN))
def test_shell_block_runs(
    block: Block, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each ``videoapi`` command line of the block exits 0 (run in-process)."""
    from videoapi_async.cli import main

    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    for command in _commands(block):
        with pytest.raises(SystemExit) as exited:
            main(command[1:])
        output = capsys.readouterr()
        assert exited.value.code in (0, None), (
            f"{block.name}: {shlex.join(command)} exited {exited.value.code}:\n"
            f"{output.out}{output.err}"
        )


@pytest.mark.parametrize("block", PYTEST_BLOCKS, ids=_ids(PYTEST_BLOCKS))
def test_pytest_block_passes(
    block: Block, python_results: dict[str, str | None], pytest_runs: dict[str, _PytestRun]
) -> None:
    """The documented test module passes under pytest, with the package's fixtures."""
    run = pytest_runs[block.name]
    try:
        out, err = run.process.communicate(timeout=BLOCK_TIMEOUT)
    finally:
        run.process.kill()
    assert run.process.returncode == 0, f"{block.name}:\n{out}\n{err}"


LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _slug(heading: str) -> str:
    """Return GitHub's anchor for a heading: lower case, punctuation dropped, dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # no headings in code
    return {_slug(m[1]) for m in re.finditer(r"^#+ (.*)$", text, flags=re.M)}


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(p.relative_to(ROOT)) for p in DOCUMENTS])
def test_relative_links_resolve(path: Path) -> None:
    """Every link to another file of the repository names a file, and a heading, that exist."""
    broken = []
    for match in LINK.finditer(path.read_text(encoding="utf-8")):
        target = match["target"]
        if re.match(r"[a-z]+:", target):
            continue
        name, _, anchor = target.partition("#")
        linked = (path.parent / name).resolve() if name else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_readme_error_tree_is_the_package_s() -> None:
    """The README's error tree names every public error, each under its real base class."""
    import videoapi_async
    import videoapi_async.webhooks

    tree = next(b.code for b in BLOCKS if b.language == "text" and b.code.startswith("VideoAPI"))
    drawn: dict[str, str | None] = {}
    parents: list[tuple[int, str]] = []  # (column, name) of the branch being drawn
    for line in tree.splitlines():
        found = re.search(r"[A-Z]\w+", line)
        assert found, f"not a line of the tree: {line!r}"
        column, name = found.start(), found[0]
        while parents and parents[-1][0] >= column:
            parents.pop()
        drawn[name] = parents[-1][1] if parents else None
        parents.append((column, name))
    public = {
        name: value
        for module in (videoapi_async, videoapi_async.webhooks)
        for name in module.__all__
        if isinstance(value := getattr(module, name), type)
        and issubclass(value, videoapi_async.VideoAPIError)
    }
    assert set(drawn) == set(public)
    for name, parent in drawn.items():
        if parent is not None:
            assert public[parent] in public[name].__bases__, f"{name} is not a {parent}"


SETTINGS_CLASSES = ("Timeouts", "RetryPolicy", "PollPolicy", "RateLimit")


def _table_under(text: str, heading_start: str) -> dict[str, str]:
    """Return ``{first column: second column}`` of the first table under a heading."""
    section = text.split(f"\n## {heading_start}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {cells[1].strip(" `"): cells[2].strip() for cells in (row.split("|") for row in rows)}


def _documented_default(text: str) -> object:
    """Read a default as the table writes it: ``10 s``, ``0.25 s``, `` `True` ``, ``"auto"``."""
    text = text.strip("`").removesuffix(" s").replace(",", "")
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    try:
        return float(text)
    except ValueError:
        return text.strip('"')


@pytest.mark.parametrize("name", SETTINGS_CLASSES)
def test_configuration_tables_match_the_settings(name: str) -> None:
    """docs/configuration.md lists every field of each settings class with its real default."""
    import videoapi_async

    settings = getattr(videoapi_async, name)
    table = _table_under((ROOT / "docs" / "configuration.md").read_text("utf-8"), f"`{name}`")
    fields = {field.name: field.default for field in attrs.fields(settings)}
    assert set(table) == set(fields), (
        f"docs/configuration.md's {name} table must list the fields of {name}: add a row for "
        f"{sorted(set(fields) - set(table))}, drop {sorted(set(table) - set(fields))}"
    )
    for field, default in fields.items():
        documented = _documented_default(table[field])
        assert documented == default, (
            f"docs/configuration.md says {name}.{field} defaults to {table[field]}; "
            f"it is {default!r}"
        )
