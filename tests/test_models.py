"""Pure tests of the models and the converter: tolerant reading, strict writing."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from videoapi_async import (
    CreateScene,
    MediaElement,
    NewVideoRequest,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    ResponseDecodeError,
    SourceDraftVideoRequest,
    Subtitles,
    TextElement,
    UsagePeriod,
    Video,
    VideoStatus,
    VoicePreview,
    VoicePreviewStatus,
    WebhookStatus,
    WorkflowVariable,
    WorkflowVideoRequest,
    contract,
    flat_create_fields,
    request_from_json,
    request_to_json,
    response_to_json,
)
from videoapi_async._converters import REQUEST_TYPE_TAGS, converter
from videoapi_async._models import OpenEnum
from videoapi_async._protocol import parse_metadata, parse_video, parse_videos
from videoapi_async._requests import build_create_body

from .conftest import VIDEO


def video(**changes: Any) -> Video:
    data = copy.deepcopy(VIDEO)
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_video(data, method="GET", path="/videos/vid-1")


class TestVideoStatus:
    @pytest.mark.parametrize(
        ("value", "terminal", "success", "failure"),
        [
            ("not_started", False, False, False),
            ("started", False, False, False),
            ("processing", False, False, False),
            ("ready", True, True, False),
            ("published", True, True, False),
            ("failed", True, False, True),
            ("stopped", True, False, True),
            ("cancelled", True, False, True),
        ],
    )
    def test_documented_statuses(
        self, value: str, terminal: bool, success: bool, failure: bool
    ) -> None:
        """Each documented status says whether it is terminal, a success or a failure."""
        status = VideoStatus(value)
        assert (status.is_terminal, status.is_success, status.is_failure) == (
            terminal,
            success,
            failure,
        )
        assert status.is_known

    def test_unknown_status_is_kept_and_not_terminal(self) -> None:
        """A status the API adds later survives parsing and never counts as finished."""
        status = VideoStatus("queued_for_gpu")
        assert status.value == "queued_for_gpu"
        assert status == "queued_for_gpu"
        assert str(status) == "queued_for_gpu"
        assert not status.is_known
        assert not status.is_terminal
        assert not status.is_success
        assert not status.is_failure
        assert status not in list(VideoStatus)

    @pytest.mark.parametrize("enum", [VideoStatus, VoicePreviewStatus, WebhookStatus])
    def test_is_known_means_a_declared_member(self, enum: type[OpenEnum]) -> None:
        """Every member is known; a new value is not, even one spelt like a member's name."""
        assert all(member.is_known for member in enum)
        for value in ("archived", next(iter(enum.__members__))):
            assert not enum(value).is_known

    def test_known_values_are_the_members(self) -> None:
        """Parsing a documented value gives the enum member itself."""
        assert VideoStatus("ready") is VideoStatus.READY
        assert str(VideoStatus.CANCELLED) == "cancelled"


