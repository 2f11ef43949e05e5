"""Who would receive an event, on which channel, in which language, without sending. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hub.i18n.languages import DEFAULT_LANGUAGES, Languages
from hub.model.events import Event
from hub.model.subscribers import Subscriber, SubscriberKind
from hub.partners.registry import EMPTY, PartnerRegistry
from hub.planning import audience, routing

PREVIEW = 200


def dry_run(
    event: Event,
    subscribers: Iterable[Subscriber],
    now: datetime,
    languages: Languages = DEFAULT_LANGUAGES,
    partners: PartnerRegistry = EMPTY,
) -> dict[str, Any]:
    chosen = audience.audience_of(event, subscribers, partners)
    deliveries = routing.plan(event, chosen, languages=languages)
    kinds = {s.id: audience.standing(s, partners) for s, _channels in chosen}
    held = event.embargo_until if audience.is_embargoed(event, now) else None
    return {
        "event_id": event.id,
        "classification": event.classification.value,
        "embargoed_until": held.isoformat() if held else None,
        "recipients": len(chosen),
        "deliveries": len(deliveries),
        "by_kind": dict(Counter(kinds[s.id].value for s, _c in chosen)),
        "by_channel": dict(Counter(d.channel.value for d in deliveries)),
        "by_language": dict(Counter(d.language for d in deliveries)),
        "staff_by_department": dict(
            Counter(s.department or "—" for s, _c in chosen if s.kind is SubscriberKind.STAFF)
        ),
        "preview": [
            {
                "recipient_id": d.recipient.id,
                "kind": kinds[d.recipient.id].value,
                "channel": d.channel.value,
                "language": d.language,
            }
            for d in deliveries[:PREVIEW]
        ],
    }


def audience_counts(
    subscribers: Iterable[Subscriber], partners: PartnerRegistry = EMPTY
) -> dict[str, Any]:
    """Counts an officer plans with: by kind (partners as the registry grants them), status,
    language, and staff by department/region."""
    everyone = list(subscribers)
    staff = [s for s in everyone if s.is_staff and s.is_active]
    return {
        "total": len(everyone),
        "by_kind": dict(Counter(audience.standing(s, partners).value for s in everyone)),
        "by_status": dict(Counter(s.status.value for s in everyone)),
        "by_language": dict(Counter(s.language for s in everyone if s.is_active)),
        "staff_by_department": dict(Counter(s.department or "—" for s in staff)),
        "staff_by_region": dict(Counter(s.region or "—" for s in staff)),
        "staff_by_country": dict(Counter(s.country or "—" for s in staff)),
    }


def search(
    subscribers: Iterable[Subscriber],
    query: str = "",
    kind: str | None = None,
    status: str | None = None,
) -> list[Subscriber]:
    """Case-insensitive match on id, name, email, organisation, department or office."""
    needle = query.strip().lower()
    found = []
    for s in subscribers:
        if (kind and s.kind.value != kind) or (status and s.status.value != status):
            continue
        haystack = " ".join(
            v or "" for v in (s.id, s.name, s.email, s.organisation, s.department, s.office)
        ).lower()
        if needle in haystack:
            found.append(s)
    return sorted(found, key=lambda s: s.id)
