"""Contract tests against Prism, an independent mock server built from the OpenAPI document.

Two things are checked, hundreds of times, with request contents varied by a seeded
generator: every request the client builds satisfies the vendor's document (Prism
answers 422 and sets ``sl-violations`` when one does not, and that header must be
absent), and every answer Prism generates from the document's response schemas parses
into our models. The client runs as users run it: a real `VideoAPI` over real sockets.

The flat create form (`SourceDraftVideoRequest`, the keyword arguments of
`VideoAPI.create_video`) is the one place where the two public sources disagree: the
reference page documents it, the OpenAPI document does not (its request body is a
union tagged by ``type``). Prism, knowing only the document, refuses it; that test
pins the disagreement down rather than hiding it.

The calls around a render (delete, subtitles, voice previews, the usage summary) are
driven the same way, fewer times each.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import string
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import pytest

from videoapi_async import (
    APIStatusError,
    AuthenticationError,
    CreateScene,
    MediaElement,
    NewVideoRequest,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    RequestValidationError,
    TextElement,
    Video,
    VideoAPI,
    VideoMetadata,
    VideoStatus,
    VoicePreview,
    VoicePreviewStatus,
    WorkflowVariable,
    WorkflowVideoRequest,
)
from videoapi_async._protocol import parse_video
from videoapi_async._resources import SUBTITLE_LANGUAGES

from .conftest import API_KEY, Exchange, Recorder, open_client

pytestmark = pytest.mark.e2e

CALLS = 150  # per endpoint or create form
CONCURRENCY = 16
_T = TypeVar("_T")


# --- varied, documented request contents ----------------------------------------------

_POOLS = (
    string.ascii_letters + string.digits,
    string.ascii_letters + string.digits + " -_.",
    string.punctuation + " ",  # quotes, slashes, ?, #, %, &, <, >, backslash
    "éèßøñçÅΩжщ中文日本語한국어עבריתالعربية",
    "🎬🎥✨👩‍💻🇮🇱\u00a0\u200b\u202e",
)
_CONTROL = "\t\n\r"  # fine in JSON strings (escaped); never in ids, which the client refuses


class Gen:
    """Request contents within the document's limits, from a seeded generator."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)

    def maybe(self, make: Callable[[], _T], chance: float = 0.5) -> _T | None:
        return make() if self.rng.random() < chance else None

    def text(self, lo: int = 0, hi: int = 30, *, control: bool = True) -> str:
        size = self.rng.choice([lo, hi, self.rng.randint(lo, hi)])  # limits included
        pools = [*_POOLS, _CONTROL] if control else list(_POOLS)
        mix = "".join(self.rng.sample(pools, self.rng.randint(1, 3)))
        return "".join(self.rng.choice(mix) for _ in range(size))

    def ident(self) -> str:
        if self.rng.random() < 0.5:
            return f"{self.rng.getrandbits(64):016x}-{self.rng.randint(0, 999)}"
        return self.text(1, 40, control=False)

    def url(self) -> str:
        # The document gives media URLs ``format: uri``: percent-encode what is not allowed.
        name = quote(self.text(1, 20), safe="")
        return f"https://cdn.example.com/media/{name}.{self.rng.choice(['png', 'mp4', 'jpg'])}"

    def strings(self, make: Callable[[], str], hi: int = 4) -> list[str]:
        return [make() for _ in range(self.rng.randint(0, hi))]

    def metadata(self) -> dict[str, str | int | bool]:
        values: list[Callable[[], str | int | bool]] = [
            lambda: self.text(0, 40),
            lambda: self.rng.randint(-(2**31), 2**31),
            lambda: self.rng.random() < 0.5,
        ]
        return {self.text(0, 20): self.rng.choice(values)() for _ in range(self.rng.randint(0, 5))}

    def correlation_id(self) -> str:
        return self.text(0, 100)  # documented maxLength 100

    def transcript(self) -> str:
        return self.text(0, 1000)  # documented maxLength 1000

    def color(self) -> str:
        digits = "".join(
            self.rng.choice("0123456789abcdefABCDEF") for _ in range(self.rng.choice([6, 8]))
        )
        return self.rng.choice(["#", ""]) + digits

    def media_element(self) -> MediaElement:
        return MediaElement(
            url=self.maybe(self.url, 0.8),
            id=self.maybe(self.ident),
            media_id=self.maybe(self.ident),
        )

    def override(self) -> OverrideVideoRequest:
        scenes = [
            OverrideScene(
                name=self.text(1, 40),
                media=self.maybe(lambda: self.strings(self.url)),
                texts=self.maybe(lambda: self.strings(lambda: self.text(0, 60))),
                transcript=self.maybe(self.transcript),
                voice_recording_url=self.maybe(self.url),
            )
            for _ in range(self.rng.randint(0, 4))
        ]
        return OverrideVideoRequest(
            scenes=scenes,
            name=self.maybe(lambda: self.text(0, 60)),
            source_draft_id=self.maybe(self.ident),
            recipe_id=self.maybe(self.ident),
            folder_id=self.maybe(self.ident),
            palette_id=self.maybe(self.ident),
            character_id=self.maybe(self.ident),
            voice_id=self.maybe(self.ident),
            logo_url=self.maybe(self.url),
            metadata=self.maybe(self.metadata),
            correlation_id=self.maybe(self.correlation_id),
        )

    def new(self) -> NewVideoRequest:
        scenes = [
            CreateScene(
                name=self.text(1, 40),
                layout_id=self.ident(),
                media_elements=self.maybe(
                    lambda: [self.media_element() for _ in range(self.rng.randint(0, 3))]
                ),
                texts_elements=self.maybe(
                    lambda: [
                        TextElement(text=self.text(0, 60), id=self.maybe(self.ident))
                        for _ in range(self.rng.randint(0, 3))
                    ]
                ),
                transcript=self.maybe(self.transcript),
                voice_recording_url=self.maybe(self.url),
            )
            for _ in range(self.rng.randint(1, 4))  # documented minItems 1
        ]
        return NewVideoRequest(
            template_id=self.ident(),
            character_id=self.ident(),
            voice_id=self.ident(),
            scenes=scenes,
            name=self.maybe(lambda: self.text(0, 60)),
            folder_id=self.maybe(self.ident),
            palette_id=self.maybe(self.ident),
            palette=self.maybe(
                lambda: [PaletteColor(color=self.color()) for _ in range(self.rng.randint(0, 4))]
            ),
            global_media_elements=self.maybe(
                lambda: [self.media_element() for _ in range(self.rng.randint(0, 3))]
            ),
            metadata=self.maybe(self.metadata),
            correlation_id=self.maybe(self.correlation_id),
        )

    def workflow(self) -> WorkflowVideoRequest:
        variables = [
            WorkflowVariable(
                # The document allows an empty value; the client asks for a non-empty one.
                value=self.text(1, 60),
                name=self.maybe(lambda: self.text(1, 30)),
                variable_id=self.maybe(self.ident),
            )
            for _ in range(self.rng.randint(0, 4))
        ]
        return WorkflowVideoRequest(
            workflow_id=self.ident(),
            variables=variables,
            metadata=self.maybe(self.metadata),
            correlation_id=self.maybe(self.correlation_id),
        )

    def flat(self) -> dict[str, str]:
        fields = {
            "name": self.maybe(lambda: self.text(0, 60)),
            "source_draft_id": self.maybe(self.ident),
            "recipe_id": self.maybe(self.ident),
            "folder_id": self.maybe(self.ident),
            "palette_id": self.maybe(self.ident),
            "character_id": self.maybe(self.ident),
            "voice_id": self.maybe(self.ident),
        }
        if fields["source_draft_id"] is None and fields["recipe_id"] is None:
            fields["source_draft_id"] = self.ident()
        return {k: v for k, v in fields.items() if v is not None}

    def video_id(self) -> str:
        # "." and ".." are left out: WHATWG URL parsers (Prism's included) treat their
        # encodings %2E / %2E%2E as dot segments; tests/test_hostile.py covers them.
        while (video_id := self.ident()) in (".", ".."):
            pass
        return video_id