class TestTolerantVideo:
    def test_full_response(self) -> None:
        """Every documented field is read into the model."""
        v = video(
            download_url="https://cdn.test/v.mp4",
            correlation_id="c-1",
            metadata={"team": "sales", "n": 3, "flag": True},
            palette=[{"color": "#112233"}],
            global_media_elements=[{"id": "g", "url": "https://m.test/x.png", "media_id": "m"}],
            template_id="t",
            recipe_id="r",
            palette_id="p",
            character_id="c",
            voice_id="v",
        )
        assert v.id == "vid-1"
        assert v.status is VideoStatus.PROCESSING
        assert v.progress == 40
        assert v.metadata == {"team": "sales", "n": 3, "flag": True}
        assert v.palette == (PaletteColor(color="#112233"),)
        assert v.global_media_elements[0].media_id == "m"
        assert (v.template_id, v.recipe_id, v.voice_id) == ("t", "r", "v")
        assert not v.is_terminal

    def test_unknown_fields_are_ignored(self) -> None:
        """Fields the API adds later do not break parsing."""
        v = video(new_field={"nested": [1, 2]}, another=None)
        assert v.id == "vid-1"

    def test_null_optionals_are_accepted(self) -> None:
        """Optional fields may be null."""
        v = video(
            name=None,
            download_url=None,
            scenes=None,
            metadata=None,
            palette=None,
            correlation_id=None,
        )
        assert v.name is None
        assert v.download_url is None
        assert v.scenes == ()
        assert v.metadata == {}

    def test_missing_optionals_take_defaults(self) -> None:
        """Left-out optional fields get their documented defaults (progress 0)."""
        v = video(progress=..., name=..., video_player_url=...)
        assert v.progress == 0
        assert v.name is None
        assert v.video_player_url == ""

    @pytest.mark.parametrize("raw", [-1, -5, None])
    def test_unknown_progress_is_none(self, raw: int | None) -> None:
        """A progress of -1 (undocumented "unknown"), negatives and null are never a percentage."""
        assert video(progress=raw).progress is None

    @pytest.mark.parametrize(("raw", "expected"), [(0, 0), (55, 55), (100, 100), (140, 100)])
    def test_progress_is_a_percentage(self, raw: int, expected: int) -> None:
        """Progress is 0..100; a value past 100 is capped rather than shown as 140 %."""
        assert video(progress=raw).progress == expected

    def test_null_player_url_reads_as_empty(self) -> None:
        """The player URL is a placeholder until ready; null is read as an empty string."""
        assert video(video_player_url=None).video_player_url == ""

    def test_unknown_status_in_response(self) -> None:
        """An unknown status string is kept on the Video and is not terminal."""
        v = video(status="rendering_v2")
        assert v.status.value == "rendering_v2"
        assert not v.is_terminal

    @pytest.mark.parametrize("status", ["ready", "rendering_v2"])  # fast path, cattrs path
    def test_both_scene_shapes(self, status: str) -> None:
        """Scenes are told apart by `type`, or by `layout_id` when `type` is absent."""
        v = video(
            status=status,
            scenes=[
                {"type": "override_scene", "name": "a", "media": ["u"], "texts": ["t"]},
                {"type": "create_scene", "name": "b", "layout_id": "L", "texts_elements": []},
                {"name": "c", "layout_id": "L2"},
                {"name": "d", "transcript": "hi"},
            ],
        )
        kinds = [type(s) for s in v.scenes]
        assert kinds == [OverrideScene, CreateScene, CreateScene, OverrideScene]
        assert v.scenes[0] == OverrideScene(name="a", media=("u",), texts=("t",))

    @pytest.mark.parametrize(
        ("changes", "needle"),
        [
            ({"id": ...}, "id"),
            ({"status": ...}, "status"),
            ({"id": 5}, "id"),
            ({"status": ["ready"]}, "status"),
            ({"progress": "half"}, "progress"),
            ({"name": {"x": 1}}, "name"),
            ({"scenes": "nope"}, "scenes"),
            ({"metadata": [1]}, "metadata"),
        ],
    )
    def test_wrong_shapes_raise_decode_error(self, changes: dict[str, Any], needle: str) -> None:
        """A response of the wrong shape raises ResponseDecodeError naming the field."""
        with pytest.raises(ResponseDecodeError) as info:
            video(**changes)
        assert needle in str(info.value)
        assert "GET /videos/vid-1" in str(info.value)

    def test_not_an_object(self) -> None:
        """A JSON array or string where a Video belongs is a decode error, not a crash."""
        for data in ([], "x", None, 3):
            with pytest.raises(ResponseDecodeError, match="expected a JSON object"):
                parse_video(data, method="GET", path="/videos/x")

    def test_list_of_videos(self) -> None:
        """The list endpoint's bare array becomes a list of Videos."""
        videos = parse_videos([VIDEO, {**VIDEO, "id": "vid-2"}], method="GET", path="/videos")
        assert [v.id for v in videos] == ["vid-1", "vid-2"]
        with pytest.raises(ResponseDecodeError, match="expected a JSON array"):
            parse_videos({"items": []}, method="GET", path="/videos")

    def test_metadata(self) -> None:
        """VideoMetadata reads durations as floats and the scene list in order."""
        meta = parse_metadata(
            {
                "duration": 12,
                "scenes_metadata": [
                    {"scene_index": 0, "start_time": 0, "duration": 5.5},
                    {"scene_index": 1, "start_time": 5.5, "duration": 6.5, "extra": 1},
                ],
            },
            method="GET",
            path="/videos/x/metadata",
        )
        assert meta.duration == 12.0
        assert [s.scene_index for s in meta.scenes_metadata] == [0, 1]
        assert meta.scenes_metadata[1].start_time == 5.5
        with pytest.raises(ResponseDecodeError, match="duration"):
            parse_metadata({"scenes_metadata": []}, method="GET", path="/videos/x/metadata")

    def test_models_are_frozen(self) -> None:
        """Models cannot be changed after creation."""
        v = video()
        with pytest.raises(AttributeError):
            v.status = VideoStatus.READY  # type: ignore[misc]


