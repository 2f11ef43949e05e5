"""Records on hub.newsletter.v1 (key: newsletter name), told apart by their `kind`.

item          an event that may go in the next edition
curate        pin, leave out, reorder items; the edition's introduction per language
compile       compile the edition of the period of `at`
edition-sent  an edition went out with these items
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, JsonValue, field_validator

from hub.errors import BadRecord, Problem
from hub.model.records import Record

log = logging.getLogger(__name__)


class NewsletterItem(Record):
    record_name: ClassVar[str] = "newsletter item"

    kind: Literal["item"] = "item"
    event: dict[str, JsonValue]

    @field_validator("event")
    @classmethod
    def _has_id(cls, event: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if not isinstance(event.get("id"), str):
            raise ValueError("an event document has a string id")
        return event


class Curation(Record):
    """Only the lists it names change; absent ones stay as they were."""

    record_name: ClassVar[str] = "newsletter curation"
    omit_none: ClassVar[bool] = True

    kind: Literal["curate"] = "curate"
    by: str | None = None
    pinned: list[str] | None = None
    excluded: list[str] | None = None
    order: list[str] | None = None
    intro: dict[str, str] | None = None


class CompileRequest(Record):
    record_name: ClassVar[str] = "newsletter compile request"

    kind: Literal["compile"] = "compile"
    at: str
    by: str = "schedule"

    @field_validator("at")
    @classmethod
    def _is_a_time(cls, at: str) -> str:
        if datetime.fromisoformat(at).tzinfo is None:
            raise ValueError("a time with its offset from UTC")
        return at

    def time(self) -> datetime:
        return datetime.fromisoformat(self.at)


class EditionSent(Record):
    record_name: ClassVar[str] = "newsletter edition sent"

    kind: Literal["edition-sent"] = "edition-sent"
    edition: str
    event_ids: list[str] = Field(default_factory=list)


class ArchivedEdition(Record):
    """What is kept of a sent edition (table `editions`, key: edition id), for the archive."""

    record_name: ClassVar[str] = "edition"
    omit_none: ClassVar[bool] = True

    id: str
    newsletter: str
    period_start: str
    sent_at: str
    recipients: int = 0
    event_ids: list[str] = Field(default_factory=list)
    # The event documents, rendered per reader; None for an edition archived before items were
    # kept, which has its finished pages in `html` instead (one per language).
    items: list[dict[str, JsonValue]] | None = None
    intro: dict[str, str] | None = None
    html: dict[str, str] | None = None


NewsletterRecord = NewsletterItem | Curation | CompileRequest | EditionSent
_KINDS: dict[str, type[NewsletterRecord]] = {
    "item": NewsletterItem,
    "curate": Curation,
    "compile": CompileRequest,
    "edition-sent": EditionSent,
}


def parse_newsletter_record(value: object) -> NewsletterRecord:
    """One record of the newsletter topic; BadRecord naming every invalid field if it is not."""
    kind = value.get("kind") if isinstance(value, dict) else None
    model = _KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(_KINDS)
        raise BadRecord("newsletter", [Problem("$.kind", f"one of {known}, not {kind!r}")])
    return model.parse(value)


def read_or_skip(value: object, where: str) -> NewsletterRecord | None:
    """The record, or None once logged with the reason (the topic has no dead letters)."""
    try:
        return parse_newsletter_record(value)
    except BadRecord as exc:
        log.error("%s: record skipped: %s", where, exc)
        return None
