"""Pure tests of create-body validation: each form, good and bad, FastAPI-style errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from videoapi_async.sandbox._validation import BodyError, decode_json_body, validate_create_body

from .conftest import CREATE_BODY, FLAT_BODY, OVERRIDE_BODY, WORKFLOW_BODY


def _errors(body: object) -> list[dict[str, Any]]:
    with pytest.raises(BodyError) as caught:
        validate_create_body(body)
    assert caught.value.status == 422
    detail: list[dict[str, Any]] = caught.value.detail
    return detail


def _locs(body: object) -> list[tuple[object, ...]]:
    return [tuple(item["loc"]) for item in _errors(body)]


@pytest.mark.parametrize(
    ("body", "form"),
    [
        (FLAT_BODY, "source_draft"),
        ({"recipe_id": "r-1"}, "source_draft"),
        (OVERRIDE_BODY, "override"),
        ({"type": "override", "scenes": []}, "override"),
        (CREATE_BODY, "create"),
        (WORKFLOW_BODY, "workflow"),
    ],
)
def test_valid_bodies_of_every_form(body: dict[str, Any], form: str) -> None:
    """Each documented create form is accepted and recognised."""
    assert validate_create_body(body).form == form


def test_flat_form_echoes_its_fields_and_drops_unknown_ones() -> None:
    """The flat form keeps the Video fields; folder_id and unknown fields are not echoed."""
    body = {**FLAT_BODY, "folder_id": "f", "voice_id": "v", "surprise": [1, 2]}
    fields = validate_create_body(body).fields
    assert fields == {"name": "Q3 update", "source_draft_id": "draft-src-1", "voice_id": "v"}


def test_flat_form_needs_a_source() -> None:
    """Without source_draft_id or recipe_id the flat form fails at __root__."""
    errors = _errors({"name": "x"})
    assert errors == [
        {
            "loc": ["body", "__root__"],
            "msg": "either source_draft_id or recipe_id is required",
            "type": "value_error",
        }
    ]


def test_null_optional_field_means_not_given() -> None:
    """Null for an optional field is accepted and not echoed, as in pydantic v1."""
    fields = validate_create_body({"source_draft_id": "d", "name": None}).fields
    assert "name" not in fields


def test_numbers_for_strings_become_strings() -> None:
    """A number given for a string field is coerced to a string, as pydantic v1 does."""
    assert validate_create_body({"source_draft_id": 42}).fields["source_draft_id"] == "42"


def test_wrong_types_are_reported_per_field() -> None:
    """A list for a string field gives type_error.str at that field."""
    errors = _errors({"source_draft_id": "d", "name": ["x"], "voice_id": {"a": 1}})
    assert [(item["loc"], item["type"]) for item in errors] == [
        (["body", "name"], "type_error.str"),
        (["body", "voice_id"], "type_error.str"),
    ]


def test_tagged_form_errors_are_located_under_the_model_name() -> None:
    """Missing required fields of 'create' are located at body.NewVideoRequest.<field>."""
    errors = _errors({"type": "create"})
    assert [(item["loc"], item["msg"]) for item in errors] == [
        (["body", "NewVideoRequest", "template_id"], "field required"),
        (["body", "NewVideoRequest", "character_id"], "field required"),
        (["body", "NewVideoRequest", "voice_id"], "field required"),
        (["body", "NewVideoRequest", "scenes"], "field required"),
    ]


def test_create_needs_at_least_one_scene() -> None:
    """An empty scenes list of 'create' fails min_items with ctx.limit_value 1."""
    body = {**CREATE_BODY, "scenes": []}
    assert _errors(body) == [
        {
            "loc": ["body", "NewVideoRequest", "scenes"],
            "msg": "ensure this value has at least 1 items",
            "type": "value_error.list.min_items",
            "ctx": {"limit_value": 1},
        }
    ]


@pytest.mark.parametrize("form", [OVERRIDE_BODY, CREATE_BODY, WORKFLOW_BODY])
def test_correlation_id_is_at_most_100_characters(form: dict[str, Any]) -> None:
    """correlation_id of 101 characters fails max_length; 100 passes."""
    assert validate_create_body({**form, "correlation_id": "x" * 100})
    errors = _errors({**form, "correlation_id": "x" * 101})
    assert errors[0]["loc"][-1] == "correlation_id"
    assert errors[0]["type"] == "value_error.any_str.max_length"
    assert errors[0]["ctx"] == {"limit_value": 100}


def test_transcript_is_at_most_1000_characters() -> None:
    """A scene transcript of 1001 characters fails at its scene index."""
    body = copy.deepcopy(OVERRIDE_BODY)
    body["scenes"][1]["transcript"] = "a" * 1001
    assert _locs(body) == [("body", "OverrideVideoRequest", "scenes", 1, "transcript")]


@pytest.mark.parametrize("color", ["#FFF", "red", "#GGGGGG", "#1234567"])
def test_palette_color_must_match_the_pattern(color: str) -> None:
    """A palette color that is not #RRGGBB[AA] fails value_error.str.regex."""
    body = {**CREATE_BODY, "palette": [{"color": color}]}
    errors = _errors(body)
    assert errors[0]["loc"] == ["body", "NewVideoRequest", "palette", 0, "color"]
    assert errors[0]["type"] == "value_error.str.regex"


