"""Event types and the envelope, as immutable values built from a schema-valid document."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Classification(StrEnum):
    """Who may ever see an event."""

    PUBLIC = "public"
    PARTNERS = "partners"
    STAFF = "staff"
    RESTRICTED = "restricted"


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class LocalizedContent:
    """An event's text in one language."""

    title: str
    summary: str
    body: str
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Tags:
    themes: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    offices: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Audience:
    """Staff targeting, and the named groups or people of a restricted event."""

    departments: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    offices: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Event:
    """An accepted event; `document` is exactly what was validated and written to Kafka."""

    id: str
    type: str
    schema_version: int
    occurred_at: datetime
    publisher_id: str
    publisher_name: str
    classification: Classification
    content: dict[str, LocalizedContent]
    tags: Tags
    audience: Audience
    embargo_until: datetime | None
    document: dict[str, Any] = field(repr=False, compare=False)
    # A hash of the document: tells a re-publish of the same event from a different one.
    fingerprint: str = field(repr=False, compare=False, default="")

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.content)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Event:
        """Build from a document that already passed schema validation."""
        tags = doc.get("tags", {})
        audience = doc.get("audience", {})
        research = doc.get("research", {})
        embargo = research.get("embargo_until")
        return cls(
            id=doc["id"],
            type=doc["type"],
            schema_version=doc["schema_version"],
            occurred_at=_parse_time(doc["occurred_at"]),
            publisher_id=doc["publisher"]["id"],
            publisher_name=doc["publisher"]["name"],
            classification=Classification(doc["classification"]),
            content={
                lang: LocalizedContent(
                    title=c["title"],
                    summary=c["summary"],
                    body=c["body"],
                    links=tuple(Link(link["title"], link["url"]) for link in c.get("links", [])),
                )
                for lang, c in doc["content"].items()
            },
            tags=Tags(**{key: frozenset(tags.get(key, ())) for key in Tags.__slots__}),
            audience=Audience(
                **{key: frozenset(audience.get(key, ())) for key in Audience.__slots__}
            ),
            embargo_until=_parse_time(embargo) if embargo else None,
            document=doc,
            fingerprint=document_fingerprint(doc),
        )


def document_fingerprint(doc: dict[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without a timezone: {value!r}")
    return parsed


def topic_name(prefix: str, event_type: str, version: int) -> str:
    """hub.events.<type>.v<N>: one topic per event type and major version."""
    return f"{prefix}.events.{event_type}.v{version}"
