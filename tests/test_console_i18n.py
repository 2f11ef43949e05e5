"""Every string the console's templates translate has its French and Spanish."""

from __future__ import annotations

import re

from hub.settings import REPO_ROOT
from hub.web.console.i18n import FR_ES, translator

TEMPLATES = REPO_ROOT / "templates" / "_console"
CALL = re.compile(r"""_\(\s*(["'])(.+?)\1\s*\)""")
# Shown through _() by value rather than as a literal: states, labels of the content parts,
# history actions and the sign-in page's errors.
BY_VALUE = (
    "draft",
    "awaiting-approval",
    "declined",
    "scheduled",
    "published",
    "cancelled",
    "approved",
    "refused",
    "Title",
    "Summary",
    "Body (Markdown)",
    "Links (one per line: Title | https://…)",
    "Wrong name or password, or the account is disabled.",
    "Too many attempts. Wait a minute.",
    "Draft saved.",
    "Your organisation's sign-in did not let you in. Try again, or use your password.",
    "You are signed in with your organisation, but have no console account here.",
    "Type the person's email address (or id) to confirm the erasure.",
    "This page needs the editor role.",
    "it goes to partners",
    "it goes to all staff",
)


def used() -> set[str]:
    found = set(BY_VALUE)
    for template in TEMPLATES.glob("*.j2"):
        found |= {m.group(2) for m in CALL.finditer(template.read_text(encoding="utf-8"))}
    return found


def test_every_console_string_has_french_and_spanish() -> None:
    strings = used()
    assert len(strings) > 40  # the scan finds the templates' strings
    missing = sorted(s for s in strings if s not in FR_ES)
    assert not missing, f"no translation for: {missing}"
    for language in ("fr", "es"):
        say = translator(language)
        assert all(say(s).strip() for s in strings)


def test_english_is_the_text_itself_and_an_unknown_language_falls_back_to_it() -> None:
    assert translator("en")("Sign in") == "Sign in"
    assert translator("ar")("Sign in") == "Sign in"
    assert translator("fr")("Sign in") == "Se connecter"
