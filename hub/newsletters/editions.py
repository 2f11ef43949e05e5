"""An edition: who gets it, with which items, in which language, rendered once per group. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from hub.i18n.formatting import format_date
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks, Recipient, delivery_id
from hub.model.events import Classification, Event
from hub.model.subscribers import Mode, Subscriber, SubscriberKind
from hub.newsletters.config import ALLOWED, Audience, Newsletter
from hub.partners.registry import EMPTY, PartnerRegistry
from hub.planning import audience
from hub.rendering.environment import Rendered, Renderer

# The most sensitive classification each newsletter's readers hold: who may open its pages.
CEILING = {
    Audience.PUBLIC: Classification.PUBLIC,
    Audience.PARTNERS: Classification.PARTNERS,
    Audience.STAFF: Classification.STAFF,
}


def accepts(newsletter: Newsletter, event: Event) -> bool:
    """May this event ever go in this newsletter? Restricted content never does."""
    if event.classification not in ALLOWED[newsletter.audience]:
        return False
    if newsletter.event_types and event.type not in newsletter.event_types:
        return False
    return not newsletter.themes or bool(set(newsletter.themes) & event.tags.themes)


def may_open(
    newsletter: Newsletter, reader: audience.Reader, partners: PartnerRegistry = EMPTY
) -> bool:
    """May this reader open the newsletter's archive and feed at all? Each item is then checked
    on its own with `audience.may_see`."""
    return audience.clears(CEILING[newsletter.audience], reader, partners)


def visible_items(
    items: Iterable[Event], reader: audience.Reader, partners: PartnerRegistry = EMPTY
) -> list[Event]:
    """The items of an edition this reader may see, by the rule every delivery follows."""
    return [e for e in items if audience.may_see(e, reader, partners)]


def is_member(
    newsletter: Newsletter, subscriber: Subscriber, partners: PartnerRegistry = EMPTY
) -> bool:
    """Receives every edition (the audience), rather than only digests they chose."""
    if not subscriber.is_active or subscriber.email is None:
        return False
    if newsletter.audience is Audience.STAFF:
        return subscriber.is_staff and (newsletter.region in (None, subscriber.region))
    if newsletter.audience is Audience.PARTNERS:
        return audience.standing(subscriber, partners) is SubscriberKind.PARTNER
    return False


def _wants_digest(
    newsletter: Newsletter, subscriber: Subscriber, event: Event, partners: PartnerRegistry
) -> bool:
    """Digests of what they chose: public and media readers get them in public newsletters
    (staff and partners have newsletters of their own)."""
    if newsletter.audience is not Audience.PUBLIC or audience.standing(
        subscriber, partners
    ) not in (SubscriberKind.PUBLIC, SubscriberKind.MEDIA):
        return False
    return any(
        s.mode is Mode.DIGEST and "email" in s.channels and audience.covers(s, event)
        for s in subscriber.subscriptions
    )


def items_for(
    newsletter: Newsletter,
    subscriber: Subscriber,
    items: list[Event],
    partners: PartnerRegistry = EMPTY,
) -> list[Event]:
    """This subscriber's items: what their audience may see, and what they did not get already."""
    member = is_member(newsletter, subscriber, partners)
    chosen = []
    for event in items:
        if not audience.may_receive(event, subscriber, partners) or subscriber.email is None:
            continue
        if member or (
            _wants_digest(newsletter, subscriber, event, partners)
            and "email" not in audience.instant_channels(event, subscriber)
        ):
            chosen.append(event)
    return chosen


@dataclass(frozen=True, slots=True)
class EditionPlan:
    deliveries: list[dict[str, Any]]
    event_ids: list[str]
    items: list[dict[str, Any]]  # the event documents, for the archive to filter per reader


def plan_edition(
    newsletter: Newsletter,
    edition_id: str,
    period_start: datetime,
    items: list[Event],
    intro: dict[str, str],
    subscribers: Iterable[Subscriber],
    renderer: Renderer,
    links: Callable[[str], PersonalLinks],
    default_language: str = "en",
    partners: PartnerRegistry = EMPTY,
) -> EditionPlan:
    """One email per subscriber with items for them, rendered once per (language, items)."""
    items = [e for e in items if accepts(newsletter, e)]
    # the newsletter's languages this hub speaks (a language dropped from the hub's set is not
    # offered any more, even if a newsletter's file still lists it)
    offered = {tag for tag in newsletter.languages if renderer.languages.speaks(tag)}
    offered = offered or {default_language}
    cache: dict[tuple[str, tuple[str, ...]], Rendered] = {}
    deliveries = []
    for subscriber in subscribers:
        own = items_for(newsletter, subscriber, items, partners)
        if not own and not newsletter.send_empty:
            continue
        language = renderer.languages.choose(subscriber.language, offered)
        key = (language, tuple(e.id for e in own))
        if key not in cache:
            cache[key] = render_edition(renderer, newsletter, period_start, own, intro, language)
        assert subscriber.email is not None
        delivery = Delivery(
            id=delivery_id(edition_id, ChannelKey.EMAIL, subscriber.id),
            event_id=f"newsletter:{edition_id}",
            channel=ChannelKey.EMAIL,
            language=language,
            recipient=Recipient(subscriber.id, subscriber.name, subscriber.email),
            links=links(subscriber.id),
        )
        deliveries.append(delivery.record(None, asdict(cache[key])).dump())
    return EditionPlan(deliveries, [e.id for e in items], [e.document for e in items])


def render_edition(
    renderer: Renderer,
    newsletter: Newsletter,
    period_start: datetime,
    items: list[Event],
    intro: dict[str, str],
    language: str,
    *,
    archive: bool = False,
) -> Rendered:
    """The edition in one language; each item falls back to a language it has."""
    entries = []
    for event in items:
        item_language = renderer.languages.choose(language, event.languages)
        content = event.content[item_language]
        research = event.document.get("research") or {}
        url = research.get("publication_url") or (content.links[0].url if content.links else None)
        entries.append(
            {
                "type": event.type,
                "title": content.title,
                "summary": content.summary,
                "url": url,
                "language": item_language,
                "internal": event.classification
                in (Classification.STAFF, Classification.RESTRICTED),
            }
        )
    return renderer.render_system(
        "newsletter",
        language,
        {
            "newsletter_title": newsletter.title_in(language),
            # the archive link goes through the preferences page, which carries the reader's
            # signed link on to the archive (partner and staff archives need it)
            "newsletter_name": newsletter.name,
            "edition_date": format_date(period_start, language),
            "intro": intro.get(language, ""),
            "items": entries,
            "is_internal": newsletter.is_internal,
            "archive": archive,
        },
    )
