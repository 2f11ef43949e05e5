"""The console's form for any event type, derived from its JSON Schema, and the form read back."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.errors import Problem
from hub.intake.schemas import SchemaCatalog

if TYPE_CHECKING:
    from referencing._core import Resolver

# Filled by the console itself, never offered as fields.
CONSOLE_SET = ("id", "type", "schema_version", "occurred_at", "publisher", "content")
CONTENT_PARTS = ("title", "summary", "body", "links")

_MAX_DEPTH = 8  # deeper nesting (or a schema that refers to itself) is not drawn as a form
_URL_FORMATS = {"uri", "iri"}
_TRUE = {"on", "true", "1"}
_FALSE = {"off", "false", "0"}
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
# What <input type="datetime-local"> posts: no offset, seconds optional.
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_REQUIRED = re.compile(r"^(['\"])(.+)\1 is a required property$")
# jsonschema's JSON paths: .name, [index], or ['name'] for a name that is not an identifier.
_PATH_STEP = re.compile(r"\.([A-Za-z][A-Za-z0-9_]*)|\[[0-9]+\]|\['((?:[^'\\]|\\.)*)'\]")


@dataclass(frozen=True, slots=True)
class Field:
    """One form control, standing for the property at `path` in the event."""

    name: str
    path: tuple[str, ...]
    label: str
    description: str
    kind: str
    required: bool
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    group: str = ""
    # Every object holding the field is required, so it is kept (maybe empty) when the field is
    # blank: an event with no tags still carries "tags": {}.
    parent_required: bool = False


def form_fields(catalog: SchemaCatalog, event_type: str) -> list[Field]:
    """Every field an officer fills for this event type, in schema order, objects flattened."""
    validator = catalog.schema_for(event_type).validator
    schema = validator.schema
    # The catalog's registry resolves "_defs/..." relative to the schema, as validation does.
    resolver = validator._registry.resolver(base_uri=schema.get("$id", ""))
    fields: list[Field] = []
    _add_fields(fields, schema, resolver, (), parent_required=True)
    return fields


def form_values(fields: Sequence[Field], document: Mapping[str, Any]) -> dict[str, str]:
    """The form's initial values from a (draft) document; an absent value is ""."""
    return {field.name: _shown(_get(document, field.path)) for field in fields}


def document_from_form(
    fields: Sequence[Field], form: Mapping[str, str], base: Mapping[str, Any]
) -> dict[str, Any]:
    """`base` with every non-empty field put at its path; never raises, validation judges."""
    document = copy.deepcopy(dict(base))
    for field in fields:
        if field.parent_required:
            _container(document, field.path[:-1])
        value = _parsed(field, form.get(field.name, ""))
        if value is not None:
            _container(document, field.path[:-1])[field.path[-1]] = value
    return document


