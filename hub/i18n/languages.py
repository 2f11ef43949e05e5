"""Language tags (BCP 47), the supported set and fallback chains, the reader's language. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

# language, optional script, optional region: the subset of BCP 47 a person's language needs.
TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}|[0-9]{3}))?$")
# Scripts written right to left (ISO 15924), and languages whose default script is.
RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg"})
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "ku"})


class LanguageError(ValueError):
    """A tag that is not a language tag, or names a language the hub does not speak."""


def normalise(tag: str) -> str:
    """`FR_tn` -> `fr-TN`, `sr-latn-rs` -> `sr-Latn-RS`; LanguageError if it is no tag."""
    found = TAG.match(tag.strip()) if isinstance(tag, str) else None
    if not found:
        raise LanguageError(f"{tag!r} is not a language tag like fr or fr-TN")
    language, script, region = found.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def primary(tag: str) -> str:
    """`fr-TN` -> `fr`."""
    return tag.split("-")[0].lower()


def truncations(tag: str) -> list[str]:
    """`sr-Latn-RS` -> [`sr-Latn-RS`, `sr-Latn`, `sr`] (RFC 4647 lookup order)."""
    parts = tag.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def direction(tag: str) -> str:
    """`rtl` for a language written right to left (by its script if the tag names one)."""
    parts = tag.split("-")
    scripts = [p for p in parts[1:] if len(p) == 4 and p.isalpha()]
    if scripts:
        return "rtl" if scripts[0].title() in RTL_SCRIPTS else "ltr"
    return "rtl" if parts[0].lower() in RTL_LANGUAGES else "ltr"


@dataclass(frozen=True)
class Languages:
    """What this organisation speaks, and where a reader goes when their language is missing.

    `fallbacks` maps a language to the ones to try after it, before the default: with
    {"ar": ["fr"]}, an `ar-TN` reader gets ar-TN, then ar, then fr, then en.
    """

    supported: tuple[str, ...] = ("en", "fr", "es", "ar")
    default: str = "en"
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if self.default not in self.supported:
            problems.append(f"the default language {self.default!r} is not among the supported")
        for source, targets in self.fallbacks.items():
            for target in targets:
                if primary(target) not in self.supported and target not in self.supported:
                    problems.append(f"fallback {source} -> {target}: {target} is not supported")
        if problems:
            raise LanguageError("; ".join(problems))

    @classmethod
    def of(
        cls,
        supported: Iterable[str],
        default: str = "en",
        fallbacks: Mapping[str, Iterable[str]] | None = None,
    ) -> Languages:
        """From configuration: tags normalised, fallbacks as tuples."""
        return cls(
            supported=tuple(normalise(tag) for tag in supported),
            default=normalise(default),
            fallbacks={
                normalise(k): tuple(normalise(t) for t in v) for k, v in (fallbacks or {}).items()
            },
        )

    def chain(self, tag: str) -> list[str]:
        """Where a reader of `tag` looks, in order: the tag, its shorter forms, the configured
        fallbacks of each, then the default. `ar-TN` -> [ar-TN, ar, fr, en] with ar -> fr."""
        chain: list[str] = []

        def add(candidates: Iterable[str]) -> None:
            for candidate in candidates:
                if candidate not in chain:
                    chain.append(candidate)

        for form in truncations(tag) if tag else []:
            add([form])
        for form in truncations(tag) if tag else []:
            for target in self.fallbacks.get(form, ()):
                add(truncations(target))
        add([self.default])
        return chain

    def speaks(self, tag: str) -> bool:
        """Whether a reader of `tag` is served in their own language (or a form of it)."""
        return any(form in self.supported for form in truncations(tag))

    def check(self, tag: str) -> str:
        """The normalised tag of a language the hub speaks; LanguageError naming the choices."""
        normal = normalise(tag)
        if not self.speaks(normal):
            raise LanguageError(
                f"{tag!r} is not a language this hub speaks ({', '.join(self.supported)})"
            )
        return normal

    def interface(self, tag: str) -> str:
        """The supported language whose words a reader of `tag` reads (pages, fixed strings)."""
        for form in self.chain(tag):
            if form in self.supported:
                return form
        return self.default

    def choose(self, preferred: str, available: Collection[str]) -> str:
        """The first language of the reader's chain the content has; otherwise any, always the
        same one (the default's, then the first in order)."""
        if not available:
            raise ValueError("content exists in at least one language")
        for form in self.chain(preferred):
            if form in available:
                return form
            # a reader of `fr` reads content written in `fr-CA`
            for have in sorted(available):
                if primary(have) == form:
                    return have
        return sorted(available)[0]

    def negotiate(self, accept_language: str | None) -> str | None:
        """The best supported language for an HTTP Accept-Language header (RFC 9110 q-values),
        or None when nothing in it is spoken here."""
        wanted: list[tuple[float, int, str]] = []
        for position, item in enumerate((accept_language or "").split(",")):
            name, _, params = item.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    continue
            try:
                tag = normalise(name)
            except LanguageError:
                continue
            if quality > 0:
                wanted.append((-quality, position, tag))
        for _quality, _position, tag in sorted(wanted):
            if self.speaks(tag):
                return self.interface(tag)
        return None


DEFAULT_LANGUAGES = Languages()