class TestRequests:
    def test_flat_form_sends_only_set_fields(self) -> None:
        """The reference page's form has no `type` and no nulls."""
        body = build_create_body(SourceDraftVideoRequest(source_draft_id="d", name="n"))
        assert body == {"source_draft_id": "d", "name": "n"}

    def test_flat_form_needs_a_source(self) -> None:
        """Without source_draft_id or recipe_id the request is refused before sending."""
        with pytest.raises(ValueError, match="source_draft_id= or recipe_id="):
            build_create_body(SourceDraftVideoRequest(name="n"))

    def test_override_form(self) -> None:
        """The override form is tagged and carries its scenes without null members."""
        body = build_create_body(
            OverrideVideoRequest(
                source_draft_id="d",
                scenes=[OverrideScene(name="intro", texts=["Hello"])],
                metadata={"k": 1},
                correlation_id="c",
            )
        )
        assert body == {
            "type": "override",
            "scenes": [{"name": "intro", "texts": ["Hello"]}],
            "source_draft_id": "d",
            "metadata": {"k": 1},
            "correlation_id": "c",
        }

    def test_create_form(self) -> None:
        """The create form is tagged `create` and nests elements without nulls."""
        body = build_create_body(
            NewVideoRequest(
                template_id="t",
                character_id="c",
                voice_id="v",
                scenes=[
                    CreateScene(
                        name="s",
                        layout_id="L",
                        media_elements=[MediaElement(url="https://m.test/a.png")],
                        texts_elements=[TextElement(text="hi", id="t1")],
                    )
                ],
                palette=[PaletteColor(color="#A1B2C3")],
            )
        )
        assert body == {
            "type": "create",
            "template_id": "t",
            "character_id": "c",
            "voice_id": "v",
            "scenes": [
                {
                    "name": "s",
                    "layout_id": "L",
                    "media_elements": [{"url": "https://m.test/a.png"}],
                    "texts_elements": [{"text": "hi", "id": "t1"}],
                }
            ],
            "palette": [{"color": "#A1B2C3"}],
        }

    def test_workflow_form(self) -> None:
        """The workflow form is tagged `workflow`."""
        body = build_create_body(
            WorkflowVideoRequest(
                workflow_id="w", variables=[WorkflowVariable(name="city", value="Paris")]
            )
        )
        assert body == {
            "type": "workflow",
            "workflow_id": "w",
            "variables": [{"value": "Paris", "name": "city"}],
        }

    @pytest.mark.parametrize(
        ("request_", "error", "needle"),
        [
            (
                OverrideVideoRequest(scenes=[OverrideScene(name="s")], correlation_id="x" * 101),
                ValueError,
                "correlation_id is 101 characters",
            ),
            (
                OverrideVideoRequest(scenes=[OverrideScene(name="s", transcript="w" * 1001)]),
                ValueError,
                "scenes[0].transcript is 1001 characters",
            ),
            (
                NewVideoRequest(template_id="t", character_id="c", voice_id="v", scenes=[]),
                ValueError,
                "at least one CreateScene",
            ),
            (
                NewVideoRequest(
                    template_id="t",
                    character_id="c",
                    voice_id="v",
                    scenes=[CreateScene(name="s", layout_id="L")],
                    palette=[PaletteColor(color="red")],
                ),
                ValueError,
                "palette[0].color",
            ),
            (
                NewVideoRequest(
                    template_id="",
                    character_id="c",
                    voice_id="v",
                    scenes=[CreateScene(name="s", layout_id="L")],
                ),
                ValueError,
                "template_id is required",
            ),
            (
                OverrideVideoRequest(scenes=[OverrideScene(name="s")], metadata={"k": [1]}),  # type: ignore[dict-item]
                TypeError,
                "metadata must map strings",
            ),
            (
                OverrideVideoRequest(scenes=[CreateScene(name="s", layout_id="L")]),  # type: ignore[list-item]
                TypeError,
                "scenes must be a list of OverrideScene",
            ),
            (
                WorkflowVideoRequest(workflow_id="w", variables=[WorkflowVariable(value=3)]),  # type: ignore[arg-type]
                ValueError,
                "variables[0].value is required",
            ),
            (
                SourceDraftVideoRequest(source_draft_id=7),  # type: ignore[arg-type]
                TypeError,
                "source_draft_id must be a string",
            ),
        ],
    )
    def test_requests_are_checked_strictly(
        self, request_: Any, error: type[Exception], needle: str
    ) -> None:
        """A request that breaks a documented rule fails before sending, naming the field."""
        with pytest.raises(error) as info:
            build_create_body(request_)
        assert needle in str(info.value)

    def test_not_a_request(self) -> None:
        """Passing something that is not a create form says which forms exist."""
        with pytest.raises(TypeError, match="SourceDraftVideoRequest, OverrideVideoRequest"):
            build_create_body({"source_draft_id": "x"})  # type: ignore[arg-type]


