"""The console's form: fields derived from any event type's schema, the posted form read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.console.form import (
    CONSOLE_SET,
    Field,
    content_from_form,
    content_values,
    document_from_form,
    field_problems,
    form_fields,
    form_values,
)
from hub.errors import InvalidEventError, Problem
from hub.intake.schemas import SchemaCatalog
from hub.settings import REPO_ROOT

SCHEMAS = REPO_ROOT / "schemas"
CATALOG = SchemaCatalog(SCHEMAS)
VALID = sorted(SCHEMAS.glob("examples/*/valid/*.json"))
RESEARCH = SCHEMAS / "examples/research.released.v1/valid/climate-mobility-sahel-embargoed.json"
ENVELOPE_FIELDS = {
    "classification",
    *(
        f"audience.{name}"
        for name in ("departments", "regions", "countries", "offices", "groups", "people")
    ),
    *(f"tags.{name}" for name in ("themes", "regions", "countries", "offices")),
}
CONTENT = {
    "en": {"title": "Seats open", "summary": "A webinar.", "body": "Join us.\n"},
}
PUBLISHER = {"id": "a.diallo", "name": "Aminata Diallo"}


def by_name(fields: list[Field]) -> dict[str, Field]:
    return {field.name: field for field in fields}


def base_of(document: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """What the console sets itself: the envelope's identity, the publisher and the content."""
    return {**{key: document[key] for key in CONSOLE_SET if key != "content"}, "content": content}


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(
    ("event_type", "own"),
    [
        ("announcement.published", {"position": "select", "corrects": "text"}),
        (
            "research.released",
            {
                "research.authors": "list",
                "research.publication_url": "url",
                "research.doi": "text",
                "research.published_on": "date",
                "research.embargo_until": "datetime",
            },
        ),
        (
            "strategy.updated",
            {
                "strategy.department": "text",
                "strategy.effective_date": "date",
                "strategy.plan": "text",
            },
        ),
    ],
)
def test_fields_are_the_envelopes_and_the_types_own_but_never_what_the_console_sets(
    event_type: str, own: dict[str, str]
) -> None:
    fields = by_name(form_fields(CATALOG, event_type))
    assert set(fields) >= ENVELOPE_FIELDS
    assert {name: fields[name].kind for name in own} == own
    assert not {field.path[0] for field in fields.values()} & set(CONSOLE_SET)
    assert fields["classification"].kind == "select" and fields["classification"].required
    assert fields["tags.countries"].kind == "list"
    assert fields["tags.countries"].pattern == "^[A-Z]{2}$"
    assert fields["tags.countries"].group == "tags" and fields["classification"].group == ""
    for field in fields.values():
        assert field.name == ".".join(field.path)


def test_a_types_own_definition_wins_over_the_envelopes_in_the_envelopes_place() -> None:
    strategy = form_fields(CATALOG, "strategy.updated")
    announcement = form_fields(CATALOG, "announcement.published")
    assert by_name(strategy)["classification"].choices == ("staff", "restricted")
    assert by_name(announcement)["classification"].choices == (
        "public",
        "partners",
        "staff",
        "restricted",
    )
    assert strategy[0].name == announcement[0].name == "classification"
    assert by_name(announcement)["position"].choices == (
        "statement",
        "press-release",
        "position-paper",
    )


def test_required_flags_labels_and_descriptions_come_from_the_schema() -> None:
    fields = by_name(form_fields(CATALOG, "research.released"))
    assert fields["research.authors"].required and not fields["research.doi"].required
    assert fields["research.published_on"].required
    assert not fields["research.embargo_until"].required
    assert not fields["audience.groups"].required and not fields["tags.themes"].required
    assert fields["research.embargo_until"].label == "Embargo until"
    assert fields["research.publication_url"].label == "Publication url"
    # A description beside a $ref wins over the referred definition's.
    assert fields["research.embargo_until"].description.startswith("Until when")
    assert fields["research.doi"].pattern == r"^10\.\d{4,9}/\S+$"
    assert fields["tags.themes"].description.startswith("Theme slug")  # the items' description


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_valid_example_survives_the_form_and_back(path: Path) -> None:
    example = load(path)
    fields = form_fields(CATALOG, example["type"])
    languages = list(example["content"])
    form = {**form_values(fields, example), **content_values(example["content"], languages)}
    assert all(isinstance(value, str) for value in form.values())

    content = content_from_form(form, languages)
    rebuilt = document_from_form(fields, form, base_of(example, content))

    assert rebuilt == example
    assert CATALOG.validate(rebuilt) == example


