"""The console's pure helpers: what its pages show, computed from plain values."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from markupsafe import Markup, escape

from hub.access.accounts import Account
from hub.console import submissions as flow
from hub.console.form import Field, content_from_form, document_from_form
from hub.console.submissions import RefusedChange, Submission
from hub.console.words import N_
from hub.errors import InvalidEventError, Problem
from hub.i18n.languages import Languages
from hub.intake.schemas import SchemaCatalog
from hub.services import DirectoryReader

_TELEGRAM_TAG = re.compile(r"&lt;(/?)(b|strong|i|em|u|s|code|pre|blockquote)&gt;")
_TELEGRAM_LINK = re.compile(r"&lt;a href=&#34;(https?://[^&\s]*(?:&amp;[^&\s]*)*)&#34;&gt;")


def telegram_markup(html: str) -> Markup:
    """A Telegram message's HTML as a browser shows it: only Telegram's own tags come back
    from the escaped text (bold, italic, code, links over http(s)), everything else is text."""
    escaped = str(escape(html))
    shown = _TELEGRAM_TAG.sub(r"<\1\2>", escaped)
    shown = _TELEGRAM_LINK.sub(r'<a href="\1" rel="noopener noreferrer">', shown)
    shown = shown.replace("&lt;/a&gt;", "</a>").replace("\n", "<br>")
    return Markup(shown)  # noqa: S704 (escaped above; only known tags restored)


def browser_language(request: Request, languages: Languages) -> str:
    """The language of a page shown before sign-in: the browser's best, else the default."""
    return languages.negotiate(request.headers.get("accept-language")) or languages.default


def local(path: str) -> str:
    """Only a path on this console: never a redirect to another site."""
    return path if re.fullmatch(r"/console(/[A-Za-z0-9._~/?=&%-]*)?", path) else "/console/events"


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _publisher_id(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", name.lower())[:64]


def envelope(
    event_id: str, event_type: str, catalog: SchemaCatalog, account: Account, now: datetime
) -> dict[str, Any]:
    """What the console fills in itself: identity, type, version, time and publisher."""
    return {
        "id": event_id,
        "type": event_type,
        "schema_version": catalog.schema_for(event_type).version,
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publisher": {
            "id": _publisher_id(account.name),
            "name": account.display_name,
            "email": account.email,
        },
    }


def document(
    existing: Submission,
    fields: Sequence[Field],
    form: dict[str, Any],
    languages: Sequence[str],
) -> dict[str, Any]:
    """The draft's document from the form (content in each of `languages`), with what the
    console itself set kept as it was."""
    base: dict[str, Any] = {
        k: existing.document[k]
        for k in ("id", "type", "schema_version", "occurred_at", "publisher")
        if k in existing.document
    }
    typed = strings(form)
    base["content"] = content_from_form(typed, languages)
    return document_from_form(fields, typed, base)


def strings(form: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def problems(catalog: SchemaCatalog, document: dict[str, Any]) -> list[Problem]:
    try:
        catalog.validate(document)
    except InvalidEventError as exc:
        return list(exc.problems)
    return []


def schedule(form: dict[str, Any], default_zone: str) -> tuple[datetime | None, str]:
    """The publication time the form asks for, in the zone it names; None: at once."""
    zone = str(form.get("zone", "") or default_zone).strip()
    tz = flow.check_zone(zone)
    typed = str(form.get("publish_at", "")).strip()
    if not typed:
        return None, zone
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        raise RefusedChange(
            N_("the publication time “%(typed)s” is not a date and time"), typed=typed
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)), zone


def local_time(value: str | None, zone: str) -> str:
    """An RFC 3339 time as the datetime-local value of its zone."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def shown_time(value: str | None, zone: str) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M} ({zone})"


def audit_row(entry: dict[str, Any]) -> dict[str, str]:
    """An audit entry as a row: when, who, what, and the rest of its detail in one line."""
    shown = ("at", "actor", "action", "subject", "v")
    detail = "; ".join(f"{k}: {v}" for k, v in entry.items() if k not in shown and v)
    return {
        "at": str(entry.get("at", ""))[:19].replace("T", " "),
        "actor": str(entry.get("actor", "")),
        "action": str(entry.get("action", "")),
        "detail": detail,
    }


def decision(submission: Submission) -> Any:
    """The last approval, refusal or decline of a submission: what its author is told."""
    for entry in reversed(submission.history):
        if entry.action in ("approved", "declined", "refused"):
            return entry
    return None


def title(submission: Submission) -> str:
    content = submission.document.get("content") or {}
    for language in ("en", *sorted(content)):
        found = (content.get(language) or {}).get("title")
        if found:
            return str(found)
    return submission.id


def groups(fields: Sequence[Field]) -> list[tuple[str, list[Field]]]:
    grouped: dict[str, list[Field]] = {}
    for f in fields:
        grouped.setdefault(f.group, []).append(f)
    return list(grouped.items())


def suggestions(directory: DirectoryReader) -> dict[str, list[str]]:
    """Values the directory holds, offered while typing audience targeting."""
    found: dict[str, set[str]] = {
        "departments": set(),
        "regions": set(),
        "countries": set(),
        "offices": set(),
    }
    for person in directory:
        for key, value in (
            ("departments", person.department),
            ("regions", person.region),
            ("countries", person.country),
            ("offices", person.office),
        ):
            if value:
                found[key].add(value)
    return {k: sorted(v)[:500] for k, v in found.items()}