class TestExtraFields:
    def test_unknown_fields_are_kept_read_only(self) -> None:
        """A field the API adds later is readable in Video.extra, and cannot be changed."""
        v = video(new_field={"nested": [1, 2]}, another=None)
        assert dict(v.extra) == {"new_field": {"nested": [1, 2]}, "another": None}
        with pytest.raises(TypeError):
            v.extra["another"] = 1  # type: ignore[index]

    def test_known_fields_only_give_an_empty_extra(self) -> None:
        """A Video of known fields has an empty extra, and extra is not part of equality."""
        plain = video()
        assert plain.extra == {}
        assert plain == video(new_field=1)
        assert "extra={}" in repr(plain)

    def test_unusual_videos_keep_their_extra_too(self) -> None:
        """A video read by the converter's general path (a float progress) keeps extra too."""
        v = video(progress=40.0, status="queued", new_field="x")
        assert v.progress == 40
        assert v.status.value == "queued"
        assert dict(v.extra) == {"new_field": "x"}

    def test_other_responses_keep_unknown_fields(self) -> None:
        """Metadata, subtitles, voice previews and usage periods keep unknown fields."""
        meta = parse_metadata(
            {"duration": 1, "scenes_metadata": [], "fps": 25}, method="GET", path="/m"
        )
        assert dict(meta.extra) == {"fps": 25}
        subtitles = converter.structure(
            {"language_code": "en", "url": "u", "format": "srt", "expires": 9}, Subtitles
        )
        assert dict(subtitles.extra) == {"expires": 9}
        preview = converter.structure({"id": "p", "req_id": "r", "eta": 3}, VoicePreview)
        assert dict(preview.extra) == {"eta": 3}
        period = converter.structure(
            {"videos_created": 1, "total_duration": 2, "cost": 5}, UsagePeriod
        )
        assert dict(period.extra) == {"cost": 5}

    def test_extra_given_to_the_constructor_is_read_only(self) -> None:
        """Video(extra=...) copies the mapping into a read-only one."""
        given = {"a": 1}
        v = Video(id="v", status=VideoStatus.READY, req_id="r", draft_id="d", extra=given)
        given["a"] = 2
        assert v.extra == {"a": 1}