# --- driving and checking --------------------------------------------------------------


async def drive(count: int, call: Callable[[int], Awaitable[_T]], seed: str, what: str) -> list[_T]:
    """Run `call(0..count-1)` with bounded concurrency; a failure names the call and seed."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(number: int) -> _T:
        async with limit:
            try:
                return await call(number)
            except Exception as exc:
                headers = exc.headers if isinstance(exc, APIStatusError) else {}
                found = headers.get("sl-violations")
                why = f"; Prism's violations: {found}" if found else ""
                raise AssertionError(
                    f"{what} call {number} failed (replay with VIDEOAPI_PRISM_SEED={seed}): "
                    f"{type(exc).__name__}: {exc}{why}"
                ) from exc

    return await asyncio.gather(*(one(n) for n in range(count)))


def assert_accepted(
    recorder: Recorder, *, count: int, method: str, status: int, seed: str
) -> list[Exchange]:
    """Check Prism saw each call once, with the key, and found nothing to object to."""
    exchanges = recorder.exchanges
    assert len(exchanges) == count, f"{len(exchanges)} requests for {count} calls"
    for exchange in exchanges:
        where = f"{exchange.method} {exchange.raw_path} (VIDEOAPI_PRISM_SEED={seed})"
        assert exchange.violations == [], f"Prism found violations in {where}"
        assert "sl-violations" not in exchange.response_headers, where
        assert exchange.status == status, f"{where} answered {exchange.status}"
        assert exchange.method == method
        assert exchange.request_headers.get("api-key") == API_KEY
    return exchanges


def check_video(video: Any) -> None:
    assert isinstance(video, Video), video
    assert isinstance(video.status, VideoStatus)
    assert video.status.is_known  # Prism only generates documented statuses
    assert video.progress is None or 0 <= video.progress <= 100
    assert all(isinstance(scene, (OverrideScene, CreateScene)) for scene in video.scenes)


# --- the calls the document covers -----------------------------------------------------


async def test_list_videos(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Every array of Videos Prism generates for GET /videos parses, and no request violates."""
    api, recorder = prism
    results = await drive(CALLS, lambda _: api.list_videos(), run_seed, "list_videos")
    videos = [video for listed in results for video in listed]
    for video in videos:
        check_video(video)
    assert videos, "Prism generated only empty lists; nothing was parsed"
    assert_accepted(recorder, count=CALLS, method="GET", status=200, seed=run_seed)


