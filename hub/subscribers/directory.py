"""Read access to the subscriber table: parsed once per change, indexed by email, chat and facet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from hub.model.events import Event
from hub.model.subscribers import InvalidSubscriberError, Subscriber, subscriber_from_dict
from hub.partners.registry import EMPTY, PartnerRegistry
from hub.subscribers.facets import FacetIndex

log = logging.getLogger(__name__)

BUILD_SLICE = 1000  # records indexed between two yields to the event loop


def email_key(email: str) -> str:
    return email.strip().lower()


class Directory:
    """Subscribers as values over a mapping of id -> JSON record (a GlobalTable at run time).

    Every readable record is held parsed, in a compact form (values many people share are
    stored once), with indexes by email, by Telegram chat and by facet (`FacetIndex`). They are
    built by one pass over the table the first time they are needed and again after each
    recovery (`build` does it in slices that yield to the event loop), then kept current by
    `note()`, which the worker calls for every record it writes and every change it reads from
    the table's changelog. A lookup checks the record it finds, so an index entry that went
    stale is dropped instead of trusted; a request never scans, and neither does planning.
    """

    def __init__(self, records: Mapping[str, Any]) -> None:
        self.records = records
        self._parsed: dict[str, tuple[str, Subscriber]] = {}
        self._by_email: dict[str, str] = {}
        self._by_chat: dict[int, str] = {}
        self._ids_email: dict[str, str] = {}
        self._ids_chat: dict[str, int] = {}
        self._facets = FacetIndex()
        self._shared: dict[Any, Any] = {}
        self._pending: Iterator[str] | None = None  # ids still to read in the current build
        self._seen: set[str] = set()  # ids the current build read, or note() was told of
        self._indexed = False

    def get(self, subscriber_id: str) -> Subscriber | None:
        raw = self.records.get(subscriber_id)
        return self._parse(subscriber_id, raw) if raw else None

    def held(self, subscriber_id: str) -> Subscriber | None:
        """`get` without reading the table once the indexes are built: `note()` keeps what they
        hold as current as the table (a sender looks up every recipient of a fan-out)."""
        if not self._indexed:
            return self.get(subscriber_id)
        parsed = self._parsed.get(subscriber_id)
        return parsed[1] if parsed is not None else None

    def __iter__(self) -> Iterator[Subscriber]:
        self._build_once()
        return iter(self._facets)

    def current(self) -> list[Subscriber]:
        return list(self)

    def __len__(self) -> int:
        """Subscribers held parsed (the indexes' size; no build is started for it)."""
        return len(self._parsed)

    def candidates(self, event: Event, partners: PartnerRegistry = EMPTY) -> list[Subscriber]:
        """Everyone who could be in the event's audience, from the indexes; the audience rules
        decide among them (their answer equals the rules run on everyone)."""
        self._build_once()
        return self._facets.candidates(event, partners)

    def note(self, subscriber_id: str, raw: Mapping[str, Any] | None) -> None:
        """Keep the indexes current with one record (None: erased)."""
        self._seen.add(subscriber_id)
        old_email = self._ids_email.pop(subscriber_id, None)
        if old_email is not None and self._by_email.get(old_email) == subscriber_id:
            del self._by_email[old_email]
        old_chat = self._ids_chat.pop(subscriber_id, None)
        if old_chat is not None and self._by_chat.get(old_chat) == subscriber_id:
            del self._by_chat[old_chat]
        parsed = self._parse(subscriber_id, dict(raw)) if raw else None
        if parsed is None:
            self._facets.drop(subscriber_id)
            self._parsed.pop(subscriber_id, None)
            return
        self._facets.put(parsed)
        if parsed.email:
            self._by_email[email_key(parsed.email)] = subscriber_id
            self._ids_email[subscriber_id] = email_key(parsed.email)
        if parsed.telegram_chat_id is not None:
            self._by_chat[parsed.telegram_chat_id] = subscriber_id
            self._ids_chat[subscriber_id] = parsed.telegram_chat_id

    def reindex(self) -> None:
        """Read the whole table again at the next use (after a recovery: the table may hold
        records that were in the local store before the worker started, and no changelog event
        names them)."""
        self._indexed = False
        self._pending = None

    async def build(self, slice_size: int = BUILD_SLICE) -> None:
        """Read the whole table into the indexes, yielding to the event loop between slices."""
        self._start()
        done = False
        while not done:
            done = self._step(slice_size)
            await asyncio.sleep(0)  # a slice done: let requests and other agents run

    def note_changelog(self, key: Any, value: Any) -> None:
        """A change read from the table's changelog (keys and values as Faust decoded them)."""
        subscriber_id = key.decode() if isinstance(key, bytes) else str(key)
        self.note(subscriber_id, value if isinstance(value, Mapping) else None)

    def by_telegram_chat(self, chat_id: int) -> Subscriber | None:
        """The subscriber linked to this chat."""
        self._build_once()
        subscriber_id = self._by_chat.get(chat_id)
        found = self.get(subscriber_id) if subscriber_id else None
        if found is not None and found.telegram_chat_id == chat_id:
            return found
        if subscriber_id is not None:
            self.note(subscriber_id, self.records.get(subscriber_id))
        return None

    def by_email(self, email: str) -> Subscriber | None:
        """The subscriber with this address."""
        self._build_once()
        wanted = email_key(email)
        subscriber_id = self._by_email.get(wanted)
        found = self.get(subscriber_id) if subscriber_id else None
        if found is not None and found.email is not None and email_key(found.email) == wanted:
            return found
        if subscriber_id is not None:  # stale: the record changed or went away
            self.note(subscriber_id, self.records.get(subscriber_id))
        return None

    def _build_once(self) -> None:
        """Finish the build now (a lookup cannot wait for the slices)."""
        if self._indexed:
            return
        self._start()
        self._step(None)

    def _start(self) -> None:
        if self._pending is None and not self._indexed:
            # The ids as they are now: a table changed between two slices is not iterated.
            self._pending = iter(list(self.records.keys()))
            self._seen = set()

    def _step(self, limit: int | None) -> bool:
        """Read up to `limit` more ids; True once the build is complete."""
        if self._pending is None:
            return self._indexed
        for count, subscriber_id in enumerate(self._pending, start=1):
            if subscriber_id not in self._seen:  # note() already has its latest record
                self.note(subscriber_id, self.records.get(subscriber_id))
            if limit is not None and count >= limit:
                return False
        # Whoever is indexed but no longer in the table went while the store was recovering.
        for gone in self._facets.ids() - self._seen:
            self.note(gone, None)
        self._pending, self._indexed = None, True
        return True

    def _parse(self, subscriber_id: str, raw: dict[str, Any]) -> Subscriber | None:
        # Every write stamps updated_at (see selfservice.command), so it tells versions apart.
        stamp = str(raw.get("updated_at", ""))
        cached = self._parsed.get(subscriber_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            subscriber = self._compact(subscriber_from_dict(raw))
        except (InvalidSubscriberError, KeyError, TypeError, ValueError) as exc:
            log.error("subscriber %s unreadable, left out: %s", subscriber_id, exc)
            return None
        self._parsed[subscriber_id] = (stamp, subscriber)
        return subscriber

    def _compact(self, subscriber: Subscriber) -> Subscriber:
        """The same subscriber, with the values many people share held once for all of them."""
        shared = self._shared
        changes = {
            name: shared.setdefault(value, value)
            for name in _SHARED
            if (value := getattr(subscriber, name)) is not None
        }
        return replace(subscriber, **changes)


# Fields whose values repeat across people: languages, places, groups, subscriptions, consents.
_SHARED = (
    "language",
    "organisation",
    "department",
    "region",
    "country",
    "office",
    "groups",
    "subscriptions",
    "consents",
    "updated_at",
)