class TestContract:
    SCHEMAS = json.loads((Path(__file__).parent / "hourone-openapi.json").read_text())[
        "components"
    ]["schemas"]

    def test_enums_are_the_documents(self) -> None:
        """The contract module's enums are the OpenAPI document's, value for value."""
        schemas = self.SCHEMAS
        assert set(contract.VIDEO_STATUSES) == set(schemas["VideoStatusEnum"]["enum"])
        assert tuple(schemas["StatusTypes"]["enum"]) == contract.VOICE_PREVIEW_STATUSES
        assert (
            tuple(schemas["SupportedTranslationSubtitlesLanguagesCode"]["enum"])
            == contract.SUBTITLE_LANGUAGES
        )
        assert tuple(schemas["SubtitlesFileExtension"]["enum"]) == contract.SUBTITLE_FORMATS
        assert tuple(schemas["UsageBreakdown"]["enum"]) == contract.USAGE_BREAKDOWNS

    def test_tags_are_the_documents(self) -> None:
        """The create forms' and scenes' `type` values are the document's, in its order."""
        mapping = self.SCHEMAS["InitiatorVideoRequest"]["discriminator"]["mapping"]
        assert tuple(mapping) == contract.CREATE_FORM_TAGS
        scenes = [
            self.SCHEMAS[n]["properties"]["type"]["enum"] for n in ("VideoScene", "NewVideoScene")
        ]
        assert tuple(value for (value,) in scenes) == contract.SCENE_TYPES
        assert set(REQUEST_TYPE_TAGS.values()) == {None, *contract.CREATE_FORM_TAGS}

    def test_limits_are_the_documents(self) -> None:
        """The contract module's limits are the OpenAPI document's."""
        props = {name: schema.get("properties", {}) for name, schema in self.SCHEMAS.items()}
        assert props["VideoScene"]["transcript"]["maxLength"] == contract.MAX_TRANSCRIPT
        assert props["NewVideoRequest"]["correlation_id"]["maxLength"] == (
            contract.MAX_CORRELATION_ID
        )
        assert props["SceneMediaAttribute"]["url"]["maxLength"] == contract.MAX_URL
        assert props["RequestPalette"]["color"]["pattern"] == contract.PALETTE_COLOR_PATTERN

    def test_the_status_enums_follow_the_contract(self) -> None:
        """VideoStatus and VoicePreviewStatus have exactly the contract's members."""
        assert tuple(m.value for m in VideoStatus) == contract.VIDEO_STATUSES
        assert {m.value for m in VideoStatus if m.is_success} == contract.SUCCESS_STATUSES
        assert {m.value for m in VideoStatus if m.is_failure} == contract.FAILURE_STATUSES
        assert tuple(m.value for m in VoicePreviewStatus) == contract.VOICE_PREVIEW_STATUSES


OVERRIDE_JSON: dict[str, Any] = {
    "type": "override",
    "source_draft_id": "draft-1",
    "scenes": [{"type": "override_scene", "name": "intro", "media": ["https://m/a.png"]}],
    "metadata": {"row": 1, "ok": True},
    "correlation_id": "row-1",
}
NEW_JSON: dict[str, Any] = {
    "type": "create",
    "template_id": "t",
    "character_id": "c",
    "voice_id": "v",
    "scenes": [
        {
            "name": "s",
            "layout_id": "L",
            "media_elements": [{"url": "https://m/b.png"}],
            "texts_elements": [{"text": "Hi", "id": "title"}],
        }
    ],
    "palette": [{"color": "#112233"}],
}
WORKFLOW_JSON: dict[str, Any] = {
    "type": "workflow",
    "workflow_id": "w",
    "variables": [{"name": "city", "value": "Paris"}],
}
FLAT_JSON: dict[str, Any] = {"name": "n", "source_draft_id": "draft-1"}