async def test_get_video(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Varied ids reach GET /videos/{video_id} as one segment; every Video answer parses."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-get")
    video_ids = [gen.video_id() for _ in range(CALLS)]
    videos = await drive(CALLS, lambda n: api.get_video(video_ids[n]), run_seed, "get_video")
    for video in videos:
        check_video(video)
    exchanges = assert_accepted(recorder, count=CALLS, method="GET", status=200, seed=run_seed)
    sent = sorted(unquote(e.raw_path.split("/")[2]) for e in exchanges)
    assert all(len(e.raw_path.split("/")) == 3 for e in exchanges)
    assert sent == sorted(video_ids)


async def test_get_video_metadata(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """GET /videos/{video_id}/metadata is routed for varied ids and every answer parses."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-metadata")
    video_ids = [gen.video_id() for _ in range(CALLS)]
    results = await drive(
        CALLS, lambda n: api.get_video_metadata(video_ids[n]), run_seed, "get_video_metadata"
    )
    for metadata in results:
        assert isinstance(metadata, VideoMetadata), metadata
        assert all(isinstance(s.scene_index, int) for s in metadata.scenes_metadata)
    exchanges = assert_accepted(recorder, count=CALLS, method="GET", status=200, seed=run_seed)
    assert all(e.raw_path.endswith("/metadata") for e in exchanges)
    assert sorted(unquote(e.raw_path.split("/")[2]) for e in exchanges) == sorted(video_ids)


@pytest.mark.parametrize("form", ["override", "new", "workflow"])
async def test_create_video_tagged_forms(
    prism: tuple[VideoAPI, Recorder], run_seed: str, form: str
) -> None:
    """Override, new and workflow creates satisfy the document; each 201 answer parses."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-{form}")
    requests = [getattr(gen, form)() for _ in range(CALLS)]
    videos = await drive(
        CALLS, lambda n: api.create_video(requests[n]), run_seed, f"create_video ({form})"
    )
    for video in videos:
        check_video(video)
    assert_accepted(recorder, count=CALLS, method="POST", status=201, seed=run_seed)


async def test_create_video_flat_form_is_not_in_the_document(
    prism: tuple[VideoAPI, Recorder], run_seed: str
) -> None:
    """The flat form is refused by Prism for lacking `type`, and the client reports it as 422.

    The reference page documents this form ("Create Video From Source Draft": a flat
    body with no ``type``); the OpenAPI document does not: its request body is a
    ``oneOf`` of the override/create/workflow forms, each requiring ``type``. Prism,
    which knows only the document, answers 422 with ``sl-violations`` naming the missing
    ``type`` (and the tagged forms' other required fields); nothing else about the body
    is faulted. The client keeps the form because the reference page is the primary
    statement of the API; this test records where the document disagrees.
    """
    api, recorder = prism
    gen = Gen(f"{run_seed}-flat")
    forms = [gen.flat() for _ in range(100)]

    async def create(number: int) -> RequestValidationError:
        with pytest.raises(RequestValidationError) as info:
            await api.create_video(**forms[number])
        return info.value

    errors = await drive(len(forms), create, run_seed, "create_video (flat form)")
    for error in errors:
        assert error.status_code == 422
        assert error.method == "POST"
        assert error.path == "/videos"
        assert "sl-violations" in error.headers
    assert len(recorder.exchanges) == len(forms)  # a 422 is not retried
    for exchange in recorder.exchanges:
        violations = exchange.violations
        messages = [v.get("message", "") for v in violations]
        assert "Request body must have required property 'type'" in messages, messages
        # Only missing members and the failed oneOf: no field we sent is faulted.
        assert {v.get("code") for v in violations} <= {"required", "oneOf"}, violations
        assert all(v.get("location") == ["request", "body"] for v in violations), violations


