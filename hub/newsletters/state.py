"""A newsletter's state between editions, folded from its topic: items, curation, editions.

The records it folds are in hub.model.newsletters; the state itself in hub.model.newsletter_state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

from hub.errors import BadRecord
from hub.model.events import Event
from hub.model.newsletter_state import CurrentCuration, NewsletterState
from hub.model.newsletters import (
    Curation,
    EditionSent,
    NewsletterItem,
    NewsletterRecord,
    parse_newsletter_record,
)
from hub.newsletters.config import Newsletter

log = logging.getLogger(__name__)

# A state is one table value, and so one Kafka record: Kafka refuses records over 1 MB by
# default, and a refused changelog write would stop the worker, then stop it again after every
# restart (the same items fold into the same state). Items that would take it past this are left
# out of the newsletter, with an error, until an edition goes out.
MAX_STATE_BYTES = 900_000


def empty_state() -> NewsletterState:
    return NewsletterState()


def apply(state: NewsletterState | None, record: NewsletterRecord | object) -> NewsletterState:
    """The state after one record; applying a record twice changes nothing more.

    Raises BadRecord for a value that is not a newsletter record.
    """
    if not isinstance(record, NewsletterRecord):
        record = parse_newsletter_record(record)
    state = state or NewsletterState()
    if isinstance(record, NewsletterItem):
        if record.event["id"] in state.pending:  # the first copy of an item is the one kept
            return state
        pending = {**state.pending, str(record.event["id"]): dict(record.event)}
        return state.model_copy(update={"pending": pending})
    if isinstance(record, Curation):
        return state.model_copy(update={"curation": _curated(state.curation, record)})
    if isinstance(record, EditionSent):
        sent = set(record.event_ids)
        pending = {k: v for k, v in state.pending.items() if k not in sent}
        editions = state.editions
        if record.edition not in editions:
            editions = (*editions, record.edition)
        update = {"pending": pending, "editions": editions, "curation": CurrentCuration()}
        return state.model_copy(update=update)
    return state


def fold_into(
    states: MutableMapping[str, Any], name: str, record: NewsletterRecord
) -> NewsletterState | None:
    """Fold the record into the newsletter's stored state (a table: name -> JSON) and store it.

    None, once logged with the reason, if the stored state cannot be read: the stored value is
    left as it is and the record skipped. Folding it into an empty state instead would drop
    every pending item and the editions already sent without a trace; left alone, the value
    is there for someone to look at, and the other newsletters go on.
    """
    try:
        stored = NewsletterState.stored(states.get(name))
    except BadRecord as exc:
        log.error("newsletter %s: stored state unreadable, record skipped: %s", name, exc)
        return None
    state = apply(stored, record)
    value = state.dump()
    if isinstance(record, NewsletterItem) and state is not stored:
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > MAX_STATE_BYTES:
            log.error(
                "newsletter %s: item %s left out: %d items already wait for the next edition"
                " (%d bytes with it, the limit is %d); send an edition or exclude items",
                name,
                record.event.get("id"),
                len(stored.pending),
                size,
                MAX_STATE_BYTES,
            )
            return stored
    states[name] = value
    return state


def _curated(current: CurrentCuration, record: Curation) -> CurrentCuration:
    """Only the lists the record names change; its introductions add to the ones there."""
    update: dict[str, object] = {
        key: tuple(chosen)
        for key in ("pinned", "excluded", "order")
        if (chosen := getattr(record, key)) is not None
    }
    update["intro"] = {**current.intro, **(record.intro or {})}
    return current.model_copy(update=update)


def next_items(state: NewsletterState, newsletter: Newsletter) -> list[Event]:
    """The items of the next edition, as curated: pinned first, then the chosen order, then by
    section (the newsletter's event types, in order) and time; excluded ones left out."""
    curation = state.curation
    excluded = set(curation.excluded)
    events = [
        Event.from_document(doc)
        for event_id, doc in state.pending.items()
        if event_id not in excluded
    ]
    sections = {t: i for i, t in enumerate(newsletter.event_types)}
    pinned = {e: i for i, e in enumerate(curation.pinned)}
    order = {e: i for i, e in enumerate(curation.order)}

    def rank(event: Event) -> tuple[int, int, int, str]:
        return (
            pinned.get(event.id, len(pinned)),
            order.get(event.id, len(order)),
            sections.get(event.type, len(sections)),
            event.occurred_at.isoformat(),
        )

    return sorted(events, key=rank)
