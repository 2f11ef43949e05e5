"""Language choice: a recipient's fallback chain against the languages an event has. Pure."""

from __future__ import annotations

from collections.abc import Collection


def fallback_chain(preferred: str, default: str = "en") -> list[str]:
    """`fr-TN` -> [`fr-TN`, `fr`, `en`]: the tag, its primary language, then the default."""
    chain: list[str] = []
    for tag in (preferred, preferred.split("-")[0], default):
        if tag and tag not in chain:
            chain.append(tag)
    return chain


def choose_language(preferred: str, available: Collection[str], default: str = "en") -> str:
    """The first language of the chain the event has; otherwise any, deterministically."""
    if not available:
        raise ValueError("an event has content in at least one language")
    for tag in fallback_chain(preferred, default):
        if tag in available:
            return tag
        # a recipient asking for `fr` reads an event written in `fr-CA`
        for have in sorted(available):
            if have.split("-")[0] == tag:
                return have
    return sorted(available)[0]
