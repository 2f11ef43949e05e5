"""Languages as data: tags and chains, catalogs complete in every language, every message template
rendered in every language without an English word left, Arabic laid out right to left."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from devstack import catalogs as catalog_tool
from hub.errors import TemplateError
from hub.i18n.catalogs import DOMAINS, CatalogError, Catalogs, po_path
from hub.i18n.formatting import FSI, PDI, format_date, format_number, isolate_if_mixed
from hub.i18n.languages import DEFAULT_LANGUAGES, LanguageError, Languages, direction, normalise
from hub.model.events import Event
from hub.newsletters.config import load_newsletters
from hub.newsletters.editions import render_edition
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, Settings
from hub.subscribers.staff_import import StaffImportError, parse_staff_csv
from tests.helpers import EXAMPLES, load_example, templates_with

TEMPLATES = REPO_ROOT / "templates"
LOCALE = TEMPLATES / "_locale"
RENDERER = Renderer(TEMPLATES)
TRANSLATED = [lang for lang in DEFAULT_LANGUAGES.supported if lang != "en"]
SYSTEM_MESSAGES = {
    "confirm": {"name": "Amina", "confirm_url": "https://hub.example.org/c?t=x"},
    "already": {"name": "Amina"},
    "partner-approved": {"name": "Amina", "comment": "Bienvenue"},
    "partner-declined": {"name": "Amina", "comment": ""},
}
DEMO_NEWSLETTERS = load_newsletters(REPO_ROOT / "devstack" / "demo" / "newsletters.yaml")


def arabic_research() -> Event:
    document = load_example(
        EXAMPLES / "research.released.v1/valid/digital-remittances-west-africa.json"
    )
    document["content"]["ar"] = {
        "title": "التحويلات الرقمية في غرب أفريقيا",
        "summary": "دراسة جديدة عن التحويلات المالية عبر الهاتف المحمول.",
        "body": "تُظهر **الدراسة** أن التحويلات الرقمية تنمو بسرعة.",
    }
    return Event.from_document(document)


def english_words(language: str, domain: str) -> set[str]:
    """The English messages of a domain whose `language` translation reads differently: none of
    them may appear in a message rendered in that language."""
    with po_path(LOCALE, language, domain).open("rb") as handle:
        catalog = read_po(handle)
    words = set()
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or "%(" in message.id:
            continue
        if len(message.id) > 6 and message.string and message.string != message.id:
            words.add(message.id)
    return words


# --- tags and chains ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "tag"),
    [("fr", "fr"), ("FR_tn", "fr-TN"), ("ar-tn", "ar-TN"), ("sr-latn-rs", "sr-Latn-RS")],
)
def test_tags_are_normalised(raw: str, tag: str) -> None:
    assert normalise(raw) == tag


@pytest.mark.parametrize("raw", ["", "french", "f", "fr-", "fr TN", "12", "fr-TN-x-y"])
def test_what_is_not_a_tag_is_refused(raw: str) -> None:
    with pytest.raises(LanguageError, match="not a language tag"):
        normalise(raw)


def test_the_organisations_fallbacks_come_before_the_default() -> None:
    spoken = Languages.of(["en", "fr", "es", "ar"], "en", {"ar": ["fr"]})
    assert spoken.chain("ar-TN") == ["ar-TN", "ar", "fr", "en"]
    assert spoken.chain("fr-TN") == ["fr-TN", "fr", "en"]
    assert spoken.choose("ar-TN", {"en", "fr"}) == "fr"
    assert spoken.choose("ar-TN", {"en", "fr", "ar"}) == "ar"
    assert DEFAULT_LANGUAGES.choose("ar-TN", {"en", "fr"}) == "en"


def test_a_language_the_hub_does_not_speak_is_refused_by_name() -> None:
    assert DEFAULT_LANGUAGES.check("fr_tn") == "fr-TN"
    with pytest.raises(LanguageError) as refused:
        DEFAULT_LANGUAGES.check("de")
    assert "'de'" in str(refused.value) and "en, fr, es, ar" in str(refused.value)


def test_wrong_language_settings_are_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_LANGUAGES__FALLBACKS", '{"ar": ["de"]}')
    with pytest.raises(ValueError, match="de is not supported"):
        Settings()
    monkeypatch.setenv("HUB_LANGUAGES__FALLBACKS", '{"ar": ["fr"]}')
    monkeypatch.setenv("HUB_LANGUAGES__SUPPORTED", '["en", "fr", "ar"]')
    assert Settings().spoken().chain("ar-MA") == ["ar-MA", "ar", "fr", "en"]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,ar;q=0.5,en;q=0.4", "ar"),
        ("en;q=0.1, es;q=0.9", "es"),
        ("ar-TN", "ar"),
        ("de, pt", None),
        ("", None),
        ("fr;q=0", None),
    ],
)
def test_accept_language_picks_the_best_spoken(header: str, language: str | None) -> None:
    assert DEFAULT_LANGUAGES.negotiate(header) == language


def test_direction_follows_the_language_or_its_script() -> None:
    assert [direction(t) for t in ("ar", "ar-TN", "fa", "he", "fr", "en")] == [
        "rtl", "rtl", "rtl", "rtl", "ltr", "ltr",
    ]  # fmt: skip
    assert direction("az-Arab") == "rtl" and direction("ku-Latn") == "ltr"


# --- formats ---------------------------------------------------------------------------------


def test_dates_and_numbers_follow_the_locale_with_latin_digits() -> None:
    day = date(2026, 11, 30)
    assert format_date(day, "en") == "November 30, 2026"
    assert format_date(day, "fr") == "30 novembre 2026"
    assert format_date(day, "es") == "30 de noviembre de 2026"
    assert format_date("2026-11-30", "ar") == "30 نوفمبر 2026"
    assert format_date("2026-11-30T08:00:00Z", "fr-TN") == "30 novembre 2026"
    assert format_number(12345, "fr").replace("\u202f", " ") == "12 345"
    assert format_number(12345, "es") == "12.345"
    assert format_number(12345, "ar") == "12,345"


def test_text_of_the_other_direction_is_isolated_and_only_that() -> None:
    assert isolate_if_mixed("María Fernández", "ar") == f"{FSI}María Fernández{PDI}"
    assert isolate_if_mixed("إدارة التعاون", "ar") == "إدارة التعاون"
    assert isolate_if_mixed("إدارة التعاون", "fr") == f"{FSI}إدارة التعاون{PDI}"
    assert isolate_if_mixed("2026", "ar") == "2026"  # digits are weak: no marks needed


# --- catalogs ---------------------------------------------------------------------------------


def test_every_string_has_its_translation_in_every_supported_language() -> None:
    """The check of `make test`: a new string in a template or in the code, or a new language,
    fails here until each catalog has it (run `make catalogs`, then translate)."""
    missing = [
        f"{language}/{domain}: {message!r}"
        for language, domain, message in catalog_tool.untranslated()
    ]
    assert not missing, "untranslated:\n" + "\n".join(missing[:40])
    assert set(catalog_tool.languages()) >= set(TRANSLATED)
    for domain in DOMAINS:
        assert catalog_tool.extract(domain), f"the {domain} catalog extracts no message"


def test_a_supported_language_without_catalogs_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="make catalogs"):
        Catalogs(tmp_path, Languages.of(["en", "pt"]))


def test_a_reader_gets_their_words_then_the_fallbacks() -> None:
    spoken = Languages.of(["en", "fr", "es", "ar"], "en", {"ar": ["fr"]})
    words = Catalogs(LOCALE, spoken)
    assert words.gettext("fr-TN")("Unsubscribe") == "Se désabonner"
    assert words.gettext("ar-TN")("Unsubscribe") == "إلغاء الاشتراك"
    assert words.gettext("pt-BR")("Unsubscribe") == "Unsubscribe"


# --- every template in every language ------------------------------------------------------------


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES.supported)
def test_every_event_template_renders_in_every_language_with_no_english_left(language: str) -> None:
    leftovers = english_words(language, "messages") if language != "en" else set()
    for path in sorted(EXAMPLES.glob("*/valid/*.json")):
        document = load_example(path)
        base = next(iter(document["content"].values()))
        document["content"] = {language: base}  # the fixed words are what is checked here
        news = Event.from_document(document)
        for channel in ("email", "telegram"):
            rendered = RENDERER.render(news, channel, language)
            for part in (rendered.subject, rendered.text, rendered.html):
                found = [word for word in leftovers if word in part]
                assert not found, f"{path.name} {channel} {language}: English {found}"


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES.supported)
@pytest.mark.parametrize("name", sorted(SYSTEM_MESSAGES))
def test_every_system_message_renders_in_every_language(name: str, language: str) -> None:
    rendered = RENDERER.render_system(name, language, SYSTEM_MESSAGES[name])
    leftovers = english_words(language, "messages") if language != "en" else set()
    for part in (rendered.subject, rendered.text, rendered.html):
        assert part.strip()
        assert not [word for word in leftovers if word in part], (name, language)
    assert f'lang="{language}"' in rendered.html
    assert f'dir="{direction(language)}"' in rendered.html


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES.supported)
def test_every_newsletter_edition_renders_in_every_language(language: str) -> None:
    newsletter = DEMO_NEWSLETTERS["staff-weekly"]
    items = [
        arabic_research(),
        Event.from_document(
            load_example(EXAMPLES / "announcement.published.v1/valid/partnership-west-africa.json")
        ),
    ]
    rendered = render_edition(
        RENDERER, newsletter, datetime(2026, 11, 30, tzinfo=UTC), items, {}, language
    )
    leftovers = english_words(language, "messages") if language != "en" else set()
    for part in (rendered.subject, rendered.text, rendered.html):
        assert not [word for word in leftovers if word in part], language
    assert "2026-11-30" not in rendered.subject + rendered.text + rendered.html
    assert "&amp;archive=staff-weekly" in rendered.html and "&archive=staff-weekly" in rendered.text


def test_a_template_a_language_lacks_is_a_clear_error() -> None:
    with pytest.raises(TemplateError, match="no template"):
        RENDERER.render_system("no-such-message", "ar", {})


# --- right to left ---------------------------------------------------------------------------


def test_an_arabic_email_is_right_to_left_throughout() -> None:
    rendered = RENDERER.render(arabic_research(), "email", "ar")
    html = rendered.html
    assert '<html lang="ar" dir="rtl">' in html
    assert re.search(r'<body dir="rtl" lang="ar"', html)
    assert html.count('role="presentation" dir="rtl" lang="ar"') == 2  # both wrapper tables
    assert "text-align:left" not in html and 'align="left"' not in html
    assert "إلغاء الاشتراك" in html and "27 فبراير 2025" in html
    assert "<bdi>التحويلات الرقمية في غرب أفريقيا</bdi>" in html
    # a Latin name inside an Arabic line of the plain text is isolated
    assert f"{FSI}María Fernández{PDI}" in rendered.text
    assert rendered.subject == "التحويلات الرقمية في غرب أفريقيا"


def test_an_arabic_edition_shows_an_english_fallback_item_left_to_right() -> None:
    english_only = Event.from_document(
        load_example(EXAMPLES / "announcement.published.v1/valid/partnership-west-africa.json")
    )
    for other in ("fr", "es", "ar"):
        english_only.content.pop(other, None)
    newsletter = DEMO_NEWSLETTERS["staff-weekly"]
    rendered = render_edition(
        RENDERER,
        newsletter,
        datetime(2026, 11, 30, tzinfo=UTC),
        [arabic_research(), english_only],
        {},
        "ar",
    )
    assert '<html lang="ar" dir="rtl">' in rendered.html
    assert '<div lang="ar" dir="rtl"' in rendered.html
    assert '<div lang="en" dir="ltr"' in rendered.html
    english_title = english_only.content["en"].title
    assert f"{FSI}{english_title}{PDI}" in rendered.text
    assert "30 نوفمبر 2026" in rendered.html


def test_a_staff_row_in_a_language_the_hub_does_not_speak_is_refused() -> None:
    header = "staff_id,name,email,language,department,office,country,region\n"
    good = "s1,Amina,amina@example.org,ar-TN,partnerships,tunis,TN,north-africa\n"
    assert (
        parse_staff_csv((header + good).encode(), now="2026-11-30T00:00:00Z")[0].language == "ar-TN"
    )
    with pytest.raises(StaffImportError) as refused:
        parse_staff_csv((header + good.replace("ar-TN", "de")).encode(), now="2026-11-30T00:00:00Z")
    assert "'de'" in str(refused.value) and "en, fr, es, ar" in str(refused.value)


def test_a_language_copy_of_a_template_serves_only_its_readers(tmp_path: Path) -> None:
    """An English copy for one type changes English readers' emails; a French reader keeps the
    shared template in French, and an `fr-TN` reader a `fr` copy when there is one."""
    templates = templates_with(tmp_path, "research.released/email/en/subject.txt.j2", "EN COPY")
    (templates / "research.released/email/fr").mkdir()
    (templates / "research.released/email/fr/subject.txt.j2").write_text("FR COPY")
    renderer = Renderer(templates)
    name = renderer.template_name
    assert name("research.released", "email", "en", "subject.txt").endswith("/en/subject.txt.j2")
    assert name("research.released", "email", "fr-TN", "subject.txt").endswith("/fr/subject.txt.j2")
    assert (
        name("research.released", "email", "es", "subject.txt") == "_default/email/subject.txt.j2"
    )
    assert name("announcement.published", "email", "ar", "body.html") == (
        "_default/email/body.html.j2"
    )
