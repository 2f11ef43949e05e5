"""The supported languages an event lacks, and who reads another language because of it. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from hub.i18n.languages import LanguageError, Languages, normalise, primary
from hub.model.events import Event


@dataclass(frozen=True, slots=True)
class Fallback:
    """`recipients` readers of `language`, which the event lacks, will read `reads` instead."""

    language: str
    recipients: int
    reads: str

    def as_dict(self) -> dict[str, Any]:
        return {"language": self.language, "recipients": self.recipients, "reads": self.reads}


@dataclass(frozen=True, slots=True)
class LanguageGaps:
    """What an officer sees before publishing: the languages to add, and who waits for them."""

    missing: tuple[str, ...]
    fallbacks: tuple[Fallback, ...]

    @property
    def total(self) -> int:
        """How many recipients read the event in another language than their own."""
        return sum(f.recipients for f in self.fallbacks)

    @property
    def fallback(self) -> dict[str, int]:
        """How many recipients of each lacking language read another one (those with any)."""
        counts: dict[str, int] = {}
        for f in self.fallbacks:
            if f.recipients:
                counts[f.language] = counts.get(f.language, 0) + f.recipients
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {"missing": list(self.missing), "fallbacks": [f.as_dict() for f in self.fallbacks]}


def reader(languages: Languages, tag: str) -> str:
    """A recipient's tag as the chains read it; what is no tag is read as the default."""
    try:
        return normalise(tag)
    except LanguageError:
        return languages.default


def missing_languages(languages: Languages, available: Collection[str]) -> tuple[str, ...]:
    """The supported languages whose readers would get another language: with `fr-CA` content
    a French reader is served, so French is not missing."""
    return tuple(
        language
        for language in languages.supported
        if primary(languages.choose(language, available)) != primary(language)
    )


def language_gaps(event: Event, languages: Languages, recipients: Iterable[str]) -> LanguageGaps:
    """The supported languages `event` lacks and, for each, how many of `recipients` (one
    language tag per planned recipient) get a fallback and which language they read.

    A lacking language nobody reads is listed with 0 recipients, so the officer still sees
    what its readers would get. Recipients whose language the hub does not speak are counted
    under the language the hub speaks to them (the default, or a configured fallback).
    """
    available = event.languages
    missing = missing_languages(languages, available)
    counts: Counter[tuple[str, str]] = Counter()
    for tag in recipients:
        normal = reader(languages, tag)
        wanted = languages.interface(normal)
        if wanted in missing:
            counts[(wanted, languages.choose(normal, available))] += 1
    fallbacks = [Fallback(wanted, count, read) for (wanted, read), count in counts.items()]
    nobody = [language for language in missing if language not in {f.language for f in fallbacks}]
    fallbacks += [Fallback(lang, 0, languages.choose(lang, available)) for lang in nobody]
    fallbacks.sort(key=lambda f: (missing.index(f.language), f.reads))
    return LanguageGaps(missing, tuple(fallbacks))
