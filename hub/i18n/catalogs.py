"""Translation catalogs (gettext, via Babel): one per language and part, merged along the chain.

Catalogs live in `<templates>/_locale/<lang>/LC_MESSAGES/<domain>.po`, compiled to `.mo` by
`make catalogs`; a `.po` newer than its `.mo` (or without one) is compiled in memory, so an
edited catalog is never shadowed by a stale build. English is the source language: its text is
the message id, so it needs no catalog.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from hub.i18n.languages import Languages

# The parts of the hub with words of their own, each its own catalog.
DOMAINS = ("messages", "pages", "console", "telegram")
SOURCE_LANGUAGE = "en"
LOCALE_FOLDER = "_locale"


class CatalogError(Exception):
    """A supported language has no catalog, or a catalog cannot be read."""


def po_path(locale_dir: Path, language: str, domain: str) -> Path:
    return locale_dir / language.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language.replace("-", "_"))


def _compiled(po: Path, language: str) -> Translations:
    mo = po.with_suffix(".mo")
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            return Translations(handle, domain=po.stem)
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(po, language))
    buffer.seek(0)
    return Translations(buffer, domain=po.stem)


class Catalogs:
    """Every catalog of every supported language, loaded once; a translator per reader tag."""

    def __init__(self, locale_dir: Path, languages: Languages) -> None:
        self.locale_dir = locale_dir
        self.languages = languages
        self._by_language: dict[str, Translations] = {}
        missing = []
        for language in languages.supported:
            if language == SOURCE_LANGUAGE:
                continue
            merged: Translations | None = None
            for domain in DOMAINS:
                po = po_path(locale_dir, language, domain)
                if not po.is_file():
                    missing.append(str(po))
                    continue
                try:
                    loaded = _compiled(po, language)
                except Exception as exc:  # a broken catalog stops the start, with its name
                    raise CatalogError(f"{po}: {exc}") from exc
                if merged is None:
                    merged = loaded
                else:
                    merged.merge(loaded)
            if merged is not None:
                self._by_language[language] = merged
        if missing:
            raise CatalogError(
                "supported languages without their catalogs: "
                + ", ".join(missing)
                + " (make catalogs creates them to translate)"
            )
        self._chains: dict[str, NullTranslations] = {}

    def translations(self, tag: str) -> NullTranslations:
        """The words for a reader of `tag`: their language, then each fallback, then English."""
        if tag not in self._chains:
            found: NullTranslations | None = None
            for form in self.languages.chain(tag):
                loaded = self._by_language.get(form)
                if loaded is None:
                    continue
                # A copy per chain: add_fallback sets the fallback on the object it is given.
                link = copy.copy(loaded)
                if found is None:
                    found = link
                else:
                    found.add_fallback(link)
            self._chains[tag] = found or NullTranslations()
        return self._chains[tag]

    def gettext(self, tag: str) -> Callable[[str], str]:
        return self.translations(tag).gettext

    def jinja_functions(self, tag: str) -> dict[str, Any]:
        """`gettext`, `ngettext` and `_` for Jinja2's i18n extension (new style: variables by
        name, autoescaped), to pass in a render's context."""
        from jinja2.ext import _make_new_gettext, _make_new_ngettext

        translations = self.translations(tag)
        gettext = _make_new_gettext(translations.gettext)
        return {
            "gettext": gettext,
            "_": gettext,
            "ngettext": _make_new_ngettext(translations.ngettext),
        }

    def untranslated(self, messages: dict[str, set[str]]) -> Iterator[tuple[str, str, str]]:
        """(language, domain, message) for each message of `messages` (ids by domain) that a
        supported language has no translation for, or only a fuzzy one."""
        for language in self.languages.supported:
            if language == SOURCE_LANGUAGE:
                continue
            for domain, ids in messages.items():
                catalog = read_catalog(po_path(self.locale_dir, language, domain), language)
                for message_id in sorted(ids):
                    entry = catalog.get(message_id)
                    strings = (
                        entry.string
                        if entry is not None and isinstance(entry.string, tuple)
                        else (entry.string if entry is not None else "",)
                    )
                    if entry is None or entry.fuzzy or not all(strings):
                        yield language, domain, message_id
