"""The self-service pages and the newsletter archive in the reader's language, Arabic right to
left, over in-memory services (no Kafka)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import itsdangerous
import pytest
from pydantic import SecretStr

from hub.access.credentials import CredentialIndex
from hub.delivery.recipients import Recipients
from hub.i18n.languages import Languages
from hub.model.subscribers import (
    InvalidSubscriberError,
    Mode,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
)
from hub.newsletters.archive import atom_feed, edition_body
from hub.newsletters.config import Newsletter, load_newsletters
from hub.planning.audience import ANYONE
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.settings import REPO_ROOT, Settings
from hub.subscribers.selfservice import (
    Preferences,
    change_preferences,
    language_name,
    parse_preferences_form,
    parse_subscribe_form,
)
from hub.subscribers.tokens import LIFETIME, Purpose, Signer
from hub.web.app import create_api
from hub.web.pages import reader_language, switcher
from tests.helpers import PARTNERS, event, subscriber
from tests.test_web_services import (
    FakeDirectory,
    FakeNewsletters,
    FakePartners,
    FakePeople,
    fake_services,
)

KEY = b"a-stable-secret-of-enough-length"
SIGNER = Signer(KEY)
NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
DEMO = load_newsletters(REPO_ROOT / "devstack" / "demo" / "newsletters.yaml")
TOPICS = frozenset({"announcement.published", "research.released"})
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ATOM = {"a": "http://www.w3.org/2005/Atom"}


def now() -> datetime:
    return datetime.now(UTC)


def person(id: str, language: str, **fields: Any) -> Subscriber:
    return subscriber(id, SubscriberKind.PUBLIC, language, name=f"Person {id}", **fields)


def edition_record(name: str, edition_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": edition_id,
        "newsletter": name,
        "period_start": "2026-11-30T09:00:00+01:00",
        "sent_at": "2026-11-30T08:05:00+00:00",
        "recipients": 1,
        "event_ids": [item["id"] for item in items],
        "items": items,
        "intro": {},
    }


@dataclass
class ArchiveStore(FakeNewsletters):
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)

    def editions(self) -> Iterable[dict[str, Any]]:
        return list(self.kept.values())

    def edition(self, edition_id: str) -> dict[str, Any] | None:
        return self.kept.get(edition_id)


@dataclass
class Pages:
    client: httpx.AsyncClient
    directory: FakeDirectory
    people: FakePeople
    store: ArchiveStore

    def add(self, someone: Subscriber) -> Subscriber:
        self.directory.people[someone.id] = someone
        return someone

    async def post(self, page_url: str, action: str, data: dict[str, Any], **kw: Any) -> Any:
        """As a browser: open the page (its cookie and form token), then send the form."""
        page = await self.client.get(page_url)
        token = CSRF.search(page.text)
        assert token, page.text
        return await self.client.post(action, data={**data, "csrf": token.group(1)}, **kw)


@pytest.fixture
async def pages(tmp_path: Path) -> AsyncIterator[Pages]:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(KEY.decode()))
    index = CredentialIndex()
    index.ready = True
    directory, people = FakeDirectory(), FakePeople()
    partners = FakePartners(PARTNERS)
    store = ArchiveStore(DEMO)
    services = fake_services(
        settings,
        index,
        signer=SIGNER,
        directory=directory,
        partners=partners,
        partner_commands=partners,
        subscriber_commands=people,
        personal_data=people,
        newsletters=store,
    )
    transport = httpx.ASGITransport(app=create_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield Pages(client, directory, people, store)


def html_lang(page: str) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert found, page[:200]
    return found.group(1), found.group(2)


async def test_a_french_subscribers_preference_centre_is_in_french(pages: Pages) -> None:
    pages.add(person("ext-fr", "fr"))
    # A link from before links named a language: the subscriber's own language decides.
    token = SIGNER.issue("ext-fr", Purpose.PREFERENCES, now())
    page = await pages.client.get("/preferences", params={"t": token})
    assert page.status_code == 200
    assert html_lang(page.text) == ("fr", "ltr")
    assert "Votre abonnement" in page.text and "Enregistrer mes choix" in page.text
    assert "Annonces institutionnelles" in page.text and "Dès sa publication" in page.text
    assert "Save my choices" not in page.text


async def test_a_french_unsubscribe_and_confirmation_are_in_french(pages: Pages) -> None:
    pages.add(person("ext-fr", "fr"))
    links = LinkMaker(SIGNER, "http://hub.test", "hub.test", now).for_subscriber("ext-fr", "fr")
    page = await pages.client.get(links.unsubscribe.removeprefix("http://hub.test"))
    assert html_lang(page.text) == ("fr", "ltr")
    assert "Voulez-vous ne plus recevoir nos actualités" in page.text
    assert '<input type="hidden" name="lang" value="fr">' in page.text
    done = await pages.post(
        links.unsubscribe.removeprefix("http://hub.test"),
        "/unsubscribe",
        {"t": links.unsubscribe.split("t=", 1)[1]},
    )
    assert done.status_code == 200 and "Vous êtes désabonné" in done.text

    pending = pages.add(
        person("ext-new", "fr", status=SubscriberStatus.PENDING, confirmation_nonce="n-1")
    )
    url = LinkMaker(SIGNER, "http://hub.test", "hub.test", now).confirmation(
        pending.id, "n-1", pending.language
    )
    path = url.removeprefix("http://hub.test")
    confirm = await pages.client.get(path)
    assert html_lang(confirm.text) == ("fr", "ltr")
    assert "Confirmer mon abonnement" in confirm.text
    confirmed = await pages.post(path, "/subscribe/confirm", {"t": url.split("t=", 1)[1]})
    assert confirmed.status_code == 200 and "Abonnement confirmé" in confirmed.text
    assert html_lang(confirmed.text)[0] == "fr"
    # The link on to the preferences names the page's language: they go on in French.
    preferences = re.search(r'href="/preferences\?t=([\w.-]+)"', confirmed.text)
    assert preferences
    assert SIGNER.check(preferences.group(1), Purpose.PREFERENCES, now()).language == "fr"


async def test_an_arabic_page_is_right_to_left(pages: Pages) -> None:
    pages.add(person("ext-ar", "ar"))
    token = SIGNER.issue("ext-ar", Purpose.PREFERENCES, now(), language="ar")
    page = await pages.client.get("/preferences", params={"t": token})
    assert html_lang(page.text) == ("ar", "rtl")
    assert "اشتراكك" in page.text and "حفظ اختياراتي" in page.text
    # The layout mirrors with logical properties, not left and right.
    assert "margin-inline" in page.text and "text-align:start" in page.text
    assert "margin-left" not in page.text and "text-align:left" not in page.text


async def test_a_regional_language_is_offered_and_kept_after_saving(pages: Pages) -> None:
    pages.add(person("ext-tn", "fr-TN"))
    token = SIGNER.issue("ext-tn", Purpose.PREFERENCES, now())
    page = await pages.client.get("/preferences", params={"t": token})
    assert html_lang(page.text) == ("fr", "ltr")  # French words for a reader of fr-TN
    selected = re.search(r'<option value="([^"]+)"[^>]* selected>([^<]+)</option>', page.text)
    assert selected and selected.groups() == ("fr-TN", "Français (Tunisie)")
    # The browser sends the selected option back, as it is.
    form = {
        "t": token,
        "lang": "fr",
        "language": "fr-TN",
        "topics": ["announcement.published"],
        "channels": ["email"],
        "mode": "instant",
    }
    saved = await pages.post(f"/preferences?t={token}", "/preferences", form)
    assert saved.status_code == 200 and "Vos choix sont enregistrés" in saved.text
    assert pages.people.saved[-1][0].language == "fr-TN"
    # A form that says nothing of the language keeps it too.
    without = {k: v for k, v in form.items() if k != "language"}
    await pages.post(f"/preferences?t={token}", "/preferences", without)
    assert pages.people.saved[-1][0].language == "fr-TN"


async def test_an_unknown_language_is_refused_naming_the_supported_ones(pages: Pages) -> None:
    form = {"email": "ana@example.org", "language": "klingon", "topics": []}
    answer = await pages.post("/subscribe", "/subscribe", form)
    assert answer.status_code == 400
    assert 'data-field="language"' in answer.text
    for name in ("English (en)", "Français (fr)", "Español (es)", "العربية (ar)"):
        assert name in answer.text
    assert pages.people.saved == []
    # On a French page, the problem is told in French.
    french = await pages.post("/subscribe?lang=fr", "/subscribe", {**form, "lang": "fr"})
    assert "nous n\u2019écrivons pas en" in french.text.replace("&#39;", "'")
    assert html_lang(french.text)[0] == "fr"


async def test_accept_language_picks_the_page_language_without_a_token(pages: Pages) -> None:
    page = await pages.client.get("/subscribe", headers={"Accept-Language": "de, es;q=0.8"})
    assert html_lang(page.text) == ("es", "ltr")
    assert "Suscríbase a nuestras noticias" in page.text
    # The subscription's language defaults to the page's.
    assert '<option value="es" lang="es" selected>Español</option>' in page.text
    arabic = await pages.client.get("/subscribe", headers={"Accept-Language": "ar-TN"})
    assert html_lang(arabic.text) == ("ar", "rtl")
    nothing = await pages.client.get("/subscribe", headers={"Accept-Language": "de"})
    assert html_lang(nothing.text) == ("en", "ltr")


async def test_the_switcher_shows_the_same_page_in_another_language(pages: Pages) -> None:
    pages.add(person("ext-fr", "fr"))
    token = SIGNER.issue("ext-fr", Purpose.PREFERENCES, now(), language="fr")
    page = await pages.client.get("/preferences", params={"t": token})
    links = dict(re.findall(r'<a href="(/preferences\?[^"]+)" hreflang="([^"]+)"', page.text))
    by_language = {tag: url.replace("&amp;", "&") for url, tag in links.items()}
    assert set(by_language) == {"en", "es", "ar"}  # the current one is not a link
    assert f"t={token}" in by_language["es"]
    for name in ("English", "Español", "العربية", "Français"):
        assert name in page.text
    spanish = await pages.client.get(by_language["es"])
    assert html_lang(spanish.text) == ("es", "ltr") and "Su suscripción" in spanish.text
    # The forms carry the page's language, so the answer stays in it.
    form = {"t": token, "lang": "es", "topics": ["research.released"], "channels": ["email"]}
    saved = await pages.post(by_language["es"], "/preferences", form)
    assert "Sus preferencias se han guardado" in saved.text
    # A mistyped language is no reason to refuse the page.
    odd = await pages.client.get("/preferences", params={"t": token, "lang": "xx-<b>"})
    assert odd.status_code == 200 and html_lang(odd.text)[0] == "fr"


async def test_bad_links_and_refused_forms_speak_the_readers_language(pages: Pages) -> None:
    bad = await pages.client.get("/preferences", params={"t": "x.y", "lang": "es"})
    assert bad.status_code == 400 and "Este enlace no funciona" in bad.text
    # A form from another site is refused unread: the browser's language is all there is.
    forged = await pages.client.post(
        "/preferences",
        data={"t": "x", "lang": "es"},
        headers={"Origin": "https://evil.example", "Accept-Language": "fr"},
    )
    assert forged.status_code == 403
    assert "Ce formulaire a été envoyé depuis un autre site" in forged.text


def test_old_tokens_without_a_language_still_verify() -> None:
    # Exactly what the hub signed before tokens named a language.
    expires = int((NOW + LIFETIME[Purpose.PREFERENCES]).timestamp())
    old = itsdangerous.URLSafeSerializer([KEY], salt="hub.preferences").dumps(
        {"s": "ext-1", "e": expires, "n": "abc"}
    )
    claims = SIGNER.check(old, Purpose.PREFERENCES, NOW)
    assert claims.subject == "ext-1" and claims.language is None
    new = SIGNER.issue("ext-1", Purpose.PREFERENCES, NOW, language="fr-TN")
    assert SIGNER.check(new, Purpose.PREFERENCES, NOW).language == "fr-TN"


async def test_an_old_token_opens_the_page_in_the_subscribers_language(pages: Pages) -> None:
    pages.add(person("ext-es", "es"))
    expires = int((now() + LIFETIME[Purpose.UNSUBSCRIBE]).timestamp())
    old = itsdangerous.URLSafeSerializer([KEY], salt="hub.unsubscribe").dumps(
        {"s": "ext-es", "e": expires, "n": "abc"}
    )
    page = await pages.client.get("/unsubscribe", params={"t": old})
    assert page.status_code == 200 and html_lang(page.text)[0] == "es"


def test_links_name_the_language_of_the_person_they_are_for() -> None:
    maker = LinkMaker(SIGNER, "https://hub.example.org", "hub.example.org", lambda: NOW)
    someone = person("ext-ar", "ar", status=SubscriberStatus.ACTIVE)
    resolved = Recipients({"ext-ar": someone}.get, maker.for_subscriber).resolve(
        {"recipient": {"id": "ext-ar"}, "channel": "email", "by_reference": True}
    )
    for kind, purpose in (
        ("preferences", Purpose.PREFERENCES),
        ("unsubscribe", Purpose.UNSUBSCRIBE),
    ):
        token = resolved["links"][kind].split("t=", 1)[1]
        assert SIGNER.check(token, purpose, NOW).language == "ar"
    by_id = maker.knowing({"ext-ar": someone}.get)
    token = by_id("ext-ar").preferences.split("t=", 1)[1]
    assert SIGNER.check(token, Purpose.PREFERENCES, NOW).language == "ar"
    unknown = by_id("ext-gone").preferences.split("t=", 1)[1]
    assert SIGNER.check(unknown, Purpose.PREFERENCES, NOW).language is None


def test_forms_accept_regional_forms_of_spoken_languages_only() -> None:
    base = {"email": "ana@example.org", "topics": ["research.released"]}
    assert parse_subscribe_form({**base, "language": "fr_tn"}, TOPICS).language == "fr-TN"
    assert parse_subscribe_form({**base, "language": "ar"}, TOPICS).language == "ar"
    for wrong in ("de", "klingon", "fr-Latn", ""):
        with pytest.raises(InvalidSubscriberError) as refused:
            parse_subscribe_form({**base, "language": wrong}, TOPICS)
        [(field_name, problem)] = refused.value.problems
        assert field_name == "language" and "Français (fr)" in problem
    only_two = Languages.of(["en", "fr"])
    with pytest.raises(InvalidSubscriberError):
        parse_subscribe_form({**base, "language": "es"}, TOPICS, only_two)
    wanted = parse_preferences_form(
        {"language": "fr-TN", "topics": ["research.released"], "channels": ["email"]},
        TOPICS,
        frozenset({"email"}),
    )
    assert wanted.language == "fr-TN"
    kept = Preferences(None, frozenset({"research.released"}), frozenset({"email"}), Mode.INSTANT)
    assert change_preferences(person("x", "fr-TN"), kept, NOW).language == "fr-TN"


def test_the_page_language_follows_the_order_people_expect() -> None:
    spoken = Languages()
    assert reader_language(spoken, ["es", "fr", "ar"], "en") == "es"
    assert reader_language(spoken, [None, "fr-TN", "ar"], "en") == "fr"
    assert reader_language(spoken, [None, None, "de"], "ar;q=0.9, en;q=0.5") == "ar"
    assert reader_language(spoken, ["nonsense!", None], None) == "en"
    assert language_name("fr") == "Français" and language_name("ar") == "العربية"
    [en, fr, es, ar] = switcher(spoken, "fr", "/preferences", {"t": "tok", "lang": "fr"})
    assert fr["current"] and not en["current"]
    assert es["url"] == "/preferences?t=tok&lang=es" and ar["name"] == "العربية"


def test_the_system_layout_is_right_to_left_for_arabic() -> None:
    renderer = Renderer(REPO_ROOT / "templates")
    rendered = renderer.render_system("confirm", "ar", {"name": "Amal", "confirm_url": "u"})
    assert '<html lang="ar" dir="rtl">' in rendered.html


def public_edition(title_fr: str) -> dict[str, Any]:
    item = event(
        content={
            "en": {"title": "English title", "summary": "s", "body": "b"},
            "fr": {"title": title_fr, "summary": "r", "body": "c"},
        }
    )
    return edition_record("public-digest", "public-digest-20261130T0900", [item.document])


async def test_the_archive_speaks_the_readers_language_with_local_dates(pages: Pages) -> None:
    record = public_edition("Titre en français")
    pages.store.kept[record["id"]] = record
    index = await pages.client.get("/newsletters/public-digest", params={"lang": "fr"})
    assert index.status_code == 200 and html_lang(index.text)[0] == "fr"
    assert "L\u2019essentiel de l\u2019actualité" in index.text
    assert "Titre en français" in index.text and "English title" not in index.text
    assert "30 novembre 2026" in index.text and "2026-11-30" not in index.text
    assert "Flux Atom" in index.text
    # The edition links in the reader's language, and the other languages each named in itself.
    assert f'href="/newsletters/public-digest/{record["id"]}?lang=fr"' in index.text
    assert ">English</a>" in index.text and ">Español</a>" in index.text
    # Without ?lang=, the browser's language.
    spanish = await pages.client.get(
        "/newsletters/public-digest", headers={"Accept-Language": "es-MX,es;q=0.9"}
    )
    assert html_lang(spanish.text)[0] == "es" and "30 de noviembre de 2026" in spanish.text
    arabic = await pages.client.get("/newsletters/public-digest", params={"lang": "ar"})
    assert html_lang(arabic.text) == ("ar", "rtl") and "موجز الأخبار" in arabic.text


async def test_an_edition_page_links_to_the_index_the_feed_and_other_languages(
    pages: Pages,
) -> None:
    record = public_edition("Titre")
    pages.store.kept[record["id"]] = record
    path = f"/newsletters/public-digest/{record['id']}"
    page = await pages.client.get(path, params={"lang": "fr"})
    assert page.status_code == 200 and html_lang(page.text)[0] == "fr"
    assert 'href="/newsletters/public-digest?lang=fr"' in page.text  # back to the index
    assert 'href="/newsletters/public-digest/feed.atom?lang=fr"' in page.text
    assert "Toutes les éditions" in page.text and "Titre" in page.text
    assert f'href="{path}?lang=es"' in page.text  # the switcher
    assert page.text.count("<body") == 1 and page.text.count("<html") == 1
    # An Arabic reader of a newsletter written without Arabic: the page around the edition is
    # Arabic, right to left; the edition, in a language it has, left to right inside it.
    no_arabic = DEMO["public-digest"].model_copy(update={"languages": ["en", "fr", "es"]})
    pages.store.newsletters = {**DEMO, "public-digest": no_arabic}
    arabic = await pages.client.get(path, params={"lang": "ar"})
    assert html_lang(arabic.text) == ("ar", "rtl")
    assert 'class="edition" lang="en" dir="ltr"' in arabic.text


async def test_the_atom_feed_is_valid_with_its_author(pages: Pages) -> None:
    record = public_edition("Titre en français")
    pages.store.kept[record["id"]] = record
    answer = await pages.client.get("/newsletters/public-digest/feed.atom", params={"lang": "fr"})
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.text)  # noqa: S314 (ours)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert (feed.findtext(required, namespaces=ATOM) or "").strip(), required
    assert feed.findtext("a:author/a:name", namespaces=ATOM) == (
        "Département de la coopération internationale et des partenariats"
    )
    assert feed.find("a:link[@rel='self']", ATOM) is not None
    [entry] = feed.findall("a:entry", ATOM)
    for required in ("a:id", "a:title", "a:updated"):
        assert (entry.findtext(required, namespaces=ATOM) or "").strip(), required
    assert entry.find("a:link", ATOM).get("href", "").endswith(f"{record['id']}?lang=fr")  # type: ignore[union-attr]
    assert "30 novembre 2026" in entry.findtext("a:title", namespaces=ATOM)  # type: ignore[operator]
    assert "Titre en français" in (entry.findtext("a:summary", namespaces=ATOM) or "")
    updated = entry.findtext("a:updated", namespaces=ATOM) or ""
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", updated)


def test_a_feed_of_nothing_is_still_valid_atom() -> None:
    public: Newsletter = DEMO["public-digest"]
    feed = ET.fromstring(atom_feed(public, [], "https://hub.example.org", ANYONE))  # noqa: S314
    assert feed.findtext("a:author/a:name", namespaces=ATOM)
    assert feed.findtext("a:updated", namespaces=ATOM) == "1970-01-01T00:00:00Z"


def test_an_edition_page_is_shown_by_its_body() -> None:
    assert edition_body('<html><body style="x">\n<p>hi</p>\n</body></html>') == "<p>hi</p>"
    assert edition_body("<p>page</p>") == "<p>page</p>"


async def test_the_editions_archive_link_goes_on_to_the_archive_with_the_signed_link(
    pages: Pages,
) -> None:
    pages.add(person("ext-fr", "fr"))
    token = SIGNER.issue("ext-fr", Purpose.PREFERENCES, now(), language="fr")
    moved = await pages.client.get("/preferences", params={"t": token, "archive": "public-digest"})
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/newsletters/public-digest?t={token}"
    index = await pages.client.get(moved.headers["location"])
    assert index.status_code == 200 and html_lang(index.text)[0] == "fr"  # the link's language
    # Anything but a newsletter's name is not followed; a bad link goes nowhere.
    odd = await pages.client.get("/preferences", params={"t": token, "archive": "//evil.example"})
    assert odd.status_code == 200 and "Votre abonnement" in odd.text
    bad = await pages.client.get("/preferences", params={"t": "x.y", "archive": "public-digest"})
    assert bad.status_code == 400