class TestRequestJSON:
    @pytest.mark.parametrize(
        ("data", "form"),
        [
            (FLAT_JSON, SourceDraftVideoRequest),
            (OVERRIDE_JSON, OverrideVideoRequest),
            (NEW_JSON, NewVideoRequest),
            (WORKFLOW_JSON, WorkflowVideoRequest),
        ],
    )
    def test_each_form_reads_by_its_tag_and_writes_back(
        self, data: dict[str, Any], form: type[Any]
    ) -> None:
        """Each of the four forms is picked by its `type` and turns back into the same body."""
        request = request_from_json(copy.deepcopy(data))
        assert type(request) is form
        sent = request_to_json(request)
        assert sent.get("type") == data.get("type")
        assert request_from_json(sent) == request
        if form is not OverrideVideoRequest:  # the override scene's own `type` is implied
            assert sent == data

    @pytest.mark.parametrize(
        ("data", "needle"),
        [
            ({"source_draft_id": "d", "nmae": "typo"}, r"extra fields found \(nmae\)"),
            ({"type": "clone", "source_draft_id": "d"}, "type must be one of 'override'"),
            ({"type": "workflow", "workflow_id": "w"}, r"required field missing @ request\.var"),
            ({**OVERRIDE_JSON, "scenes": [{"media": []}]}, r"request\.scenes\[0\]\.name"),
            ({**FLAT_JSON, "name": 5}, r"request\.name"),
            ({**NEW_JSON, "scenes": [{"name": "s", "layout_id": "L", "type": "override_scene"}]},
             r"request\.scenes\[0\]"),
            ({"name": "only"}, "source_draft_id= or recipe_id="),
            ({**WORKFLOW_JSON, "correlation_id": "x" * 101}, "correlation_id is 101 characters"),
            ([FLAT_JSON], "must be a JSON object"),
        ],
    )  # fmt: skip
    def test_bad_bodies_are_refused_naming_the_field(self, data: Any, needle: str) -> None:
        """A body the API would not take is a ValueError that names the field and the fix."""
        with pytest.raises(ValueError, match=needle):
            request_from_json(data)

    def test_flat_create_fields_are_the_flat_forms(self) -> None:
        """flat_create_fields() lists SourceDraftVideoRequest's fields, in order."""
        assert flat_create_fields() == (
            "name",
            "source_draft_id",
            "recipe_id",
            "folder_id",
            "palette_id",
            "character_id",
            "voice_id",
        )


