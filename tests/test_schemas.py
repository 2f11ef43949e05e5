"""The schemas are the contract: examples validate or fail where expected; bad input is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.errors import InvalidEventError
from hub.intake.publishing import accept
from hub.intake.schemas import SchemaCatalog, parse_document
from hub.model.events import Event
from hub.settings import REPO_ROOT
from tests.helpers import invalid_examples, load_example, valid_examples

CATALOG = SchemaCatalog(REPO_ROOT / "schemas")


def test_catalog_knows_the_three_event_types() -> None:
    assert CATALOG.event_types == [
        "announcement.published",
        "research.released",
        "strategy.updated",
    ]


@pytest.mark.parametrize("path", valid_examples(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_valid_example_validates_and_builds_an_event(path: Path) -> None:
    document = CATALOG.validate(json.loads(path.read_text()))
    built = Event.from_document(document)
    assert built.content and built.id == document["id"]


@pytest.mark.parametrize(
    ("path", "expected_paths"), invalid_examples(), ids=lambda v: getattr(v, "name", "")
)
def test_every_invalid_example_fails_at_the_expected_path(
    path: Path, expected_paths: list[str]
) -> None:
    document = json.loads(path.read_text())
    with pytest.raises(InvalidEventError) as refused:
        CATALOG.validate(document)
    assert sorted({p.path for p in refused.value.problems}) == expected_paths


def test_every_violation_is_reported_not_only_the_first() -> None:
    document = load_example()
    document["classification"] = "secret"
    document["content"]["en"]["title"] = ""
    document["tags"]["countries"] = ["senegal"]
    with pytest.raises(InvalidEventError) as refused:
        CATALOG.validate(document)
    assert {p.path for p in refused.value.problems} == {
        "$.classification",
        "$.content.en.title",
        "$.tags.countries[0]",
    }


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(InvalidEventError) as refused:
        CATALOG.validate(load_example(type="gossip.spread"))
    (problem,) = refused.value.problems
    assert problem.path == "$.type"
    assert "announcement.published" in problem.message


def test_malformed_json_reports_line_and_column() -> None:
    with pytest.raises(InvalidEventError) as refused:
        parse_document(b'{\n  "id": "x",\n  oops\n}', max_bytes=1000)
    assert refused.value.status == 400
    assert "line 3 column 3" in refused.value.problems[0].message


def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidEventError) as refused:
        parse_document(b"{" + b" " * 2000 + b"}", max_bytes=1024)
    assert refused.value.status == 413


def test_non_object_json_is_refused() -> None:
    with pytest.raises(InvalidEventError) as refused:
        CATALOG.validate(["not", "an", "event"])
    assert refused.value.problems[0].path == "$"


def test_yaml_is_accepted_by_the_cli_path_and_keeps_times_as_text() -> None:
    import yaml

    document = load_example()
    raw = yaml.safe_dump(document, allow_unicode=True).encode()
    accepted = accept(raw, CATALOG, topic_prefix="hub", max_bytes=256 * 1024, allow_yaml=True)
    assert accepted.document == document
    assert accepted.topic == "hub.events.announcement.published.v1"
    assert accepted.key == document["id"].encode()


def test_yaml_is_refused_where_only_json_is_allowed() -> None:
    with pytest.raises(InvalidEventError) as refused:
        accept(b"id: x\ntype: y\n", CATALOG, topic_prefix="hub", max_bytes=1024)
    assert refused.value.status == 400


def test_schema_ids_end_in_their_file_names() -> None:
    for path in (REPO_ROOT / "schemas").rglob("*.schema.json"):
        assert json.loads(path.read_text())["$id"].endswith("/" + path.name)
