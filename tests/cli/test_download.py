"""Downloads: renamed into place only when complete, resumed with Range, never overwriting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from videoapi_async.cli._download import Downloader, DownloadError, download_name

pytestmark = pytest.mark.simulated_time

PAYLOAD = bytes(range(256)) * 400  # 100 KiB


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


class FileServer:
    """Serves PAYLOAD; can honour Range, and can cut its next answers short."""

    def __init__(self) -> None:
        self.ranges = True
        self.cut_next = 0
        self.requests: list[dict[str, str]] = []
        self.statuses: list[int] = []
        app = web.Application()
        app.router.add_get("/files/{name}", self._serve)
        self.server = TestServer(app, host="127.0.0.1")

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        start = 0
        status = 200
        header = request.headers.get("Range", "")
        if self.ranges and header.startswith("bytes="):
            start = int(header[len("bytes=") :].split("-")[0])
            if start >= len(PAYLOAD):
                self.statuses.append(416)
                return web.Response(status=416)
            status = 206
        body = PAYLOAD[start:]
        response = web.StreamResponse(status=status)
        response.content_length = len(body)
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"
        self.statuses.append(status)
        await response.prepare(request)
        if self.cut_next > 0:
            self.cut_next -= 1
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()  # the rest never comes
            return response
        await response.write(body)
        await response.write_eof()
        return response

    def url(self, name: str = "clip.mp4") -> str:
        return str(self.server.make_url(f"/files/{name}"))


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    server = FileServer()
    await server.server.start_server()
    try:
        yield server
    finally:
        await server.server.close()


async def test_a_complete_download_is_renamed_into_place(files: FileServer, tmp_path: Path) -> None:
    """The file appears under its name with every byte, and no temporary file is left."""
    async with Downloader(tmp_path) as downloader:
        result = await downloader.download(files.url(), "v1.mp4")
    assert result.path == tmp_path / "v1.mp4"
    assert (tmp_path / "v1.mp4").read_bytes() == PAYLOAD
    assert _names(tmp_path) == ["v1.mp4"]


async def test_a_cut_download_resumes_with_range(files: FileServer, tmp_path: Path) -> None:
    """After the connection drops mid-file, the next try asks only for the missing bytes."""
    files.cut_next = 1
    async with Downloader(tmp_path, retry_wait=0) as downloader:
        result = await downloader.download(files.url(), "v1.mp4")
    assert (tmp_path / "v1.mp4").read_bytes() == PAYLOAD
    assert files.statuses == [200, 206]
    assert files.requests[1]["Range"] == f"bytes={len(PAYLOAD) // 2}-"
    assert result.size == len(PAYLOAD)


async def test_a_download_cut_every_time_names_the_part_file_it_kept(
    files: FileServer, tmp_path: Path
) -> None:
    """When every try is cut short, the error names the partial file, which really exists."""
    files.cut_next = 5
    async with Downloader(tmp_path, retry_wait=0, attempts=2) as downloader:
        with pytest.raises(DownloadError, match="kept in") as caught:
            await downloader.download(files.url(), "v1.mp4")
    part = tmp_path / "v1.mp4.part"
    assert str(part) in str(caught.value)
    assert part.stat().st_size > 0
    assert not (tmp_path / "v1.mp4").exists()


async def test_a_server_without_range_support_restarts_cleanly(
    files: FileServer, tmp_path: Path
) -> None:
    """When the server answers 200 to a Range request, the file is written from the start."""
    files.ranges = False
    files.cut_next = 1
    async with Downloader(tmp_path, retry_wait=0) as downloader:
        await downloader.download(files.url(), "v1.mp4")
    assert (tmp_path / "v1.mp4").read_bytes() == PAYLOAD
    assert files.statuses == [200, 200]


async def test_a_part_left_by_an_earlier_run_is_resumed(files: FileServer, tmp_path: Path) -> None:
    """A .part file from an interrupted run is continued, not thrown away."""
    (tmp_path / "v1.mp4.part").write_bytes(PAYLOAD[:1000])
    async with Downloader(tmp_path) as downloader:
        result = await downloader.download(files.url(), "v1.mp4")
    assert result.resumed
    assert files.requests[0]["Range"] == "bytes=1000-"
    assert (tmp_path / "v1.mp4").read_bytes() == PAYLOAD
    assert not (tmp_path / "v1.mp4.part").exists()


async def test_a_download_that_stays_short_fails_and_keeps_its_part(
    files: FileServer, tmp_path: Path
) -> None:
    """If every try is cut short, nothing is renamed into place and the part stays for later."""
    files.cut_next = 10
    async with Downloader(tmp_path, attempts=2, retry_wait=0) as downloader:
        with pytest.raises(DownloadError, match="failed after 2 tries"):
            await downloader.download(files.url(), "v1.mp4")
    assert not (tmp_path / "v1.mp4").exists()
    assert 0 < (tmp_path / "v1.mp4.part").stat().st_size < len(PAYLOAD)


async def test_existing_files_are_kept_unless_overwrite(files: FileServer, tmp_path: Path) -> None:
    """A file already there is left alone (no request at all); overwrite replaces it."""
    (tmp_path / "v1.mp4").write_bytes(b"mine")
    async with Downloader(tmp_path) as downloader:
        kept = await downloader.download(files.url(), "v1.mp4")
    assert kept.kept
    assert (tmp_path / "v1.mp4").read_bytes() == b"mine"
    assert files.requests == []
    async with Downloader(tmp_path, overwrite=True) as downloader:
        replaced = await downloader.download(files.url(), "v1.mp4")
    assert not replaced.kept
    assert (tmp_path / "v1.mp4").read_bytes() == PAYLOAD


async def test_an_http_error_is_reported_without_the_query_string(
    files: FileServer, tmp_path: Path
) -> None:
    """A 404 fails at once, naming the host and path but not a signed URL's secret query."""
    url = str(files.server.make_url("/missing.mp4")) + "?X-Signature=s3cr3t"
    async with Downloader(tmp_path) as downloader:
        with pytest.raises(DownloadError, match="HTTP 404") as caught:
            await downloader.download(url, "v1.mp4")
    assert "s3cr3t" not in str(caught.value)


