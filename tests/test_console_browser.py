"""The officer console in a real browser (Debian's Chromium, driven by Playwright), on a real
worker, Kafka and mail catcher: compose, preview, dry run, test send, maker-checker approval,
live status until every recipient has the email, a scheduled event going out on time, and the
refusals. Screenshots of each main screen go to var/screenshots/."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.mailcatcher import MailCatcher
from hub.settings import REPO_ROOT
from tests.conftest import mail_to, read_outbox
from tests.helpers import wait_until
from tests.hubprocess import HubProcess, shared_hub

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
PASSWORD = "a long console password"
ACCOUNTS = (("pat", "publisher"), ("olga", "officer"), ("otto", "officer"), ("eve", "editor"))
PEOPLE = [
    {
        "id": f"p-{language}",
        "kind": "partner",
        "name": f"Partner {language.upper()}",
        "language": language,
        "email": f"p-{language}@partner.example.net",
        "subscriptions": [{"channels": ["email"]}],
    }
    for language in ("en", "fr", "es")
] + [
    {
        "id": "pub-es",
        "kind": "public",
        "name": "Lucía Pública",
        "language": "es",
        "email": "lucia@public.example.org",
        "subscriptions": [{"channels": ["email"]}],
    }
]
ADDRESSES = {str(p["email"]) for p in PEOPLE}

stack = shared_hub(PEOPLE, HUB_TELEGRAM__ENABLED="false")


@pytest.fixture(scope="module")
def hub(stack: tuple[HubProcess, MailCatcher]) -> tuple[HubProcess, MailCatcher]:
    worker, _catcher = stack
    for name, role in ACCOUNTS:
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "users",
                "create",
                name,
                "--role",
                role,
                "--email",
                f"{name}@officers.example.org",
                "--display-name",
                name.title(),
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            env=worker.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr
    for name, _role in ACCOUNTS:  # the worker follows the accounts topic: wait until it knows
        wait_until(
            lambda name=name: (
                httpx.post(
                    f"{worker.base_url}/console/sign-in", data={"name": name, "password": PASSWORD}
                ).status_code
                == 303
            ),
            timeout=60,
            what=f"the worker to know the account {name}",
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return stack


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


def sign_in(browser: Browser, base: str, name: str) -> Page:
    page = browser.new_context(base_url=base).new_page()
    page.goto("/console/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    return page


def compose_announcement(page: Page, title: str) -> None:
    page.goto("/console/compose?type=announcement.published")
    page.select_option("#f-classification", "public")
    page.select_option("#f-position", "statement")
    page.fill("#f-tags-themes", "partnerships")
    page.fill("#f-content-en-title", title)
    page.fill("#f-content-en-summary", "The hub opens a regional office.")
    page.fill("#f-content-en-body", "## A new office\n\nWe **open** an office in Dakar.")
    page.fill("#f-content-fr-title", f"{title} (FR)")
    page.fill("#f-content-fr-summary", "Le hub ouvre un bureau régional.")
    page.fill("#f-content-fr-body", "## Un nouveau bureau\n\nNous **ouvrons** un bureau à Dakar.")


def state_of(page: Page) -> str:
    page.reload()
    return page.locator("#state").inner_text()


def test_officers_compose_preview_approve_schedule_and_follow_in_a_browser(
    browser: Browser,
    hub: tuple[HubProcess, MailCatcher],
) -> None:
    worker, catcher = hub
    base = worker.base_url

    # A publisher composes in English and French, and sees what is missing and what goes out.
    pat = sign_in(browser, base, "pat")
    compose_announcement(pat, "A new office in Dakar")
    expect(pat.locator("#preview-fr h2")).to_have_text("Un nouveau bureau")  # live preview
    pat.get_by_role("button", name="Check and dry run").click()
    gaps = pat.locator("#language-gaps")
    expect(gaps).to_contain_text("es")
    expect(gaps).to_contain_text("2 people will get a fallback language")
    expect(pat.locator("#dry-run")).to_contain_text("4 recipients")
    shot(pat, "compose")
    edit_url = pat.url
    pat.get_by_role("link", name="email-html · fr").click()
    expect(pat.locator("#subject")).to_have_text("A new office in Dakar (FR)")
    frame = pat.frame_locator("iframe.email-frame")
    expect(frame.locator("h1")).to_contain_text("A new office in Dakar (FR)")
    shot(pat, "preview-email-fr")
    pat.get_by_role("link", name="telegram · fr").click()
    expect(pat.locator("#telegram-message b").first).to_be_visible()
    shot(pat, "preview-telegram-fr")
    pat.goto(edit_url)
    pat.get_by_role("button", name="Send me a test").click()
    expect(pat.locator("#test-sent")).to_contain_text("pat@officers.example.org")
    wait_until(
        lambda: mail_to(catcher.outbox, "pat@officers.example.org", "A new office"),
        what="the test email in the publisher's inbox",
    )
    pat.get_by_role("button", name="Submit").click()
    expect(pat.locator("#state")).to_have_text("awaiting-approval")
    expect(pat.get_by_text("it goes to partners")).to_be_visible()
    first_event = pat.url.rsplit("/", 1)[-1]
    assert not [m for m in read_outbox(catcher.outbox) if m["X-Hub-Event-Id"] == first_event]

    # A publisher cannot open the subscriber pages.
    pat.goto("/console/subscribers")
    expect(pat.get_by_role("heading", name="Not allowed")).to_be_visible()

    # An officer composes one for two minutes from now, and cannot approve it herself.
    olga = sign_in(browser, base, "olga")
    compose_announcement(olga, "Office hours change")
    # Two minutes ahead at least: the time is entered to the minute.
    at = (datetime.now(UTC) + timedelta(minutes=3)).replace(second=0, microsecond=0)
    olga.fill("#publish_at", at.strftime("%Y-%m-%dT%H:%M"))
    olga.fill("#zone", "UTC")
    olga.get_by_role("button", name="Submit").click()
    expect(olga.locator("#state")).to_have_text("awaiting-approval")
    expect(olga.locator("#publish-at")).to_contain_text("(UTC)")
    scheduled_event = olga.url.rsplit("/", 1)[-1]
    olga.get_by_role("button", name="Approve").click()
    expect(olga.locator("#refusal")).to_contain_text("second officer")
    expect(olga.locator("#state")).to_have_text("awaiting-approval")

    # A second officer approves both; the first goes out at once, with its status live.
    otto = sign_in(browser, base, "otto")
    expect(otto.get_by_role("region", name="Awaiting your approval")).to_contain_text(
        "A new office in Dakar"
    )
    shot(otto, "events")
    otto.goto(f"/console/events/{first_event}")
    otto.get_by_label("Comment").fill("Checked with the Dakar office.")
    otto.get_by_role("button", name="Approve").click()
    expect(otto.locator("#state")).to_have_text("published")
    totals = otto.locator("#status-totals")
    expect(totals).to_have_attribute("data-planned", "4", timeout=120_000)
    expect(totals).to_have_attribute("data-sent", "4", timeout=120_000)
    shot(otto, "event-status")
    received = {
        address
        for address in ADDRESSES
        if [m for m in mail_to(catcher.outbox, address) if m["X-Hub-Event-Id"] == first_event]
    }
    assert received == ADDRESSES

    otto.goto(f"/console/events/{scheduled_event}")
    otto.get_by_role("button", name="Approve").click()
    expect(otto.locator("#state")).to_have_text("scheduled")
    assert not [m for m in read_outbox(catcher.outbox) if m["X-Hub-Event-Id"] == scheduled_event]
    wait_until(
        lambda: state_of(otto) == "published",
        timeout=240,
        what=f"the scheduled event to go out at {at:%H:%M} UTC\n{worker.log_tail()}",
    )
    assert datetime.now(UTC) >= at
    wait_until(
        lambda: (
            {
                a
                for a in ADDRESSES
                if [m for m in mail_to(catcher.outbox, a) if m["X-Hub-Event-Id"] == scheduled_event]
            }
            == ADDRESSES
        ),
        timeout=120,
        what="the scheduled event in every inbox",
    )

    # The author is told: the decision and its comment are on her list.
    pat.goto("/console/events")
    expect(pat.get_by_role("region", name="Decisions on your events")).to_contain_text(
        "Checked with the Dakar office."
    )

    # An officer's pages about people; an editor's newsletter, with both events waiting in it.
    otto.goto("/console/subscribers?q=partner")
    otto.get_by_role("link", name="Partner FR").click()
    expect(otto.get_by_role("heading", name="Partner FR")).to_be_visible()
    shot(otto, "subscriber")
    otto.goto("/console/partners")
    expect(otto.get_by_role("heading", name="Partner organisations")).to_be_visible()
    shot(otto, "partners")
    eve = sign_in(browser, base, "eve")
    eve.get_by_role("link", name="Newsletters").click()
    eve.locator("a[href$='/public-digest']").click()
    expect(eve.locator("#curation")).to_contain_text("A new office in Dakar")
    expect(eve.frame_locator("iframe.email-frame").locator("body")).to_contain_text(
        "Office hours change"
    )
    shot(eve, "newsletter")
