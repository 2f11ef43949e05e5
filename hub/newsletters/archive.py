"""What is kept of a sent edition, and the archive pages and Atom feed each reader may see. Pure.

An edition keeps its items (the event documents), not a finished page: every page and feed is
rendered for its reader with only the items `audience.may_see` lets that reader see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from hub.i18n.formatting import format_date
from hub.i18n.languages import DEFAULT_LANGUAGES, Languages
from hub.model.events import Event
from hub.model.newsletters import ArchivedEdition
from hub.newsletters.config import Newsletter
from hub.newsletters.editions import EditionPlan, render_edition, visible_items
from hub.partners.registry import EMPTY, PartnerRegistry
from hub.planning.audience import Reader
from hub.rendering.environment import Renderer

# Who publishes the newsletters: the feed's author (RFC 4287 wants one at feed level when its
# entries name none), as the editions' footer names it.
AUTHOR = "Department of International Cooperation and Partnerships"
ATOM = "http://www.w3.org/2005/Atom"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


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


def offered_languages(newsletter: Newsletter, languages: Languages) -> list[str]:
    """The newsletter's languages this hub speaks, in the newsletter's order."""
    return [t for t in newsletter.languages if languages.speaks(t)] or [languages.default]


def edition_language(newsletter: Newsletter, language: str, languages: Languages) -> str:
    """The language an edition is shown in to a reader of `language`."""
    return languages.choose(language, offered_languages(newsletter, languages))


def title_in(newsletter: Newsletter, language: str, languages: Languages) -> tuple[str, str]:
    """The newsletter's title for a reader of `language`, and the language it is written in."""
    if not newsletter.title:
        return newsletter.name, languages.default
    written = languages.choose(language, newsletter.title.keys())
    return newsletter.title[written], written


@dataclass(frozen=True, slots=True)
class EditionView:
    """An edition as one reader sees it: its page, and the language it is in."""

    html: str
    language: str
    period_start: str


def edition_view(
    renderer: Renderer,
    newsletter: Newsletter,
    record: dict[str, Any],
    language: str,
    reader: Reader,
    partners: PartnerRegistry = EMPTY,
) -> EditionView | None:
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
        if not pages:
            return None
        kept = renderer.languages.choose(language, pages.keys())
        return EditionView(pages[kept], kept, edition.period_start)
    language = edition_language(newsletter, language, renderer.languages)
    shown = visible_items(items, reader, partners)
    period_start = datetime.fromisoformat(edition.period_start)
    intro = edition.intro or {}
    rendered = render_edition(
        renderer, newsletter, period_start, shown, intro, language, archive=True
    )
    return EditionView(rendered.html, language, edition.period_start)


def edition_page(
    renderer: Renderer,
    newsletter: Newsletter,
    record: dict[str, Any],
    language: str,
    reader: Reader,
    partners: PartnerRegistry = EMPTY,
) -> str | None:
    """The edition's page as this reader may see it (`edition_view`'s html)."""
    view = edition_view(renderer, newsletter, record, language, reader, partners)
    return view.html if view is not None else None


def edition_body(html: str) -> str:
    """What is inside an edition page's <body>, to show within an archive page (older editions
    kept only a fragment: that, as it is)."""
    found = BODY.search(html)
    return found.group(1).strip() if found else html


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One edition in a newsletter's index: its dates and the titles this reader may see, each
    in the language chosen for them."""

    id: str
    period_start: str
    sent_at: str
    titles: list[tuple[str, str]]  # (title, its language)


def index_entries(
    editions: list[dict[str, Any]],
    reader: Reader,
    partners: PartnerRegistry = EMPTY,
    *,
    language: str = "en",
    languages: Languages = DEFAULT_LANGUAGES,
) -> list[IndexEntry]:
    """The editions that read, in the order given (newest first), for a reader of `language`."""
    read = [ArchivedEdition.read_or_skip(e, "archive index") for e in editions]
    entries = []
    for edition in (e for e in read if e is not None):
        items = visible_items(edition_items(edition) or [], reader, partners)
        titles = []
        for item in items:
            written = languages.choose(language, item.languages)
            titles.append((item.content[written].title, written))
        entries.append(IndexEntry(edition.id, edition.period_start, edition.sent_at, titles))
    return entries


def moment(value: str) -> datetime:
    """A stored time as an aware datetime: one without an offset is UTC, one that does not
    read is the epoch (the feed stays valid)."""
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return EPOCH
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def rfc3339(value: datetime) -> str:
    """An Atom date (RFC 3339, with its offset)."""
    return value.isoformat().replace("+00:00", "Z")


def atom_feed(
    newsletter: Newsletter,
    editions: list[dict[str, Any]],
    base_url: str,
    reader: Reader,
    partners: PartnerRegistry = EMPTY,
    token: str = "",
    *,
    language: str = "en",
    languages: Languages = DEFAULT_LANGUAGES,
    author: str = AUTHOR,
) -> str:
    """An Atom 1.0 feed (RFC 4287) of a newsletter's editions, newest first, for a reader of
    `language`: each entry lists the titles of the items this reader may see, in it."""
    base = f"{base_url.rstrip('/')}/newsletters/{newsletter.name}"
    query = {"lang": language, **({"t": token} if token else {})}
    kept = index_entries(editions, reader, partners, language=language, languages=languages)
    title, _written = title_in(newsletter, language, languages)
    updated = rfc3339(max((moment(entry.sent_at) for entry in kept), default=EPOCH))
    entries = [_atom_entry(base, entry, title, language, query) for entry in kept]
    feed_url = f"{base}/feed.atom?{urlencode(query)}"
    index_url = f"{base}?{urlencode(query)}"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<feed xmlns={quoteattr(ATOM)} xml:lang={quoteattr(language)}>"
        f"<id>{escape(base)}</id><title>{escape(title)}</title>"
        f"<author><name>{escape(author)}</name></author>"
        f'<link rel="self" type="application/atom+xml" href={quoteattr(feed_url)}/>'
        f'<link rel="alternate" type="text/html" href={quoteattr(index_url)}/>'
        f"<updated>{escape(updated)}</updated>{''.join(entries)}</feed>"
    )


def _atom_entry(
    base: str, entry: IndexEntry, title: str, language: str, query: dict[str, str]
) -> str:
    summary = "".join(f"<li>{escape(text)}</li>" for text, _written in entry.titles)
    heading = f"{title} · {format_date(entry.period_start, language)}"
    page = f"{base}/{entry.id}?{urlencode(query)}"
    return (
        f"<entry><id>{escape(base)}/{escape(entry.id)}</id>"
        f"<title>{escape(heading)}</title>"
        f'<link rel="alternate" type="text/html" href={quoteattr(page)}/>'
        f"<updated>{escape(rfc3339(moment(entry.sent_at)))}</updated>"
        f'<summary type="html">{escape(f"<ul>{summary}</ul>")}</summary></entry>'
    )
