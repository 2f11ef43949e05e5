"""Planning one accepted event: duplicates, embargo, audience, deliveries. Plain Python."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.errors import BadRecord
from hub.i18n.languages import DEFAULT_LANGUAGES, Languages
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks
from hub.model.events import Event
from hub.model.subscribers import Subscriber
from hub.model.tables import Embargo
from hub.partners.registry import EMPTY, PartnerRegistry
from hub.planning import audience, routing

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one event: deliveries now, or the recorded reason why not."""

    event: Event
    deliveries: list[Delivery] = field(default_factory=list)
    skipped_reason: str = ""
    held_until: datetime | None = None  # embargoed: plan again at this time
    repeated: bool = False  # this event was planned before: nothing to do at all
    # Deliveries for a channel that is turned off, each with the reason it is not sent.
    switched_off: list[tuple[Delivery, str]] = field(default_factory=list)


def plan_event(
    document: dict[str, Any],
    subscribers: Iterable[Subscriber],
    planned: MutableMapping[str, str],
    now: datetime,
    *,
    languages: Languages = DEFAULT_LANGUAGES,
    links: Callable[[str], PersonalLinks] | None = None,
    broadcast: Callable[[Event], list[Delivery]] | None = None,
    channels: Collection[ChannelKey] | None = None,
    partners: PartnerRegistry = EMPTY,
) -> Plan:
    """Decide the deliveries of an event; a second copy of the same event id plans nothing.

    `channels` are those turned on (None: all); a delivery for another is kept in
    `switched_off` with its reason, so it is recorded as skipped rather than sent nowhere.
    """
    event = Event.from_document(document)
    seen = planned.get(event.id)
    if seen is not None:
        why = "same event" if seen == event.fingerprint else "different content under the same id"
        return Plan(event, skipped_reason=f"already planned ({why})", repeated=True)
    if audience.is_embargoed(event, now):
        return Plan(
            event,
            skipped_reason=f"embargoed until {event.embargo_until}",
            held_until=event.embargo_until,
        )
    chosen = audience.audience_of(event, subscribers, partners)
    deliveries = routing.plan(event, chosen, languages=languages, links=links)
    if broadcast is not None:
        deliveries += broadcast(event)
    off = [d for d in deliveries if channels is not None and d.channel not in channels]
    switched_off = [(d, off_reason(d.channel)) for d in off]
    deliveries = [d for d in deliveries if channels is None or d.channel in channels]
    if not deliveries:
        reason = "no subscriber in the audience"
        if switched_off:
            reason = "no subscriber in the audience on a channel that is turned on"
        return Plan(event, skipped_reason=reason, switched_off=switched_off)
    return Plan(event, deliveries=deliveries, switched_off=switched_off)


def off_reason(channel: ChannelKey) -> str:
    """Why a delivery on `channel` is not sent: the setting that turned it off."""
    return f"{channel} is turned off (HUB_{str(channel).upper()}__ENABLED=false): not sent"


def due_embargoes(
    held: Iterable[tuple[str, object]], planned: MutableMapping[str, str], now: datetime
) -> list[tuple[str, Embargo]]:
    """Held events whose time has come and that were not fanned out yet.

    An entry that does not read is logged and left out: it must not hold up the others.
    """
    due: list[tuple[str, Embargo]] = []
    for event_id, value in held:
        if not value or event_id in planned:
            continue
        try:
            embargo = Embargo.parse(value)
        except BadRecord as exc:
            log.error("embargoed event %s cannot be released: %s", event_id, exc)
            continue
        if embargo.over(now):
            due.append((event_id, embargo))
    return due
