"""Subscribers and what they follow, loaded from a YAML or JSON file (the simple source)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from hub.errors import ConfigurationError


class SubscriberKind(StrEnum):
    STAFF = "staff"
    PARTNER = "partner"
    MEDIA = "media"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Follows:
    """What a subscriber follows; an empty set means 'everything of that dimension'."""

    event_types: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A person or organisation that receives."""

    id: str
    kind: SubscriberKind
    name: str
    language: str
    email: str | None = None
    organisation: str | None = None
    department: str | None = None
    region: str | None = None
    country: str | None = None
    office: str | None = None
    groups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset({"email"})
    follows: Follows = field(default_factory=Follows)

    @property
    def is_staff(self) -> bool:
        return self.kind is SubscriberKind.STAFF


def subscriber_from_dict(raw: dict[str, Any]) -> Subscriber:
    follows = raw.get("follows") or {}
    return Subscriber(
        id=str(raw["id"]),
        kind=SubscriberKind(raw["kind"]),
        name=str(raw["name"]),
        language=str(raw.get("language", "en")),
        email=raw.get("email"),
        organisation=raw.get("organisation"),
        department=raw.get("department"),
        region=raw.get("region"),
        country=raw.get("country"),
        office=raw.get("office"),
        groups=frozenset(raw.get("groups", ())),
        channels=frozenset(raw.get("channels", ("email",))),
        follows=Follows(**{key: frozenset(follows.get(key, ())) for key in Follows.__slots__}),
    )


def load_subscribers(path: Path) -> list[Subscriber]:
    """Read the subscriber file; a broken file is a configuration error naming the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read subscribers from {path}: {exc}") from exc
    entries = data.get("subscribers", []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path}: expected a mapping with a 'subscribers' list")
    subscribers: list[Subscriber] = []
    for index, entry in enumerate(entries):
        try:
            subscribers.append(subscriber_from_dict(entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{path}: subscribers[{index}]: {exc!r}") from exc
    return subscribers


class SubscriberFile:
    """The subscriber file, re-read when it changes on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime_ns: int | None = None
        self._subscribers: list[Subscriber] = []

    def current(self) -> list[Subscriber]:
        mtime_ns = self.path.stat().st_mtime_ns
        if mtime_ns != self._mtime_ns:
            self._subscribers = load_subscribers(self.path)
            self._mtime_ns = mtime_ns
        return self._subscribers
