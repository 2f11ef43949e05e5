"""Words the console's code shows officers: marked for its catalog, translated when shown. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

Translate = Callable[[str], str]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def N_(text: str) -> str:
    """Marks `text` for the console catalog; it is translated where a page shows it."""
    return text


@dataclass(frozen=True, slots=True)
class Said:
    """A message for an officer and its values: English (`str`) until a page says it in the
    reader's language (`in_language`). The message is a catalog id with %(name)s places."""

    message: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % dict(self.values) if self.values else self.message

    def in_language(self, gettext: Translate) -> str:
        if not self.values:
            return gettext(self.message)
        # A state or role named in a message is a word of the catalog too.
        values = {
            name: gettext(str(value.value)) if isinstance(value, Enum) else value
            for name, value in self.values.items()
        }
        return gettext(self.message) % values


@lru_cache(maxsize=256)
def _pattern(message: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(message)
    # split alternates text and placeholder names: text, name, text, name, ..., text
    regex = "".join(
        re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)" for n, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


def recognised(text: str, messages: Iterable[str]) -> Said | None:
    """The message among `messages` (with its values) that `text` was made from, if any: how a
    text kept in English on a topic is said again in another language."""
    for message in messages:
        found = _pattern(message).fullmatch(text)
        if found:
            return Said(message, found.groupdict())
    return None


def speaker(gettext: Translate, known: Iterable[str]) -> Callable[[object], str]:
    """What pages call as `said(…)`: a Said in the reader's language, a text made from one of
    the `known` messages likewise, any other text (a person's comment) as it is."""
    messages = tuple(sorted(set(known), key=len, reverse=True))  # the most specific first

    def said(value: object) -> str:
        if isinstance(value, Said):
            return value.in_language(gettext)
        text = str(value.value) if isinstance(value, Enum) else str(value)
        found = recognised(text, messages)
        return found.in_language(gettext) if found is not None else text

    return said
