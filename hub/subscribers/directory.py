"""Read access to the subscriber table: parsed once per change, indexed by email and chat."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from hub.model.subscribers import InvalidSubscriberError, Subscriber, subscriber_from_dict

log = logging.getLogger(__name__)


def email_key(email: str) -> str:
    return email.strip().lower()


class Directory:
    """Subscribers as values over a mapping of id -> JSON record (a GlobalTable at run time).

    The indexes by email and by Telegram chat are built by one scan the first time they are
    needed (and again after each recovery of the table), then kept current by `note()`, which
    the worker calls for every record it writes and every change it reads from the table's
    changelog. A lookup checks the record it finds, so an index entry that went stale is
    dropped instead of trusted; a request never scans.
    """

    def __init__(self, records: Mapping[str, Any]) -> None:
        self.records = records
        self._parsed: dict[str, tuple[str, Subscriber]] = {}
        self._by_email: dict[str, str] = {}
        self._by_chat: dict[int, str] = {}
        self._ids_email: dict[str, str] = {}
        self._ids_chat: dict[str, int] = {}
        self._indexed = False

    def get(self, subscriber_id: str) -> Subscriber | None:
        raw = self.records.get(subscriber_id)
        return self._parse(subscriber_id, raw) if raw else None

    def __iter__(self) -> Iterator[Subscriber]:
        for subscriber_id, raw in list(self.records.items()):
            if raw:
                parsed = self._parse(subscriber_id, raw)
                if parsed is not None:
                    yield parsed

    def current(self) -> list[Subscriber]:
        return list(self)

    def note(self, subscriber_id: str, raw: Mapping[str, Any] | None) -> None:
        """Keep the indexes current with one record (None: erased)."""
        old_email = self._ids_email.pop(subscriber_id, None)
        if old_email is not None and self._by_email.get(old_email) == subscriber_id:
            del self._by_email[old_email]
        old_chat = self._ids_chat.pop(subscriber_id, None)
        if old_chat is not None and self._by_chat.get(old_chat) == subscriber_id:
            del self._by_chat[old_chat]
        if not raw:
            return
        email = raw.get("email")
        if isinstance(email, str) and email:
            self._by_email[email_key(email)] = subscriber_id
            self._ids_email[subscriber_id] = email_key(email)
        chat = raw.get("telegram_chat_id")
        if isinstance(chat, int) and not isinstance(chat, bool):
            self._by_chat[chat] = subscriber_id
            self._ids_chat[subscriber_id] = chat

    def reindex(self) -> None:
        """Scan again at the next lookup (after a recovery: the table may hold records that
        were in the local store before the worker started, and no changelog event names them)."""
        self._indexed = False

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
        if self._indexed:
            return
        self._indexed = True
        for subscriber_id, raw in list(self.records.items()):
            if subscriber_id not in self._ids_email and subscriber_id not in self._ids_chat:
                self.note(subscriber_id, raw)

    def _parse(self, subscriber_id: str, raw: dict[str, Any]) -> Subscriber | None:
        # Every write stamps updated_at (see selfservice.command), so it tells versions apart.
        stamp = str(raw.get("updated_at", ""))
        cached = self._parsed.get(subscriber_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            subscriber = subscriber_from_dict(raw)
        except (InvalidSubscriberError, KeyError, TypeError, ValueError) as exc:
            log.error("subscriber %s unreadable, left out: %s", subscriber_id, exc)
            return None
        self._parsed[subscriber_id] = (stamp, subscriber)
        return subscriber
