"""What is kept of a sent edition, for the archive pages and the Atom feed. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from hub.newsletter.config import Newsletter
from hub.newsletter.editions import EditionPlan


def archive_record(
    newsletter: Newsletter, edition_id: str, at: datetime, plan: EditionPlan, sent_at: datetime
) -> dict[str, Any]:
    return {
        "id": edition_id,
        "newsletter": newsletter.name,
        "period_start": newsletter.period_start(at).isoformat(),
        "sent_at": sent_at.isoformat(),
        "recipients": len(plan.deliveries),
        "event_ids": plan.event_ids,
        "html": plan.archive,
    }


def atom_feed(newsletter: Newsletter, editions: list[dict[str, Any]], base_url: str) -> str:
    """An Atom 1.0 feed of a public newsletter's editions, newest first."""
    base = base_url.rstrip("/")
    link = f"{base}/newsletters/{newsletter.name}"
    updated = editions[0]["sent_at"] if editions else "1970-01-01T00:00:00+00:00"
    entries = "".join(
        f"<entry><id>{escape(link)}/{escape(e['id'])}</id>"
        f"<title>{escape(newsletter.title_in('en'))} · {escape(e['period_start'][:10])}</title>"
        f'<link href="{escape(link)}/{escape(e["id"])}"/>'
        f"<updated>{escape(e['sent_at'])}</updated></entry>"
        for e in editions
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(link)}</id><title>{escape(newsletter.title_in('en'))}</title>"
        f'<link rel="self" href="{escape(link)}/feed.atom"/><link href="{escape(link)}"/>'
        f"<updated>{escape(updated)}</updated>{entries}</feed>"
    )