def content_from_form(
    form: Mapping[str, str], languages: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The `content` object from "content.<lang>.<part>" fields; an empty language is left out."""
    content: dict[str, dict[str, Any]] = {}
    for language in languages:
        entry: dict[str, Any] = {}
        for part in ("title", "summary"):
            text = form.get(f"content.{language}.{part}", "").strip()
            if text:
                entry[part] = text
        # Markdown keeps its whitespace (a trailing newline included); browsers post CRLF.
        body = form.get(f"content.{language}.body", "").replace("\r\n", "\n")
        if body.strip():
            entry["body"] = body
        links = _links(form.get(f"content.{language}.links", ""))
        if links:
            entry["links"] = links
        if entry:
            content[language] = entry
    return content


def content_values(content: Mapping[str, Any], languages: Sequence[str]) -> dict[str, str]:
    """The "content.<lang>.<part>" fields' values from a draft's content."""
    values: dict[str, str] = {}
    for language in languages:
        entry = content.get(language)
        entry = entry if isinstance(entry, Mapping) else {}
        for part in ("title", "summary", "body"):
            text = entry.get(part)
            values[f"content.{language}.{part}"] = text if isinstance(text, str) else ""
        links = entry.get("links")
        values[f"content.{language}.links"] = "\n".join(
            f"{link.get('title', '')} | {link.get('url', '')}"
            for link in (links if isinstance(links, list) else [])
            if isinstance(link, Mapping)
        )
    return values


def field_problems(
    problems: Sequence[Problem], fields: Sequence[Field]
) -> tuple[dict[str, list[str]], list[str]]:
    """Problems' messages by form field name, and "path: message" for those that fit no field."""
    names = {field.name for field in fields}
    by_field: dict[str, list[str]] = {}
    unplaced: list[str] = []
    for problem in problems:
        name = _field_name(problem, names)
        if name is None:
            unplaced.append(f"{problem.path}: {problem.message}")
        else:
            by_field.setdefault(name, []).append(problem.message)
    return by_field, unplaced


def _add_fields(
    fields: list[Field],
    schema: Mapping[str, Any],
    resolver: Resolver[Any],
    path: tuple[str, ...],
    *,
    parent_required: bool,
) -> None:
    properties, required = _object_parts(schema, resolver, 0)
    for name, (sub, sub_resolver) in properties.items():
        if not path and name in CONSOLE_SET:
            continue
        here = (*path, name)
        resolved, resolved_resolver = _deref(sub, sub_resolver, 0)
        if _is_object(resolved):
            if len(here) < _MAX_DEPTH:
                _add_fields(
                    fields,
                    sub,
                    sub_resolver,
                    here,
                    parent_required=parent_required and name in required,
                )
            continue
        field = _field(
            here, resolved, resolved_resolver, name in required, parent_required and bool(path)
        )
        if field is not None:
            fields.append(field)


def _object_parts(
    schema: Mapping[str, Any], resolver: Resolver[Any], depth: int
) -> tuple[dict[str, tuple[Mapping[str, Any], Resolver[Any]]], set[str]]:
    """An object schema's properties (each with the resolver its refs are relative to) and
    required names, the referred-to schema's first: a type schema $refs the envelope."""
    properties: dict[str, tuple[Mapping[str, Any], Resolver[Any]]] = {}
    required: set[str] = set()
    ref = schema.get("$ref")
    if isinstance(ref, str) and depth < _MAX_DEPTH:
        target = resolver.lookup(ref)
        properties, required = _object_parts(target.contents, target.resolver, depth + 1)
    # The referring schema's own definition wins and keeps the envelope's order
    # (strategy.updated narrows classification where the envelope lists it).
    for name, sub in schema.get("properties", {}).items():
        if isinstance(sub, Mapping):
            properties[name] = (sub, resolver)
    required |= {name for name in schema.get("required", []) if isinstance(name, str)}
    return properties, required


def _deref(
    schema: Mapping[str, Any], resolver: Resolver[Any], depth: int
) -> tuple[Mapping[str, Any], Resolver[Any]]:
    """The schema with its $ref followed; its own keywords beside the $ref (a description) win."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or depth >= _MAX_DEPTH:
        return schema, resolver
    target = resolver.lookup(ref)
    contents, target_resolver = _deref(target.contents, target.resolver, depth + 1)
    own = {key: value for key, value in schema.items() if key != "$ref"}
    # `items` is read relative to the schema it came from.
    return {**contents, **own}, (resolver if "items" in own else target_resolver)


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    return {t for t in declared if isinstance(t, str)} if isinstance(declared, list) else set()


def _is_object(schema: Mapping[str, Any]) -> bool:
    types = _types(schema)
    return "object" in types or (not types and "properties" in schema)


def _field(
    path: tuple[str, ...],
    schema: Mapping[str, Any],
    resolver: Resolver[Any],
    required: bool,
    parent_required: bool,
) -> Field | None:
    choices: tuple[str, ...] = ()
    leaf = schema  # where the pattern and a fallback description live: a list's items
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    types = _types(schema)
    # Only string enums become selects: a numeric one is typed in and validation judges it.
    if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
        kind, choices = "select", tuple(values)
    elif "string" in types:
        kind = _string_kind(schema)
    elif "array" in types and isinstance(schema.get("items"), Mapping):
        leaf, _ = _deref(schema["items"], resolver, 0)
        # Arrays of objects (links, say) have no plain form control: they are left to the page.
        if "string" not in _types(leaf):
            return None
        kind = "list"
    elif "integer" in types:
        kind = "integer"
    elif "number" in types:
        kind = "number"
    elif "boolean" in types:
        kind = "checkbox"
    else:
        return None  # no type to draw (only anyOf, say): validation still covers it
    title = schema.get("title")
    description = schema.get("description") or leaf.get("description") or ""
    pattern = leaf.get("pattern")
    return Field(
        name=".".join(path),
        path=path,
        label=title if isinstance(title, str) else path[-1].replace("_", " ").capitalize(),
        description=description if isinstance(description, str) else "",
        kind=kind,
        required=required,
        choices=choices,
        pattern=pattern if isinstance(pattern, str) else None,
        group=path[0] if len(path) > 1 else "",
        parent_required=parent_required,
    )


def _string_kind(schema: Mapping[str, Any]) -> str:
    form = schema.get("format")
    if form in _URL_FORMATS:
        return "url"
    if form == "date":
        return "date"
    if form == "date-time":
        return "datetime"
    max_length = schema.get("maxLength")
    long = isinstance(max_length, int) and max_length > 300
    return "textarea" if long or schema.get("contentMediaType") == "text/markdown" else "text"


def _get(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = document
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        items = [item if isinstance(item, str) else json.dumps(item) for item in value]
        # An item holding a comma ("Ndiaye, Fatou") goes one per line, which _items reads back.
        if any("," in item for item in items):
            return "".join(f"{item}\n" for item in items)
        return ", ".join(items)
    return json.dumps(value, ensure_ascii=False)


def _container(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = document
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    return node


def _parsed(field: Field, raw: str) -> Any:
    """The field's value for the document, or None to leave it out; what does not parse is kept
    as typed, so that validation names it."""
    if field.kind == "textarea":
        text = raw.replace("\r\n", "\n")
        return text if text.strip() else None
    text = raw.strip()
    if field.kind == "checkbox":
        if not text:  # an unticked box posts nothing
            return False if field.required else None
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if not text:
        return None
    if field.kind == "list":
        return _items(raw) or None
    if field.kind in ("number", "integer"):
        return _number(text, integral=field.kind == "integer")
    if field.kind == "datetime" and _LOCAL_DATETIME.fullmatch(text):
        seconds = "" if text.count(":") == 2 else ":00"
        return f"{text}{seconds}Z"  # no time zone given: UTC
    return text


def _items(raw: str) -> list[str]:
    # One item a line when there are lines, so an item may hold a comma; else comma-separated.
    parts = raw.splitlines() if "\n" in raw or "\r" in raw else raw.split(",")
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


def _number(text: str, *, integral: bool) -> int | float | str:
    if not _NUMBER.fullmatch(text):
        return text
    try:
        if _INTEGER.fullmatch(text):
            return int(text)
        if integral:
            return text
        value = float(text)
    except ValueError:  # more digits than Python converts
        return text
    return value if math.isfinite(value) else text


def _links(text: str) -> list[dict[str, str]]:
    links = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            # A URL holds no " | ", so the last one separates the title from the URL.
            title, _, url = line.rpartition(" | ")
            links.append({"title": title.strip() or url.strip(), "url": url.strip()})
    return links


def _field_name(problem: Problem, names: set[str]) -> str | None:
    keys = [
        name or re.sub(r"\\(.)", r"\1", quoted) for name, quoted in _PATH_STEP.findall(problem.path)
    ]
    keys = [key for key in keys if key]
    missing = _REQUIRED.match(problem.message)
    if missing:  # reported at the object that lacks the property: it belongs to that property
        keys.append(missing.group(2))
    if len(keys) >= 3 and keys[0] == "content" and keys[2] in CONTENT_PARTS:
        return ".".join(keys[:3])
    for end in range(len(keys), 0, -1):
        name = ".".join(keys[:end])
        if name in names:
            return name
    return None