async def test_a_request_without_the_key_is_refused(prism_url: str, run_seed: str) -> None:
    """Prism enforces the document's api-key header; its 401 becomes AuthenticationError."""
    recorder = Recorder(f"{run_seed}-nokey", send_key=False)
    api, session = await open_client(prism_url, recorder)
    try:
        async with api:
            for call in (api.list_videos, lambda: api.get_video("vid-1")):
                with pytest.raises(AuthenticationError) as info:
                    await call()
                assert info.value.status_code == 401
    finally:
        await session.close()
    assert [e.status for e in recorder.exchanges] == [401, 401]
    assert all("api-key" not in e.request_headers for e in recorder.exchanges)


async def test_answers_replay_from_the_run_seed(prism_url: str, run_seed: str) -> None:
    """Two clients with the same seed get the same answers: a failing run can be replayed."""
    seen: list[list[Any]] = []
    for _ in range(2):
        recorder = Recorder(f"{run_seed}-replay")
        api, session = await open_client(prism_url, recorder)
        try:
            async with api:
                seen.append([await api.get_video("vid-1") for _ in range(4)])
                seen[-1].append(await api.list_videos())
        finally:
            await session.close()
    assert seen[0] == seen[1]
    assert len({video.id for video in seen[0][:4]}) > 1  # yet each call gets its own answer


# --- the calls around a render ---------------------------------------------------------

AROUND = 50  # per call


def ready_video(video_id: str) -> Video:
    data = {"id": video_id, "status": "ready", "req_id": "r", "draft_id": "d"}
    return parse_video({**data, "video_player_url": "https://p"}, method="GET", path="/")


async def test_delete_video(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """DELETE /videos/{video_id} is routed for varied ids and its 204 is accepted."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-delete")
    video_ids = [gen.video_id() for _ in range(AROUND)]
    await drive(AROUND, lambda n: api.delete_video(video_ids[n]), run_seed, "delete_video")
    exchanges = assert_accepted(recorder, count=AROUND, method="DELETE", status=204, seed=run_seed)
    assert sorted(unquote(e.raw_path.split("/")[2]) for e in exchanges) == sorted(video_ids)


async def test_create_subtitles(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Subtitle requests in every language and format satisfy the document; answers parse."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-subtitles")
    languages = sorted(SUBTITLE_LANGUAGES)
    jobs = [
        (ready_video(gen.video_id()), gen.rng.choice(languages), gen.rng.choice(["vtt", "srt"]))
        for _ in range(AROUND)
    ]
    results = await drive(
        AROUND, lambda n: api.create_subtitles(*jobs[n]), run_seed, "create_subtitles"
    )
    assert all(r.url and r.language_code in SUBTITLE_LANGUAGES for r in results)
    assert_accepted(recorder, count=AROUND, method="POST", status=201, seed=run_seed)


async def test_voice_previews(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Voice preview creates and reads satisfy the document; both answers parse."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-voice")
    created = await drive(
        AROUND,
        lambda _: api.create_voice_preview("Say: " + gen.text(0, 200), "d-" + gen.ident()),
        run_seed,
        "create_voice_preview",
    )
    assert all(isinstance(p, VoicePreview) for p in created)
    assert_accepted(recorder, count=AROUND, method="POST", status=201, seed=run_seed)
    recorder.exchanges.clear()
    task_ids = [gen.video_id() for _ in range(AROUND)]
    read = await drive(
        AROUND, lambda n: api.get_voice_preview(task_ids[n]), run_seed, "get_voice_preview"
    )
    assert all(isinstance(p.status, VoicePreviewStatus) and p.status.is_known for p in read)
    assert_accepted(recorder, count=AROUND, method="GET", status=200, seed=run_seed)


async def test_usage_summary(prism: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Usage windows of every breakdown satisfy the document; every period parses."""
    api, recorder = prism
    gen = Gen(f"{run_seed}-usage")
    today = dt.date.today()

    async def one(_: int) -> list[Any]:
        start = today - dt.timedelta(days=gen.rng.randint(0, 400))
        end = start + dt.timedelta(days=gen.rng.randint(0, 60))
        return await api.get_usage_summary(
            gen.rng.choice(["daily", "weekly", "monthly"]),
            from_date=gen.maybe(lambda: start),
            to_date=gen.maybe(lambda: end),
            correlation_id=gen.maybe(lambda: gen.text(1, 40)),
        )

    results = await drive(AROUND, one, run_seed, "get_usage_summary")
    assert all(isinstance(p.videos_created, int) for periods in results for p in periods)
    assert_accepted(recorder, count=AROUND, method="GET", status=200, seed=run_seed)
