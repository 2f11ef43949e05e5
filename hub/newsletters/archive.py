"""What is kept of a sent edition, and the archive pages and Atom feed each reader may see. Pure.

An edition keeps its items (the event documents), not a finished page: every page and feed is
rendered for its reader with only the items `audience.may_see` lets that reader see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from hub.model.events import Event
from hub.model.newsletters import ArchivedEdition
from hub.newsletters.config import Newsletter
from hub.newsletters.editions import EditionPlan, render_edition, visible_items
from hub.partners.registry import EMPTY, PartnerRegistry
from hub.planning.audience import Reader
from hub.planning.languages import choose_language
from hub.rendering.environment import Renderer


def archive_record(
    newsletter: Newsletter,
    edition_id: str,
    at: datetime,
    plan: EditionPlan,
    sent_at: datetime,
    intro: dict[str, str] | None = None,
) -> dict[str, Any]:
    return ArchivedEdition(
        id=edition_id,
        newsletter=newsletter.name,
        period_start=newsletter.period_start(at).isoformat(),
        sent_at=sent_at.isoformat(),
        recipients=len(plan.deliveries),
        event_ids=plan.event_ids,
        items=plan.items,
        intro=dict(intro or {}),
    ).dump()


def edition_items(record: ArchivedEdition) -> list[Event] | None:
    """The edition's items; None for an edition archived before items were kept."""
    if record.items is None:
        return None
    return [Event.from_document(dict(document)) for document in record.items]


def edition_page(
    renderer: Renderer,
    newsletter: Newsletter,
    record: dict[str, Any],
    language: str,
    reader: Reader,
    partners: PartnerRegistry = EMPTY,
) -> str | None:
    """The edition as this reader may see it; None when nothing in it can be shown to them
    (or it does not read: logged)."""
    edition = ArchivedEdition.read_or_skip(record, "archive")
    if edition is None:
        return None
    items = edition_items(edition)
    if items is None:
        # Kept as finished pages: only a public newsletter's (public items only) or an officer.
        if not (reader.officer or newsletter.audience.value == "public"):
            return None
        pages = edition.html or {}
        return pages.get(language) or pages.get("en") or next(iter(pages.values()), None)
    language = choose_language(language, set(newsletter.languages))
    shown = visible_items(items, reader, partners)
    period_start = datetime.fromisoformat(edition.period_start)
    intro = edition.intro or {}
    return render_edition(
        renderer, newsletter, period_start, shown, intro, language, archive=True
    ).html


def atom_feed(
    newsletter: Newsletter,
    editions: list[dict[str, Any]],
    base_url: str,
    reader: Reader,
    partners: PartnerRegistry = EMPTY,
    token: str = "",
) -> str:
    """An Atom 1.0 feed of a newsletter's editions, newest first, each entry listing the titles
    of the items this reader may see."""
    base = base_url.rstrip("/")
    link = f"{base}/newsletters/{newsletter.name}"
    query = f"?t={token}" if token else ""
    read = [ArchivedEdition.read_or_skip(e, "archive feed") for e in editions]
    kept = [e for e in read if e is not None]
    updated = kept[0].sent_at if kept else "1970-01-01T00:00:00+00:00"
    entries = []
    for e in kept:
        items = visible_items(edition_items(e) or [], reader, partners)
        titles = [item.content[choose_language("en", item.languages)].title for item in items]
        summary = "".join(f"<li>{escape(t)}</li>" for t in titles)
        entries.append(
            f"<entry><id>{escape(link)}/{escape(e.id)}</id>"
            f"<title>{escape(newsletter.title_in('en'))} · {escape(e.period_start[:10])}</title>"
            f'<link href="{escape(link)}/{escape(e.id)}{escape(query)}"/>'
            f"<updated>{escape(e.sent_at)}</updated>"
            f'<summary type="html">{escape(f"<ul>{summary}</ul>")}</summary></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(link)}</id><title>{escape(newsletter.title_in('en'))}</title>"
        f'<link rel="self" href="{escape(link)}/feed.atom{escape(query)}"/>'
        f'<link href="{escape(link)}{escape(query)}"/>'
        f"<updated>{escape(updated)}</updated>{''.join(entries)}</feed>"
    )
