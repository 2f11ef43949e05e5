"""Readers in their own language, in Debian's Chromium, on a real worker, Kafka and mail catcher:
an Arabic email and the Arabic preference centre it links to are laid out right to left, and a
French reader in Tunisia gets French pages and keeps `fr-TN` after saving preferences."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from devstack.mailcatcher import MailCatcher
from hub.settings import REPO_ROOT
from tests.conftest import read_outbox
from tests.helpers import EXAMPLES, load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
AMAL = "amal@association.example.tn"
FARAH = "farah@association.example.tn"
PEOPLE = [
    {
        "id": "pub-ar-tn",
        "kind": "public",
        "name": "أمل بن علي",
        "language": "ar-TN",
        "email": AMAL,
        "subscriptions": [{"channels": ["email"]}],
    },
    {
        "id": "pub-fr-tn",
        "kind": "public",
        "name": "Farah Ben Salah",
        "language": "fr-TN",
        "email": FARAH,
        "subscriptions": [{"channels": ["email"]}],
    },
]

stack = shared_hub(PEOPLE, HUB_TELEGRAM__ENABLED="false")


def arabic_research() -> dict[str, Any]:
    """A public research release in English, French and Arabic."""
    return load_example(EXAMPLES / "research.released.v1/valid/migration-north-africa-ar.json")


def email_to(catcher: MailCatcher, address: str, event_id: str) -> EmailMessage:
    return wait_until(
        lambda: [
            m
            for m in read_outbox(catcher.outbox)
            if m["X-Hub-Event-Id"] == event_id and address in str(m["To"])
        ],
        what=f"the email to {address}",
    )[0]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def direction_of(page: Page, selector: str) -> str:
    return str(page.eval_on_selector(selector, "e => getComputedStyle(e).direction"))


def starts_on_the_right(page: Page, selector: str) -> bool:
    """Whether the element's text hugs the right edge of its box, as a right-to-left line does."""
    box = page.eval_on_selector(
        selector,
        """e => { const r = document.createRange(); r.selectNodeContents(e);
                  const t = r.getBoundingClientRect(), b = e.getBoundingClientRect();
                  return {gapRight: b.right - t.right, gapLeft: t.left - b.left}; }""",
    )
    return bool(box["gapRight"] < box["gapLeft"])


def test_an_arabic_email_and_its_preference_centre_read_right_to_left(
    browser: Browser, stack: tuple[HubProcess, MailCatcher]
) -> None:
    hub, catcher = stack
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    news = arabic_research()
    assert hub.publish(news).status_code == 202
    arabic = email_to(catcher, AMAL, news["id"])
    assert str(arabic["Subject"]).strip() == news["content"]["ar"]["title"]
    assert arabic["Content-Language"] in (None, "ar")

    page = browser.new_page(viewport={"width": 760, "height": 900})
    page.set_content(html_of(arabic))
    assert page.eval_on_selector("html", "e => e.dir") == "rtl"
    for selector in ("body", "h1", "table table td"):
        assert direction_of(page, selector) == "rtl", selector
    assert starts_on_the_right(page, "h1")
    page.screenshot(path=str(SCREENSHOTS / "arabic-email.png"), full_page=True)

    preferences = re.search(r'href="([^"]+/preferences\?t=[^"]+)"', html_of(arabic))
    assert preferences, "the preferences link of the Arabic email"
    page.goto(preferences.group(1).replace("&amp;", "&"))
    assert page.eval_on_selector("html", "e => e.lang") == "ar"
    assert direction_of(page, "body") == "rtl"
    assert direction_of(page, "h1") == "rtl" and starts_on_the_right(page, "h1")
    assert re.search(r"[\u0600-\u06ff]", page.locator("h1").inner_text())
    page.screenshot(path=str(SCREENSHOTS / "arabic-preferences.png"), full_page=True)


def test_a_french_reader_in_tunisia_gets_french_pages_and_keeps_fr_tn(
    browser: Browser, stack: tuple[HubProcess, MailCatcher]
) -> None:
    hub, catcher = stack
    news = load_example(EXAMPLES / "announcement.published.v1/valid/partnership-west-africa.json")
    news["id"] = "5a0c3f1e-8d2b-4c5e-9f71-2b6e0d4a9c11"
    assert hub.publish(news).status_code == 202
    french = email_to(catcher, FARAH, news["id"])
    assert str(french["Subject"]).strip() == news["content"]["fr"]["title"]
    links = re.findall(r'href="([^"]+/(?:preferences|unsubscribe)\?t=[^"]+)"', html_of(french))
    preferences = next(u for u in links if "/preferences?" in u).replace("&amp;", "&")
    unsubscribe = next(u for u in links if "/unsubscribe?" in u).replace("&amp;", "&")

    page = browser.new_page()
    page.goto(preferences)
    assert page.eval_on_selector("html", "e => e.lang") in ("fr", "fr-TN")
    assert direction_of(page, "body") == "ltr"
    assert "Your subscription" not in page.content()
    page.locator("form button[type=submit]").first.click()
    assert page.eval_on_selector("html", "e => e.lang") in ("fr", "fr-TN")
    wait_until(
        lambda: hub.get("/api/v1/subscribers", q=FARAH).json()["items"][0]["language"] == "fr-TN",
        what="fr-TN kept after saving",
    )

    page.goto(unsubscribe)
    assert page.eval_on_selector("html", "e => e.lang") in ("fr", "fr-TN")
    assert "Do you want to stop receiving" not in page.content()