def test_form_values_show_lists_datetimes_and_absent_values() -> None:
    fields = form_fields(CATALOG, "research.released")
    values = form_values(fields, load(RESEARCH))
    assert values["research.authors"] == "Ibrahim Maïga, Sofía Castillo Ortega"
    assert values["research.embargo_until"] == "2030-01-15T08:00:00Z"
    assert values["audience.groups"] == "" and values["corrects"] == ""
    assert set(values) == {field.name for field in fields}


def test_lists_are_split_stripped_and_deduplicated_in_order() -> None:
    fields = form_fields(CATALOG, "research.released")
    form = {
        "research.authors": " Ana ,Bo,, Ana ,\t",
        "tags.themes": "b-theme\n\n a-theme \nb-theme\r\n",
    }
    document = document_from_form(fields, form, {})
    assert document["research"]["authors"] == ["Ana", "Bo"]
    assert document["tags"]["themes"] == ["b-theme", "a-theme"]


def test_an_item_holding_a_comma_goes_one_per_line_and_comes_back_whole() -> None:
    fields = form_fields(CATALOG, "research.released")
    document = {"research": {"authors": ["Ndiaye, Fatou"]}}
    values = form_values(fields, document)
    assert values["research.authors"] == "Ndiaye, Fatou\n"
    rebuilt = document_from_form(fields, values, {})
    assert rebuilt["research"]["authors"] == ["Ndiaye, Fatou"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-12-01T09:30", "2026-12-01T09:30:00Z"),
        ("2026-12-01T09:30:15", "2026-12-01T09:30:15Z"),
        ("2026-12-01T09:30:15.250", "2026-12-01T09:30:15.250Z"),
        (" 2026-12-01T09:30:00+02:00 ", "2026-12-01T09:30:00+02:00"),
        ("next tuesday", "next tuesday"),
    ],
)
def test_a_datetime_without_an_offset_is_taken_as_utc(typed: str, stored: str) -> None:
    fields = form_fields(CATALOG, "research.released")
    document = document_from_form(fields, {"research.embargo_until": typed}, {})
    assert document["research"]["embargo_until"] == stored


def test_empty_fields_are_left_out_and_so_is_an_object_left_empty_unless_required() -> None:
    fields = form_fields(CATALOG, "announcement.published")
    base = {"id": "x", "content": {"en": {"title": "t"}}}
    document = document_from_form(fields, {"audience.groups": "  ", "position": ""}, base)
    # tags is required (with nothing required inside), audience is not.
    assert document == {**base, "tags": {}}
    assert document["content"] is not base["content"]  # base is copied, never changed


def test_content_is_read_by_language_with_links_one_per_line() -> None:
    form = {
        "content.en.title": "  Title ",
        "content.en.summary": "Summary",
        "content.en.body": "Line one\r\nLine two\r\n",
        "content.en.links": "Report (PDF) | https://x.example/r.pdf\n\n https://y.example \n",
        "content.fr.title": "",
        "content.fr.summary": "   ",
        "content.es.summary": "Solo resumen",
    }
    content = content_from_form(form, ["en", "fr", "es"])
    assert content == {
        "en": {
            "title": "Title",
            "summary": "Summary",
            "body": "Line one\nLine two\n",
            "links": [
                {"title": "Report (PDF)", "url": "https://x.example/r.pdf"},
                {"title": "https://y.example", "url": "https://y.example"},
            ],
        },
        "es": {"summary": "Solo resumen"},
    }
    again = content_values(content, ["en", "fr", "es"])
    assert again["content.fr.title"] == ""
    assert content_from_form(again, ["en", "fr", "es"]) == content


