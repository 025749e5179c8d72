"""Downloading finished videos: atomic, resumable, and never with the API key.

A download streams into ``NAME.part`` in the target folder and is renamed to ``NAME``
only once complete (its size checked against ``Content-Length`` / ``Content-Range``). A
download cut short resumes from where it stopped with a ``Range`` request when the
server answers ``206``; otherwise it starts over. A ``.part`` file left by an
interrupted run is resumed the same way. Existing files are kept unless ``overwrite``.

The downloader has its own HTTP session without the API's headers: download URLs
usually point at a storage host, which must never see the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import attrs

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DownloadError", "Downloaded", "Downloader", "download_name"]

_CHUNK: Final = 64 * 1024
_VIDEO_SUFFIXES: Final = (".mp4", ".mov", ".webm", ".mkv", ".m4v")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_MAX_STEM: Final = 120
_CONTENT_RANGE: Final = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")

Progress = Callable[[int, int | None], None]


class DownloadError(Exception):
    """A download failed; the message names the host and path (never a query string)."""


@attrs.frozen(kw_only=True)
class Downloaded:
    """A finished download.

    Attributes:
        path: Where the file is.
        size: Its size in bytes.
        kept: True when the file was already there and left alone (no ``overwrite``).
        resumed: True when part of it came from an earlier, interrupted download.
    """

    path: Path
    size: int
    kept: bool = False
    resumed: bool = False


def download_name(video_id: str, url: str) -> str:
    """Return the file name for a video: its id, with the URL's video suffix.

    Different ids always get different names: an id that is not a safe file name as it
    stands (``a/b``, ``a b``, ``..``, very long) is shortened to its safe characters and
    followed by ``~`` and a hash of the whole id. ``~`` never appears in an id kept as it
    is, so a made-up name cannot equal a real id's.
    """
    suffix = Path(urlsplit(url).path).suffix.lower()
    if suffix not in _VIDEO_SUFFIXES:
        suffix = ".mp4"
    if _SAFE_ID.fullmatch(video_id) and len(video_id) <= _MAX_STEM:
        return f"{video_id}{suffix}"
    stem = _UNSAFE.sub("_", video_id).strip("._")[: _MAX_STEM - 40] or "video"
    digest = hashlib.sha256(video_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{stem}~{digest}{suffix}"


def _size(path: Path) -> int:
    """Return the size of a file, 0 if there is none."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class Downloader:
    """Downloads files into one folder. Use as ``async with Downloader(folder) as d:``.

    Args:
        folder: The folder to write to (created when needed).
        overwrite: Replace files that already exist.
        attempts: Tries per file; each later try resumes what the earlier ones got.
        connect_timeout: Seconds to connect.
        read_timeout: Longest pause in the data, in seconds.
        retry_wait: Seconds before the second try; doubled for each later one.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        overwrite: bool = False,
        attempts: int = 4,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retry_wait: float = 0.5,
    ) -> None:
        import aiohttp  # here, not at the top: --help needs no aiohttp

        self.folder = Path(folder)
        self.overwrite = overwrite
        self._attempts = max(1, attempts)
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout, sock_read=read_timeout)
        self._retry_wait = retry_wait
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Downloader:
        import aiohttp  # here, not at the top: --help needs no aiohttp

        # No default headers: nothing of the API's (its key above all) reaches this host.
        self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def download(
        self, url: str, name: str, *, on_progress: Progress | None = None
    ) -> Downloaded:
        """Download ``url`` to ``folder/name``; see the module docstring for the rules.

        Raises:
            DownloadError: The server refused, or the file stayed incomplete after every
                try (its ``.part`` is kept, so a later run resumes it).
        """
        import aiohttp  # here, not at the top: --help needs no aiohttp

        if self._session is None:
            raise RuntimeError("use the Downloader as 'async with Downloader(...) as d'")
        if Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"download name must be a plain file name, got {name!r}")
        target = self.folder / name
        if target.exists() and not self.overwrite:
            return Downloaded(path=target, size=target.stat().st_size, kept=True)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"cannot create the folder {self.folder}: {exc}") from None
        part = self.folder / (name + ".part")
        resumed = _size(part) > 0
        problem = "no attempt was made"
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._retry_wait * 2 ** (attempt - 1))
            try:
                complete = await self._fetch(url, part, on_progress)
            except aiohttp.TooManyRedirects:
                raise DownloadError(
                    f"{_where(url)} redirected too many times (a redirect loop)"
                ) from None
            except aiohttp.ClientResponseError as exc:
                if exc.status != 429 and exc.status < 500:
                    raise DownloadError(f"{_where(url)} answered HTTP {exc.status}") from None
                problem = f"HTTP {exc.status}"
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            except OSError as exc:
                raise DownloadError(f"cannot write {part}: {exc}") from None
            if complete is None:
                problem = "the server sent less than it announced"
                continue
            if target.exists() and not self.overwrite:  # appeared meanwhile: keep it
                part.unlink(missing_ok=True)
                return Downloaded(path=target, size=target.stat().st_size, kept=True)
            os.replace(part, target)
            return Downloaded(path=target, size=complete, resumed=resumed)
        kept = _size(part)
        raise DownloadError(
            f"downloading {_where(url)} failed after {self._attempts} tries ({problem})"
            + (f"; the {kept} bytes received are kept in {part} for the next try" if kept else "")
        )

    async def _fetch(self, url: str, part: Path, on_progress: Progress | None) -> int | None:
        """One try: append to (or restart) ``part``; return its size if complete, else None."""
        import aiohttp  # here, not at the top: --help needs no aiohttp

        assert self._session is not None
        offset = _size(part)
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        async with self._session.get(url, headers=headers) as response:
            if response.status == 416 and offset:
                _discard(part)  # the part is not a prefix of this file: start over
                return None
            total: int | None
            if response.status == 206 and offset:
                found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                if found is None or int(found.group(1)) != offset:
                    _discard(part)
                    return None
                total = None if found.group(3) == "*" else int(found.group(3))
                mode = "ab"
            elif response.status == 200:
                offset, total, mode = 0, response.content_length, "wb"
            else:
                response.raise_for_status()
                raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
            done = offset
            with part.open(mode) as file:
                async for chunk in response.content.iter_chunked(_CHUNK):
                    file.write(chunk)
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, total)
                file.flush()
                os.fsync(file.fileno())
        if total is not None and done != total:
            return None
        return done
