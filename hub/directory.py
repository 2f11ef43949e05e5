"""Read access to the subscriber table: parsed once per change, whatever the table is."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from hub.subscribers import InvalidSubscriberError, Subscriber, subscriber_from_dict

log = logging.getLogger(__name__)


class Directory:
    """Subscribers as values over a mapping of id -> JSON record (a GlobalTable at run time)."""

    def __init__(self, records: Mapping[str, Any]) -> None:
        self.records = records
        self._parsed: dict[str, tuple[str, Subscriber]] = {}

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

    def by_telegram_chat(self, chat_id: int) -> Subscriber | None:
        """The subscriber linked to this chat (a scan: bot commands are rare)."""
        for subscriber in self:
            if subscriber.telegram_chat_id == chat_id:
                return subscriber
        return None

    def by_email(self, email: str) -> Subscriber | None:
        """The subscriber with this address (a scan: subscribe requests are rare)."""
        wanted = email.strip().lower()
        for subscriber in self:
            if subscriber.email is not None and subscriber.email.lower() == wanted:
                return subscriber
        return None

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