def test_an_invalid_form_names_its_problems_by_field() -> None:
    example = load(RESEARCH)
    fields = form_fields(CATALOG, "research.released")
    languages = ["en", "es", "fr"]
    form = {
        **form_values(fields, example),
        **content_values(example["content"], languages),
        "tags.countries": "BF, xx",
        "research.authors": " , ",
        "audience.regions": "sahel",
        "content.fr.summary": "Résumé sans titre",
        "content.fr.body": "Corps.",
        "research.doi": "not-a-doi",
    }
    document = document_from_form(
        fields, form, base_of(example, content_from_form(form, languages))
    )
    with pytest.raises(InvalidEventError) as refused:
        CATALOG.validate(document)

    placed, unplaced = field_problems(refused.value.problems, fields)

    assert set(placed) == {"tags.countries", "research.authors", "research.doi", "content.fr.title"}
    assert placed["research.authors"] == ["'authors' is a required property"]
    assert placed["content.fr.title"] == ["'title' is a required property"]
    assert "'xx' does not match" in placed["tags.countries"][0]
    assert unplaced == []


def test_problems_that_fit_no_field_keep_their_path() -> None:
    fields = form_fields(CATALOG, "strategy.updated")
    problems = [
        Problem("$", "'audience' is a required property"),
        Problem("$.publisher.email", "'x' is not a 'email'"),
        Problem("$.audience.countries[1]", "'xx' does not match '^[A-Z]{2}$'"),
        Problem("$.content['pt-BR'].links[0].url", "'ftp://x' does not match '^https?://'"),
        Problem("$.content", "{} should be non-empty"),
    ]
    placed, unplaced = field_problems(problems, fields)
    assert placed == {
        "audience.countries": ["'xx' does not match '^[A-Z]{2}$'"],
        "content.pt-BR.links": ["'ftp://x' does not match '^https?://'"],
    }
    assert unplaced == [
        "$: 'audience' is a required property",
        "$.publisher.email: 'x' is not a 'email'",
        "$.content: {} should be non-empty",
    ]


@pytest.mark.parametrize("event_type", CATALOG.event_types)
def test_any_text_in_any_field_never_raises(event_type: str) -> None:
    fields = form_fields(CATALOG, event_type)
    languages = ["en", "fr"]
    names = [field.name for field in fields] + [
        f"content.{language}.{part}"
        for language in languages
        for part in ("title", "summary", "body", "links")
    ]
    example = load(next(path for path in VALID if path.parent.parent.name.startswith(event_type)))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.fixed_dictionaries({name: st.text(max_size=40) for name in names}))
    def check(form: dict[str, str]) -> None:
        document = document_from_form(
            fields, form, base_of(example, content_from_form(form, languages))
        )
        assert {key: document[key] for key in CONSOLE_SET if key != "content"} == {
            key: example[key] for key in CONSOLE_SET if key != "content"
        }
        problems: list[Problem] = []
        try:
            CATALOG.validate(document)
        except InvalidEventError as refused:  # anything else fails the test
            problems = refused.problems
        placed, unplaced = field_problems(problems, fields)
        assert sum(map(len, placed.values())) + len(unplaced) == len(problems)
        assert set(placed) <= set(names)

    check()


