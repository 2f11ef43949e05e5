"""The self-service flow in a real browser (Debian's Chromium, headless, driven by Playwright):
subscribe, confirm from the email, change preferences, then unsubscribe in one click."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from devstack.mailcatcher import MailCatcher
from tests.conftest import mail_to, read_outbox, text_of
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

stack = shared_hub([])


def text_of_mail_to(outbox: Path, address: str, subject_has: str) -> str:
    found = mail_to(outbox, address, subject_has)
    return text_of(found[0]) if found else ""


def test_subscribe_confirm_change_preferences_and_unsubscribe_in_a_browser(
    browser: Browser, stack: tuple[HubProcess, MailCatcher], tmp_path: Path
) -> None:
    hub, catcher = stack
    address = "camille@ong.example.org"
    page = browser.new_page()

    page.goto(f"{hub.base_url}/subscribe")
    page.fill("#email", address)
    page.fill("#name", "Camille Martin")
    page.fill("#organisation", "ONG Migrations & Droits")
    page.select_option("#organisation_type", "ngo")
    page.select_option("#language", "fr")
    page.check("text=Research releases")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your inbox"

    confirmation = wait_until(
        lambda: text_of_mail_to(catcher.outbox, address, "Confirmez"),
        what="the confirmation email",
    )
    confirm_url = re.search(r"https?://\S+/subscribe/confirm\?t=\S+", confirmation)
    assert confirm_url
    # The link in her email names her language: from here on the pages speak French.
    page.goto(confirm_url.group(0))
    assert page.locator("html").get_attribute("lang") == "fr"
    page.click("text=Confirmer mon abonnement")
    assert page.locator("h1").inner_text() == "Abonnement confirmé"
    page.screenshot(path=str(tmp_path / "confirmed.png"))

    page.click("text=Choisir ce que vous recevez")
    assert page.locator("h1").inner_text() == "Votre abonnement"
    assert page.locator("#topic-2").is_checked()  # research, as chosen when subscribing
    page.select_option("#language", "es")
    page.check("#topic-1")  # institutional announcements too
    page.click("text=Enregistrer mes choix")
    assert "enregistrés" in page.locator("[role=status]").inner_text()
    wait_until(
        lambda: hub.get("/api/v1/subscribers", q=address).json()["items"][0]["language"] == "es",
        what="the new language",
    )

    news = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(news).status_code == 202
    announcement = wait_until(
        lambda: [
            m
            for m in read_outbox(catcher.outbox)
            if m["X-Hub-Event-Id"] == news["id"] and address in str(m["To"])
        ],
        what="the announcement in Spanish",
    )[0]
    assert announcement["Subject"].strip() == news["content"]["es"]["title"]
    one_click = re.search(
        r"<(https?://[^>]+/unsubscribe\?t=[^>]+)>", announcement["List-Unsubscribe"]
    )
    assert one_click
    # The Spanish email's link opens the page in Spanish.
    page.goto(one_click.group(1))
    assert hub.get("/api/v1/subscribers", q=address).json()["items"][0]["status"] == "active"
    page.click("button:has-text('Darse de baja')")
    assert page.locator("h1").inner_text() == "Se ha dado de baja"
    wait_until(
        lambda: (
            hub.get("/api/v1/subscribers", q=address).json()["items"][0]["status"] == "unsubscribed"
        ),
        what="the unsubscription",
    )
    page.screenshot(path=str(Path(hub.workdir) / "unsubscribed.png"))
    page.close()
