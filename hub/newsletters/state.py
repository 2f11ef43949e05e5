"""A newsletter's state between editions, folded from its topic: items, curation, editions.

The records it folds are in hub.model.newsletters; the state itself in hub.model.newsletter_state.
The worker keeps it in two tables: the state with the waiting items' ids (newsletter name ->
KeptNewsletterState) and one entry per waiting item (item_key -> the event's document).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import JsonValue

from hub.errors import BadRecord, Problem
from hub.model.events import Event
from hub.model.newsletter_state import CurrentCuration, KeptNewsletterState, NewsletterState
from hub.model.newsletters import (
    Curation,
    EditionSent,
    NewsletterItem,
    NewsletterRecord,
    parse_newsletter_record,
)
from hub.newsletters.config import Newsletter

log = logging.getLogger(__name__)

# A kept state is one table value, and so one Kafka record: Kafka refuses records over 1 MB by
# default, and a refused changelog write would stop the worker, then stop it again after every
# restart (the same items fold into the same state). With items kept apart that is some 20,000
# waiting ids; items past it are left out of the newsletter, with an error, until an edition
# goes out.
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


def item_key(name: str, event_id: str) -> str:
    """The newsletter-items table's key of one waiting item."""
    return f"{name}/{event_id}"


def load(states: Mapping[str, Any], items: Mapping[str, Any], name: str) -> NewsletterState:
    """The newsletter's state from its two tables. Raises BadRecord if it cannot be read."""
    return _assembled(KeptNewsletterState.stored(states.get(name)), items, name)


def _assembled(kept: KeptNewsletterState, items: Mapping[str, Any], name: str) -> NewsletterState:
    pending = dict(kept.pending)
    for index, event_id in enumerate(kept.waiting):
        document = items.get(item_key(name, event_id))
        if not isinstance(document, dict):
            where = f"$.waiting[{index}]"
            raise BadRecord("newsletter state", [Problem(where, f"item {event_id}: no document")])
        pending[event_id] = document
    # Not validated again: every document was read as a newsletter item before it was kept.
    return NewsletterState.model_construct(
        pending=pending, curation=kept.curation, editions=kept.editions
    )


def fold_into(
    states: MutableMapping[str, Any],
    items: MutableMapping[str, Any],
    name: str,
    record: NewsletterRecord,
) -> KeptNewsletterState | None:
    """Fold the record into the newsletter's kept state and store what changed: new items'
    documents first, then the state, then the documents of items gone out (so a crash between
    two writes leaves nothing the state names unstored, and the record folds again the same).
    The waiting documents are neither read nor written again: `load` assembles them when an
    edition or a preview needs them.

    None, once logged with the reason, if the stored state cannot be read: the stored value is
    left as it is and the record skipped. Folding it into an empty state instead would drop
    every pending item and the editions already sent without a trace; left alone, the value
    is there for someone to look at, and the other newsletters go on.
    """
    try:
        kept = KeptNewsletterState.stored(states.get(name))
    except BadRecord as exc:
        log.error("newsletter %s: stored state unreadable, record skipped: %s", name, exc)
        return None
    # The rules of `apply`, on the ids: a document kept apart stands in as an empty one.
    waiting: dict[str, dict[str, JsonValue]] = {event_id: {} for event_id in kept.waiting}
    outline = NewsletterState.model_construct(
        pending={**kept.pending, **waiting}, curation=kept.curation, editions=kept.editions
    )
    folded = apply(outline, record)
    if folded is outline:
        return kept
    stored = KeptNewsletterState(
        waiting=tuple(folded.pending), curation=folded.curation, editions=folded.editions
    )
    value = stored.dump()
    if isinstance(record, NewsletterItem):
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > MAX_STATE_BYTES:
            log.error(
                "newsletter %s: item %s left out: %d items already wait for the next edition"
                " (%d bytes with it, the limit is %d); send an edition or exclude items",
                name,
                record.event.get("id"),
                len(outline.pending),
                size,
                MAX_STATE_BYTES,
            )
            return kept
    for event_id, document in folded.pending.items():
        if event_id not in waiting:  # new, or whole in a state stored before items were apart
            items[item_key(name, event_id)] = document
    states[name] = value
    gone = waiting.keys() - folded.pending.keys()
    if isinstance(record, EditionSent):  # again, if a crash came before they were deleted
        gone |= set(record.event_ids) - folded.pending.keys()
    for event_id in gone:
        key = item_key(name, event_id)
        if key in items:
            del items[key]
    return stored


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