def test_a_new_event_type_gets_its_form_with_no_code_change(tmp_path: Path) -> None:
    (tmp_path / "_defs").mkdir()
    shutil.copy(SCHEMAS / "_defs/envelope.v1.schema.json", tmp_path / "_defs")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schemas.hub.example/webinar.scheduled.v1.schema.json",
        "$ref": "_defs/envelope.v1.schema.json",
        "type": "object",
        "required": ["webinar"],
        "properties": {
            "type": {"const": "webinar.scheduled"},
            "webinar": {
                "type": "object",
                "required": ["starts_at", "seats", "format"],
                "additionalProperties": False,
                "properties": {
                    "starts_at": {"$ref": "_defs/envelope.v1.schema.json#/$defs/timestamp"},
                    "seats": {"type": "integer", "minimum": 1},
                    "fee": {"type": "number", "minimum": 0},
                    "recorded": {"type": "boolean", "description": "Whether it is recorded."},
                    "format": {"enum": ["online", "hybrid"]},
                    "abstract": {"type": "string", "maxLength": 2000},
                    "host": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "title": "Host's name"}},
                    },
                    "speakers": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
        "unevaluatedProperties": False,
    }
    (tmp_path / "webinar.scheduled.v1.schema.json").write_text(json.dumps(schema))
    catalog = SchemaCatalog(tmp_path)

    fields = by_name(form_fields(catalog, "webinar.scheduled"))

    own = {name: field.kind for name, field in fields.items() if field.group == "webinar"}
    assert own == {
        "webinar.starts_at": "datetime",
        "webinar.seats": "integer",
        "webinar.fee": "number",
        "webinar.recorded": "checkbox",
        "webinar.format": "select",
        "webinar.abstract": "textarea",
        "webinar.host.name": "text",  # nested deeper, still in the webinar fieldset
    }
    assert fields["webinar.format"].choices == ("online", "hybrid")
    assert fields["webinar.host.name"].label == "Host's name"
    assert fields["webinar.seats"].required and not fields["webinar.recorded"].required
    assert set(fields) >= ENVELOPE_FIELDS

    base = {
        "id": "0b8c5c9e-58d4-4f2c-9d0b-6c3f2a1e9d11",
        "type": "webinar.scheduled",
        "schema_version": 1,
        "occurred_at": "2026-11-02T10:00:00Z",
        "publisher": PUBLISHER,
        "content": CONTENT,
    }
    form = {
        "classification": "public",
        "webinar.starts_at": "2026-12-01T09:30",
        "webinar.seats": "120",
        "webinar.fee": "12.5",
        "webinar.recorded": "on",
        "webinar.format": "hybrid",
    }
    document = catalog.validate(document_from_form(list(fields.values()), form, base))
    assert document["webinar"] == {
        "starts_at": "2026-12-01T09:30:00Z",
        "seats": 120,
        "fee": 12.5,
        "recorded": True,
        "format": "hybrid",
    }
    assert document["tags"] == {}
    assert form_values(list(fields.values()), document)["webinar.recorded"] == "on"

    # What does not parse is kept as typed, so validation names the field.
    bad = document_from_form(list(fields.values()), {**form, "webinar.seats": "12.5"}, base)
    with pytest.raises(InvalidEventError) as refused:
        catalog.validate(bad)
    placed, _ = field_problems(refused.value.problems, list(fields.values()))
    assert list(placed) == ["webinar.seats"]


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("integer", "42", 42),
        ("integer", "-7", -7),
        ("integer", "4.5", "4.5"),
        ("integer", "9" * 5000, "9" * 5000),
        ("number", "4.5", 4.5),
        ("number", "3", 3),
        ("number", "1e999", "1e999"),
        ("number", "٣", "٣"),
        ("number", "lots", "lots"),
        ("checkbox", "on", True),
        ("checkbox", "TRUE", True),
        ("checkbox", "1", True),
        ("checkbox", "off", False),
        ("checkbox", "maybe", "maybe"),
    ],
)
def test_numbers_and_checkboxes_are_parsed_or_kept_as_typed(
    kind: str, typed: str, stored: object
) -> None:
    field = Field("x", ("x",), "X", "", kind, required=False)
    assert document_from_form([field], {"x": typed}, {}) == {"x": stored}


def test_an_unticked_box_is_false_when_required_and_absent_otherwise() -> None:
    optional = Field("a", ("a",), "A", "", "checkbox", required=False)
    required = Field("b", ("b",), "B", "", "checkbox", required=True)
    assert document_from_form([optional, required], {}, {}) == {"b": False}
