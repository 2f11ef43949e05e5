"""A newsletter's state between editions, folded from its topic: items, curation, editions. Pure.

Records on hub.newsletter.v1 (key: newsletter name):
  {"kind": "item", "event": {...}}                    an event that may go in the next edition
  {"kind": "curate", "pinned": [...], "excluded": [...], "order": [...], "intro": {"fr": "..."}}
  {"kind": "compile", "at": "<time>", "by": "..."}    compile the edition of the period of `at`
  {"kind": "edition-sent", "edition": "...", "event_ids": [...]}
"""

from __future__ import annotations

import copy
from typing import Any

from hub.model.events import Event
from hub.newsletters.config import Newsletter


def empty_state() -> dict[str, Any]:
    return {
        "pending": {},
        "curation": {"pinned": [], "excluded": [], "order": [], "intro": {}},
        "editions": [],
    }


def apply(state: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
    """The state after one record; applying a record twice changes nothing more."""
    result = copy.deepcopy(state) if state else empty_state()
    kind = record.get("kind")
    if kind == "item":
        document = record["event"]
        result["pending"].setdefault(document["id"], document)
    elif kind == "curate":
        curation = result["curation"]
        for key in ("pinned", "excluded", "order"):
            if key in record:
                curation[key] = [str(v) for v in record[key]]
        curation["intro"].update({str(k): str(v) for k, v in record.get("intro", {}).items()})
    elif kind == "edition-sent":
        for event_id in record.get("event_ids", []):
            result["pending"].pop(event_id, None)
        if record["edition"] not in result["editions"]:
            result["editions"].append(record["edition"])
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