def test_file_names_come_from_the_video_id_made_safe() -> None:
    """Ids become safe names; the URL's video suffix is kept, anything else is .mp4."""
    assert download_name("abc-123", "https://cdn.test/x/abc.mov?sig=1") == "abc-123.mov"
    unsafe = download_name("../../etc/passwd", "https://cdn.test/file")
    assert unsafe.startswith("etc_passwd~")
    assert unsafe.endswith(".mp4")
    assert Path(unsafe).name == unsafe


def test_different_ids_never_share_a_file_name() -> None:
    """Ids that look alike once made safe (a/b, a_b, a b, a:b ...) get different names."""
    ids = ["a/b", "a_b", "a b", "a:b", "a\\b", "a__b", "A_B", "x" * 300, "x" * 301, "..", "."]
    names = [download_name(video_id, "https://cdn.test/v.mp4") for video_id in ids]
    assert len(set(names)) == len(ids), names
    assert all(Path(name).name == name and not name.startswith(".") for name in names)
    assert download_name("a_b", "https://cdn.test/v.mp4") == "a_b.mp4"  # safe ids stay as is


async def test_a_redirect_loop_is_reported_as_one(tmp_path: Path) -> None:
    """A download URL that redirects forever fails saying so, not as "HTTP 0"."""

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(request.url))

    app = web.Application()
    app.router.add_get("/loop.mp4", loop)
    async with (
        TestServer(app, host="127.0.0.1") as server,
        Downloader(tmp_path, retry_wait=0) as downloader,
    ):
        with pytest.raises(DownloadError, match="redirect loop") as caught:
            await downloader.download(str(server.make_url("/loop.mp4")), "v.mp4")
    assert "HTTP 0" not in str(caught.value)
    assert not (tmp_path / "v.mp4").exists()
