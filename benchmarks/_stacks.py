"""The three ways of calling the API that the per-call benchmark compares.

* ``videoapi_async``: `VideoAPI.get_video` / `VideoAPI.list_videos` (attrs models via cattrs);
* ``aiohttp_raw``: an aiohttp session, ``json.loads``, plain dicts: the floor;
* ``httpx_pydantic``: ``httpx.AsyncClient`` and pydantic v2 models, what a user would
  otherwise write and the stack most generated SDKs use.

Each keeps its connections alive and sends the same ``api-key`` and ``Accept`` headers.
"""

from __future__ import annotations

import enum
import importlib
import json
from typing import Any, Protocol

import aiohttp
import httpx
import pydantic


class Stack(Protocol):
    """One way of reading a video and the video list."""

    name: str

    async def get(self, video_id: str) -> object:
        """Read one video."""
        ...

    async def list(self) -> object:
        """Read every video of the account, and each one's ``id`` and ``status``."""
        ...

    async def aclose(self) -> None:
        """Close the connections."""
        ...


# --- pydantic v2 models with the fields of the API's Video ----------------------------


class VideoStatusModel(str, enum.Enum):
    NOT_STARTED = "not_started"
    STARTED = "started"
    PROCESSING = "processing"
    READY = "ready"
    PUBLISHED = "published"
    FAILED = "failed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


class MediaElementModel(pydantic.BaseModel):
    url: str | None = None
    id: str | None = None
    media_id: str | None = None


class TextElementModel(pydantic.BaseModel):
    text: str
    id: str | None = None


class SceneModel(pydantic.BaseModel):
    name: str
    layout_id: str | None = None
    media: list[str] | None = None
    texts: list[str] | None = None
    media_elements: list[MediaElementModel] | None = None
    texts_elements: list[TextElementModel] | None = None
    transcript: str | None = None
    voice_recording_url: str | None = None


class PaletteColorModel(pydantic.BaseModel):
    color: str


class VideoModel(pydantic.BaseModel):
    """A video as the API returns it (frozen, unknown fields ignored)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    id: str
    status: VideoStatusModel
    req_id: str
    draft_id: str
    video_player_url: str | None = ""
    progress: int | None = 0
    name: str | None = None
    source_draft_id: str | None = None
    recipe_id: str | None = None
    template_id: str | None = None
    palette_id: str | None = None
    character_id: str | None = None
    voice_id: str | None = None
    download_url: str | None = None
    correlation_id: str | None = None
    scenes: list[SceneModel] | None = None
    metadata: dict[str, str | int | float | None] | None = None
    palette: list[PaletteColorModel] | None = None
    global_media_elements: list[MediaElementModel] | None = None


VideoListModel = pydantic.TypeAdapter(list[VideoModel])


# --- the stacks -----------------------------------------------------------------------


class ClientStack:
    """`VideoAPI` from ``module`` (``videoapi_async``, or a candidate build of it)."""

    def __init__(self, base_url: str, api_key: str, *, connections: int, module: str) -> None:
        package = importlib.import_module(module)
        self.name = module
        # The client's default settings: no request cap, its default connection pool
        # (larger than any concurrency measured here, so ``connections`` is not needed).
        self._api = package.VideoAPI(api_key=api_key, base_url=base_url)

    async def get(self, video_id: str) -> object:
        return await self._api.get_video(video_id)

    async def list(self) -> object:
        return [(video.id, video.status) for video in await self._api.list_videos()]

    async def aclose(self) -> None:
        await self._api.aclose()


class AiohttpStack:
    """aiohttp and ``json.loads`` into dicts, checking only the status."""

    name = "aiohttp_raw"

    def __init__(self, base_url: str, api_key: str, *, connections: int) -> None:
        self._base = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            headers={"api-key": api_key, "Accept": "application/json"},
        )

    async def _read(self, url: str) -> Any:
        async with self._session.get(url) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url} answered {response.status}")
        return json.loads(body)

    async def get(self, video_id: str) -> object:
        return await self._read(f"{self._base}/videos/{video_id}")

    async def list(self) -> object:
        return [
            (video["id"], video["status"]) for video in await self._read(f"{self._base}/videos")
        ]

    async def aclose(self) -> None:
        await self._session.close()


class HttpxStack:
    """``httpx.AsyncClient`` and pydantic v2 models (``model_validate_json``)."""

    name = "httpx_pydantic"

    def __init__(self, base_url: str, api_key: str, *, connections: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"api-key": api_key, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def get(self, video_id: str) -> object:
        response = await self._client.get(f"/videos/{video_id}")
        response.raise_for_status()
        return VideoModel.model_validate_json(response.content)

    async def list(self) -> object:
        response = await self._client.get("/videos")
        response.raise_for_status()
        return [
            (video.id, video.status) for video in VideoListModel.validate_json(response.content)
        ]

    async def aclose(self) -> None:
        await self._client.aclose()


def make_stacks(
    base_url: str, api_key: str, *, connections: int, candidates: tuple[str, ...] = ()
) -> list[Stack]:
    """Build every stack, in the order the benchmark interleaves them."""
    stacks: list[Stack] = [
        ClientStack(base_url, api_key, connections=connections, module="videoapi_async"),
        AiohttpStack(base_url, api_key, connections=connections),
        HttpxStack(base_url, api_key, connections=connections),
    ]
    for module in candidates:
        stacks.append(ClientStack(base_url, api_key, connections=connections, module=module))
    return stacks