class TestResponseJSON:
    def test_a_video_becomes_the_apis_shape(self) -> None:
        """response_to_json gives every field, tagged scenes, enum values and unknown fields."""
        v = video(
            scenes=[{"name": "a", "layout_id": "L"}, {"name": "b"}],
            new_field={"x": [1]},
            progress=-1,
        )
        data = response_to_json(v)
        assert data["status"] == "processing"
        assert data["progress"] is None
        assert data["download_url"] is None
        assert [s["type"] for s in data["scenes"]] == ["create_scene", "override_scene"]
        assert data["new_field"] == {"x": [1]}
        assert "extra" not in data
        assert json.loads(json.dumps(data)) == data

    def test_only_response_models_are_accepted(self) -> None:
        """A request object is refused: its JSON is request_to_json's."""
        with pytest.raises(TypeError, match="response model"):
            response_to_json(SourceDraftVideoRequest(source_draft_id="d"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "copier",
    [copy.copy, copy.deepcopy, lambda obj: pickle.loads(pickle.dumps(obj))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_list_results_survive_copy_and_pickle(copier: Any) -> None:
    """A VideoList, its videos' extra and its skipped items' errors copy and pickle intact."""
    videos = parse_videos(
        [{**VIDEO, "new_field": [1]}, {**VIDEO, "id": "vid-2", "status": None}],
        method="GET",
        path="/videos",
    )
    copied = copier(videos)
    assert list(copied) == list(videos)
    assert copied[0].extra == {"new_field": [1]}
    (skipped,) = copied.skipped
    assert (skipped.index, skipped.id) == (1, "vid-2")
    assert isinstance(skipped.error, ResponseDecodeError)
    assert str(skipped.error) == str(videos.skipped[0].error)
    assert skipped.error.body_excerpt == videos.skipped[0].error.body_excerpt


# --- list items: nested parts checked with the list, built on first read ---------------

LISTED: dict[str, Any] = {
    **VIDEO,
    "status": "ready",
    "scenes": [
        {
            "type": "create_scene",
            "name": "intro",
            "layout_id": "L",
            "media_elements": [{"id": "logo", "url": "https://m/logo.png"}],
            "texts_elements": [{"id": "title", "text": "Hello"}],
            "transcript": "Hi.",
        },
        {"type": "override_scene", "name": "outro", "media": ["https://m/a.png"]},
    ],
    "palette": [{"color": "#112233"}],
    "global_media_elements": [{"url": "https://m/bg.png"}],
    "metadata": {"row": 1},
}
DEFERRED = ("scenes", "palette", "global_media_elements")


def listed(*items: dict[str, Any]) -> list[Video]:
    return list(parse_videos(copy.deepcopy(list(items)), method="GET", path="/videos"))


def raw_slot(video: Video, name: str) -> Any:
    """Return what a Video's slot holds, without building it."""
    return type(video).__dict__[name].slot.__get__(video, Video)


def test_listed_video_builds_each_nested_part_once_on_first_read() -> None:
    """A listed video keeps scenes, palette and media as JSON until read, then keeps the build."""
    (video,) = listed(LISTED)
    assert type(video) is Video
    assert [type(raw_slot(video, name)) for name in DEFERRED] == [list, list, list]
    scenes = video.scenes
    assert type(raw_slot(video, "scenes")) is tuple
    assert video.scenes is scenes
    assert [type(raw_slot(video, name)) for name in ("palette", "global_media_elements")] == [
        list,
        list,
    ]
    assert scenes == (
        CreateScene(
            name="intro",
            layout_id="L",
            media_elements=(MediaElement(id="logo", url="https://m/logo.png"),),
            texts_elements=(TextElement(id="title", text="Hello"),),
            transcript="Hi.",
        ),
        OverrideScene(name="outro", media=("https://m/a.png",)),
    )
    assert video.palette == (PaletteColor(color="#112233"),)
    assert video.global_media_elements == (MediaElement(url="https://m/bg.png"),)


def test_get_video_builds_nested_parts_at_once() -> None:
    """parse_video builds everything, so changing the decoded JSON later changes nothing."""
    data = copy.deepcopy(LISTED)
    video = parse_video(data, method="GET", path="/videos/vid-1")
    assert [type(raw_slot(video, name)) for name in DEFERRED] == [tuple, tuple, tuple]
    data["scenes"][0]["name"] = "changed"
    assert video.scenes[0].name == "intro"


@pytest.mark.parametrize(
    "use",
    [
        lambda v: v == parse_video(copy.deepcopy(LISTED), method="GET", path="/"),
        lambda v: hash(v) == hash(parse_video(copy.deepcopy(LISTED), method="GET", path="/")),
        lambda v: repr(v) == repr(parse_video(copy.deepcopy(LISTED), method="GET", path="/")),
        lambda v: pickle.loads(pickle.dumps(v)).scenes[0].name == "intro",
        lambda v: copy.copy(v).palette == (PaletteColor(color="#112233"),),
        lambda v: response_to_json(v)["scenes"][1]["type"] == "override_scene",
    ],
    ids=["eq", "hash", "repr", "pickle", "copy", "response_to_json"],
)
def test_unread_listed_video_behaves_as_a_built_one(use: Any) -> None:
    """Equality, hashing, repr, pickling, copies and JSON of an unread listed video are as eager."""
    (video,) = listed(LISTED)
    assert use(video)


def test_listed_video_stays_frozen() -> None:
    """A listed video refuses assignment to a deferred field, read or not."""
    (video,) = listed(LISTED)
    with pytest.raises(AttributeError):
        video.scenes = ()  # type: ignore[misc]
    assert video.scenes[0].name == "intro"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scenes": [{"layout_id": "L"}]}, "scenes.name"),
        ({"scenes": [{"name": "s", "layout_id": "L", "media_elements": [{"url": 5}]}]}, "url"),
        ({"scenes": [{"name": "s", "texts": ["ok", 7]}]}, "scenes.texts"),
        ({"palette": [{"color": None}]}, "palette.color"),
        ({"global_media_elements": [{"media_id": []}]}, "global_media_elements.media_id"),
        ({"scenes": {"name": "s"}}, "scenes"),
    ],
)
def test_malformed_nested_part_skips_the_item_when_listed(
    change: dict[str, Any], field: str
) -> None:
    """A malformed scene, colour or media leaves its item out at list time, naming the field."""
    videos = parse_videos(
        [LISTED, {**LISTED, "id": "vid-2", **change}], method="GET", path="/videos"
    )
    assert [v.id for v in videos] == ["vid-1"]
    (skipped,) = videos.skipped
    assert skipped.id == "vid-2"
    assert "vid-2" in str(skipped.error)
    assert field in str(skipped.error)
