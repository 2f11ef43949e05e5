"""Dates and numbers for a reader's locale (Babel, CLDR), and text direction marks. Pure.

Digits: Babel's default, the Latin digits 0-9, in every language. CLDR makes them the default for
Arabic (`ar`) and for the Maghreb (`ar-TN`, `ar-MA`, `ar-DZ`), where the organisation's Arabic
readers are; figures, dates and identifiers officers write in event text are in them too, so a
message never mixes two sets of digits.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal

from hub.i18n.languages import direction, truncations

# Unicode bidi isolates (UAX #9): text of one direction inside a line of the other.
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"


@lru_cache(maxsize=256)
def babel_locale(tag: str) -> Locale:
    """The most specific CLDR locale for a tag (`fr-TN`, else `fr`, else English)."""
    for form in truncations(tag):
        try:
            return Locale.parse(form, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def as_date(value: date | datetime | str) -> date | datetime:
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value


def format_date(value: date | datetime | str, tag: str, form: str = "long") -> str:
    """`2026-11-30` -> `30 novembre 2026` (fr), `November 30, 2026` (en), `30 نوفمبر 2026`."""
    value = as_date(value)
    day = value.date() if isinstance(value, datetime) else value
    return babel_format_date(day, form, locale=babel_locale(tag))


def format_datetime(value: datetime | str, tag: str, form: str = "medium") -> str:
    moment = as_date(value)
    if not isinstance(moment, datetime):
        return format_date(moment, tag)
    return babel_format_datetime(moment, form, locale=babel_locale(tag), tzinfo=moment.tzinfo)


def format_number(value: float | int, tag: str) -> str:
    """`12345` -> `12,345` (en), `12 345` (fr), `12.345` (es)."""
    return format_decimal(value, locale=babel_locale(tag))


def isolate(text: str, tag: str) -> str:
    """Text in `tag`'s direction, isolated for a plain-text line or a subject in which it may
    sit beside text of the other direction: an English title in an Arabic subject, an Arabic
    title in a French list. Plain text has no `dir` attribute; these marks are its own."""
    if not text:
        return text
    mark = RLI if direction(tag) == "rtl" else LRI
    return f"{mark}{text}{PDI}"


def isolate_if_mixed(text: str, around: str) -> str:
    """Bidi isolation only where needed: text with letters written in the other direction than
    the message's (`around`): a Latin name in an Arabic line, an Arabic title in a French one.
    First-strong isolation, so the text takes the direction of its own first letter."""
    other = _LTR if direction(around) == "rtl" else _RTL
    if not text or not any(unicodedata.bidirectional(ch) in other for ch in text):
        return text
    return f"{FSI}{text}{PDI}"


_RTL = frozenset({"R", "AL"})
_LTR = frozenset({"L"})
