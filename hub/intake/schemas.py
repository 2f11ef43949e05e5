"""Loads schemas/ once and validates raw input, naming every problem by its JSON path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from hub.errors import ConfigurationError, InvalidEventError, Problem
from hub.intake.json_depth import too_deep

SCHEMA_SUFFIX = ".schema.json"


@dataclass(frozen=True, slots=True)
class EventSchema:
    """One event type at one major version."""

    event_type: str
    version: int
    validator: Draft202012Validator


class SchemaCatalog:
    """Every event schema found in a directory, ready to validate."""

    def __init__(self, schemas_dir: Path) -> None:
        self._by_type: dict[str, EventSchema] = {}
        documents = _load_documents(schemas_dir)
        registry: Registry[Any] = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
        )
        for path, doc in documents.items():
            if path.parent != schemas_dir:
                continue  # shared pieces under _defs/ are referenced, not published
            event_type, version = _parse_schema_name(path)
            Draft202012Validator.check_schema(doc)
            validator = Draft202012Validator(
                doc, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self._by_type[event_type] = EventSchema(event_type, version, validator)
        if not self._by_type:
            raise ConfigurationError(f"no event schemas found in {schemas_dir}")

    @property
    def event_types(self) -> list[str]:
        return sorted(self._by_type)

    def schema_for(self, event_type: str) -> EventSchema:
        return self._by_type[event_type]

    def validate(self, document: object) -> dict[str, Any]:
        """Return the event if it is valid; raise InvalidEventError listing every violation."""
        if not isinstance(document, dict):
            raise InvalidEventError([Problem("$", "an event must be a JSON object")])
        event_type = document.get("type")
        if not isinstance(event_type, str) or event_type not in self._by_type:
            known = ", ".join(self.event_types)
            raise InvalidEventError(
                [Problem("$.type", f"unknown event type {event_type!r}; expected one of: {known}")]
            )
        validator = self._by_type[event_type].validator
        problems = sorted(
            {Problem(error.json_path, error.message) for error in validator.iter_errors(document)},
            key=lambda p: (p.path, p.message),
        )
        if problems:
            raise InvalidEventError(problems)
        return document


def parse_document(
    raw: bytes, *, max_bytes: int, allow_yaml: bool = False, max_depth: int = 32
) -> object:
    """Decode JSON (or YAML) text within size and depth limits, reporting where parsing failed."""
    if len(raw) > max_bytes:
        raise InvalidEventError(
            [Problem("$", f"event is {len(raw)} bytes; the limit is {max_bytes} bytes")],
            status=413,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEventError(
            [Problem("$", f"not UTF-8 text (byte {exc.start})")], status=400
        ) from exc
    deep = too_deep(text, max_depth)
    if deep is not None:
        raise InvalidEventError(
            [Problem(deep, f"nested deeper than {max_depth} levels; the limit is {max_depth}")],
            status=400,
        )
    try:
        return json.loads(text)
    except RecursionError as exc:  # deep in a way the scan did not count: refuse, never crash
        raise InvalidEventError([Problem("$", "nested too deep")], status=400) from exc
    except json.JSONDecodeError as exc:
        if not allow_yaml:
            where = f"line {exc.lineno} column {exc.colno}"
            raise InvalidEventError(
                [Problem("$", f"malformed JSON at {where}: {exc.msg}")], status=400
            ) from exc
    try:
        return yaml.load(text, Loader=_JsonCompatibleLoader)  # noqa: S506 (a SafeLoader)
    except RecursionError as exc:
        raise InvalidEventError([Problem("$", "nested too deep")], status=400) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InvalidEventError(
            [Problem("$", f"neither JSON nor YAML{where}: {exc}")], status=400
        ) from exc


class _JsonCompatibleLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, so YAML means what the same JSON would."""


_JsonCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_documents(schemas_dir: Path) -> Mapping[Path, dict[str, Any]]:
    documents: dict[Path, dict[str, Any]] = {}
    for path in sorted(schemas_dir.rglob(f"*{SCHEMA_SUFFIX}")):
        if "examples" in path.relative_to(schemas_dir).parts:
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        schema_id = doc.get("$id", "")
        if not schema_id.endswith("/" + path.name):
            raise ConfigurationError(f"{path}: $id must end in the file name, got {schema_id!r}")
        documents[path] = doc
    return documents


def _parse_schema_name(path: Path) -> tuple[str, int]:
    # announcement.published.v1.schema.json -> ("announcement.published", 1)
    stem = path.name.removesuffix(SCHEMA_SUFFIX)
    event_type, _, version = stem.rpartition(".v")
    if not event_type or not version.isdigit():
        raise ConfigurationError(f"{path}: expected <type>.v<N>{SCHEMA_SUFFIX}")
    return event_type, int(version)
