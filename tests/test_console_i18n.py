"""Every word of the console, its pages' and its code's, is in its catalog in fr, es and ar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest
from jinja2.ext import _make_new_gettext, _make_new_ngettext

from devstack.catalogs import extract
from hub.access import accounts
from hub.console import submissions as flow
from hub.console.submissions import RECORDED, HistoryEntry, State, Submission
from hub.console.words import Said, recognised, speaker
from hub.rendering.environment import Rendered, Renderer
from hub.settings import REPO_ROOT
from hub.web.console import views
from hub.web.console.access import WRONG
from hub.web.console.compose import SAVED
from hub.web.console.frame import ROLE_NAMES

TEMPLATES = REPO_ROOT / "templates"
PAGES = sorted(
    p.name for p in (TEMPLATES / "_console").glob("*.html.j2") if p.name != "layout.html.j2"
)
TRANSLATED = ("fr", "es", "ar")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Lenient(jinja2.ChainableUndefined):
    """Whatever a sample context lacks: empty, false, callable, so every page renders."""

    def __call__(self, *args: Any, **kwargs: Any) -> Lenient:  # type: ignore[override]
        return self


@cache
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


@cache
def console_ids() -> frozenset[str]:
    return frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in extract("console") if m.id)


def sample_submission() -> Submission:
    reasons = flow.approval_reasons({"classification": "public"}, 800, 500)
    entry = HistoryEntry(at=NOW.isoformat(), by="otto.officer", action="approved", comment="ok")
    return Submission(
        id="00000000-0000-4000-8000-000000000000",
        event_type="announcement.published",
        author="olga.officer",
        author_name="Olga",
        state=State.AWAITING_APPROVAL,
        document={"content": {"en": {"title": "A new office"}}},
        created_at=NOW.isoformat(),
        updated_at=NOW.isoformat(),
        approval_reasons=tuple(reasons),
        history=(entry,),
    )


@cache
def sample() -> dict[str, Any]:
    """What the routes give the pages, enough to show most of each page's words."""
    submission = sample_submission()
    account = accounts.create(
        "olga.officer",
        display_name="Olga",
        email="olga@example.org",
        roles=["officer", "editor", "publisher"],
        language="ar",
        password="a long enough password",
        by="test",
        now=NOW,
        existing=None,
    )
    return {
        "account": account,
        "session": SimpleNamespace(account=account),
        "csrf": "token",
        "csrf_field": "csrf_token",
        "officer": True,
        "composer": True,
        "editor": True,
        "single_sign_on": None,
        "back_to": "/console/events",
        "error": WRONG,
        "notice": SAVED,
        "needed": "editor",
        "submission": submission,
        "title": "A new office",
        "shown": [submission],
        "waiting": [submission],
        "decided": [(submission, submission.history[-1])],
        "states": [state.value for state in State],
        "title_of": views.title,
        "may_edit": True,
        "may_change": True,
        "publish_at": "2026-12-01 09:00 (UTC)",
        "embargo": "2026-12-01",
        "prebrief": ["Olga"],
        "previews": [("email-html", "ar")],
        "preview_language": "ar",
        "channel": "email-text",
        "rendered": Rendered("Subject", "Text", "<p>Html</p>"),
        "content_languages": ("en", "fr", "es", "ar"),
        "gaps": SimpleNamespace(
            missing=("es", "ar"),
            fallbacks=(SimpleNamespace(language="es", recipients=2, reads="en"),),
        ),
        "dry": {
            "recipients": 3,
            "deliveries": 5,
            "by_channel": {"email": 5},
            "by_language": {"en": 5},
            "by_kind": {"public": 3},
            "classification": "public",
            "names": ["Ana"],
        },
        "test_result": {"to": "olga@example.org", "language": "en"},
        "items": [],
        "letters": [],
        "found": [],
        "q": "",
        "erased": True,
        "sent": True,
        "redriven": "2",
    }


def render(page: str, language: str) -> tuple[str, list[str]]:
    """The page in `language`, and every string it had translated, in order."""
    r = renderer()
    translations = r.catalogs.translations(language)
    asked: list[str] = []

    def gettext(message: str) -> str:
        asked.append(message)
        return translations.gettext(message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        asked.append(singular)
        return translations.ngettext(singular, plural, n)

    recording = _make_new_gettext(gettext)
    context = {
        **r.locale_context(language),
        "gettext": recording,
        "_": recording,
        "ngettext": _make_new_ngettext(ngettext),
        "said": speaker(gettext, (*RECORDED, *ROLE_NAMES)),
        "language": language,
        **sample(),
    }
    lenient = r.environment.overlay(undefined=Lenient)
    return lenient.get_template(f"_console/{page}").render(context), asked


def test_the_catalog_has_the_pages_words_and_the_codes() -> None:
    ids = console_ids()
    assert {"Sign in", "Officer console", "Needs approval by a second officer:"} <= ids
    # Marked in the code with N_: states, actions, roles, reasons, refusals, notices.
    assert set(RECORDED) <= ids and set(ROLE_NAMES) <= ids
    assert {WRONG.message, SAVED.message, "only an officer can approve an event"} <= ids


def test_no_console_string_is_untranslated_in_any_language() -> None:
    missing = list(renderer().catalogs.untranslated({"console": set(console_ids())}))
    assert not missing, f"untranslated: {missing}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language", TRANSLATED)
def test_each_page_says_every_word_in_the_readers_language(page: str, language: str) -> None:
    html, asked = render(page, language)
    assert asked, f"{page} translated nothing"
    unknown = sorted(set(asked) - console_ids())
    assert not unknown, f"{page} asks for words the catalog has not: {unknown}"
    missing = list(renderer().catalogs.untranslated({"console": set(asked)}))
    assert not missing, f"{page}: untranslated {missing}"
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html


def test_an_arabic_page_is_right_to_left_with_arabic_words() -> None:
    html, _asked = render("event.html.j2", "ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert "بانتظار الموافقة" in html  # the state
    assert "يُرسل إلى الشركاء" in html  # an approval reason kept in English on the topic
    assert "Officer console" not in html and "Approve" not in html


def test_a_text_kept_in_english_is_said_again_with_its_values() -> None:
    kept = flow.approval_reasons({"classification": "staff"}, 800, 500)
    assert kept == ["it goes to all staff", "its audience (800) is over 500 people"]
    arabic = renderer().catalogs.gettext("ar")
    said: Callable[[object], str] = speaker(arabic, RECORDED)
    assert said(kept[1]) == "جمهوره (800) يتجاوز الحد المقرر وهو 500"
    assert said("a comment of an officer") == "a comment of an officer"  # not a catalog's
    assert recognised("its audience (800) is over 500 people", RECORDED) == Said(
        flow.OVER_THRESHOLD, {"size": "800", "threshold": "500"}
    )


def test_a_refusal_names_the_state_in_the_readers_language() -> None:
    with pytest.raises(flow.RefusedChange) as refused:
        flow.cancel(
            sample_submission()._next(State.PUBLISHED, "x", "published", NOW),
            "olga.officer",
            frozenset(),
            NOW,
        )
    assert str(refused.value) == "an event that is published cannot be cancelled"
    french = refused.value.said.in_language(renderer().catalogs.gettext("fr"))
    assert french == "un événement à l'état « publié » ne peut pas être annulé"