def test_media_urls_must_be_http() -> None:
    """Media element URLs must be http(s) URLs with a host."""
    body = copy.deepcopy(CREATE_BODY)
    body["global_media_elements"] = [{"url": "ftp://x/y"}, {"url": "no-scheme"}, {"url": ""}]
    assert [item["type"] for item in _errors(body)] == [
        "value_error.url.scheme",
        "value_error.url.scheme",
        "value_error.any_str.min_length",
    ]


def test_scene_of_the_wrong_shape_is_refused() -> None:
    """A create scene without layout_id and with an override type fails both fields."""
    body = copy.deepcopy(CREATE_BODY)
    body["scenes"] = [{"name": "x", "type": "override_scene"}]
    errors = _errors(body)
    assert [item["loc"][-1] for item in errors] == ["type", "layout_id"]
    assert errors[0]["type"] == "value_error.const"


def test_workflow_variables_need_a_value() -> None:
    """Each workflow variable needs value; variables itself is required."""
    assert _locs({"type": "workflow", "workflow_id": "w", "variables": [{"name": "n"}]}) == [
        ("body", "WorkflowVideoRequest", "variables", 0, "value")
    ]
    assert _locs({"type": "workflow", "workflow_id": "w"}) == [
        ("body", "WorkflowVideoRequest", "variables")
    ]


def test_metadata_values_must_be_str_int_or_bool() -> None:
    """A list metadata value fails every member of str | int | bool; null is refused."""
    body = {**WORKFLOW_BODY, "metadata": {"ok": 1, "bad": [1], "none": None}}
    errors = _errors(body)
    assert [(item["loc"][-1], item["type"]) for item in errors] == [
        ("bad", "type_error.str"),
        ("bad", "type_error.integer"),
        ("bad", "type_error.bool"),
        ("none", "type_error.none.not_allowed"),
    ]


def test_unknown_type_is_an_invalid_discriminator() -> None:
    """An unknown type value gives the pydantic v1 invalid-discriminator error."""
    assert _errors({"type": "clone"}) == [
        {
            "loc": ["body"],
            "msg": "No match for discriminator 'type' and value 'clone' "
            "(allowed values: 'override', 'create', 'workflow')",
            "type": "value_error.discriminated_union.invalid_discriminator",
            "ctx": {
                "discriminator_key": "type",
                "discriminator_value": "clone",
                "allowed_values": "'override', 'create', 'workflow'",
            },
        }
    ]


@pytest.mark.parametrize("body", [[FLAT_BODY], "text", 5, None, b"raw"])
def test_a_body_that_is_not_an_object_is_refused(body: object) -> None:
    """Arrays, strings, numbers and null are not a valid dict."""
    assert _errors(body) == [
        {"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}
    ]


def test_invalid_json_is_located_at_its_offset() -> None:
    """Invalid JSON gives value_error.jsondecode at ["body", position] with ctx."""
    with pytest.raises(BodyError) as caught:
        decode_json_body(b'{"name": }', "application/json")
    (item,) = caught.value.detail
    assert item["loc"] == ["body", 9]
    assert item["type"] == "value_error.jsondecode"
    assert item["msg"] == "Expecting value: line 1 column 10 (char 9)"
    assert item["ctx"]["pos"] == 9


def test_empty_body_is_missing() -> None:
    """An empty body is 'field required' at ["body"]."""
    with pytest.raises(BodyError) as caught:
        decode_json_body(b"", "application/json")
    assert caught.value.detail[0]["type"] == "value_error.missing"


def test_non_utf8_body_is_a_400() -> None:
    """Bytes that are not UTF-8 give FastAPI's 400 'error parsing the body'."""
    with pytest.raises(BodyError) as caught:
        decode_json_body(b"\xff\xfe", "application/json")
    assert (caught.value.status, caught.value.detail) == (
        400,
        "There was an error parsing the body",
    )


@pytest.mark.parametrize(
    ("content_type", "parsed"),
    [
        (None, True),
        ("application/json; charset=utf-8", True),
        ("application/vnd+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
    ],
)
def test_only_json_content_types_are_parsed(content_type: str | None, parsed: bool) -> None:
    """JSON (or no) Content-Type is parsed; other types are left as bytes, like FastAPI."""
    result = decode_json_body(b'{"a": 1}', content_type)
    assert (result == {"a": 1}) is parsed
