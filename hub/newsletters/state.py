"""A newsletter's state between editions, folded from its topic: items, curation, editions. Pure.

The records it folds are in hub.model.newsletters.
"""

from __future__ import annotations

import copy
from typing import Any

from hub.model.events import Event
from hub.model.newsletters import (
    Curation,
    EditionSent,
    NewsletterItem,
    NewsletterRecord,
    parse_newsletter_record,
)
from hub.newsletters.config import Newsletter


def empty_state() -> dict[str, Any]:
    return {
        "pending": {},
        "curation": {"pinned": [], "excluded": [], "order": [], "intro": {}},
        "editions": [],
    }


def apply(state: dict[str, Any] | None, record: NewsletterRecord | object) -> dict[str, Any]:
    """The state after one record; applying a record twice changes nothing more.

    Raises BadRecord for a value that is not a newsletter record.
    """
    if not isinstance(record, NewsletterRecord):
        record = parse_newsletter_record(record)
    result = copy.deepcopy(state) if state else empty_state()
    if isinstance(record, NewsletterItem):
        result["pending"].setdefault(record.event["id"], dict(record.event))
    elif isinstance(record, Curation):
        curation = result["curation"]
        for key in ("pinned", "excluded", "order"):
            chosen = getattr(record, key)
            if chosen is not None:
                curation[key] = list(chosen)
        curation["intro"].update(record.intro or {})
    elif isinstance(record, EditionSent):
        for event_id in record.event_ids:
            result["pending"].pop(event_id, None)
        if record.edition not in result["editions"]:
            result["editions"].append(record.edition)
        result["curation"] = empty_state()["curation"]
    return result


def next_items(state: dict[str, Any], newsletter: Newsletter) -> list[Event]:
    """The items of the next edition, as curated: pinned first, then the chosen order, then by
    section (the newsletter's event types, in order) and time; excluded ones left out."""
    curation = state["curation"]
    excluded = set(curation["excluded"])
    events = [
        Event.from_document(doc)
        for event_id, doc in state["pending"].items()
        if event_id not in excluded
    ]
    sections = {t: i for i, t in enumerate(newsletter.event_types)}
    pinned = {e: i for i, e in enumerate(curation["pinned"])}
    order = {e: i for i, e in enumerate(curation["order"])}

    def rank(event: Event) -> tuple[int, int, int, str]:
        return (
            pinned.get(event.id, len(pinned)),
            order.get(event.id, len(order)),
            sections.get(event.type, len(sections)),
            event.occurred_at.isoformat(),
        )

    return sorted(events, key=rank)
