"""Accepting an event at the edge: size, syntax, schema, then its topic and key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hub.intake.schemas import SchemaCatalog, parse_document
from hub.model.events import topic_name


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, ready to be written to its topic keyed by its id."""

    document: dict[str, Any]
    topic: str

    @property
    def key(self) -> bytes:
        return str(self.document["id"]).encode()

    @property
    def value(self) -> bytes:
        return json.dumps(self.document, ensure_ascii=False, separators=(",", ":")).encode()


def accept(
    raw: bytes,
    catalog: SchemaCatalog,
    *,
    topic_prefix: str,
    max_bytes: int,
    allow_yaml: bool = False,
    max_depth: int = 32,
) -> Accepted:
    """Validate raw input; raise InvalidEventError naming every problem, or return the event."""
    parsed = parse_document(raw, max_bytes=max_bytes, allow_yaml=allow_yaml, max_depth=max_depth)
    document = catalog.validate(parsed)
    schema = catalog.schema_for(document["type"])
    return Accepted(document, topic_name(topic_prefix, schema.event_type, schema.version))


def all_event_topics(catalog: SchemaCatalog, topic_prefix: str) -> list[str]:
    return [topic_name(topic_prefix, t, catalog.schema_for(t).version) for t in catalog.event_types]
