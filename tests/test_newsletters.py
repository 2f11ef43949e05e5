"""Newsletters on the real broker: one edition per subscriber and period, in their language, with
exactly the items their audience allows; the schedule fires; the archive keeps staff editions in."""

from __future__ import annotations

import collections
import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from channels.email.channel import IN_FLIGHT_PER_CONNECTION
from devstack.mailcatcher import MailCatcher
from hub.settings import SmtpSettings
from tests.conftest import read_outbox, text_of
from tests.helpers import DEMO_ANNOUNCEMENT, EXAMPLES, load_example, wait_until
from tests.hubprocess import HubProcess, hub_with_mail, shared_hub
from tests.kafka_probe import consumer_lag

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

STAFF_UPDATE = EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json"
RESEARCH = EXAMPLES / "research.released.v1" / "valid" / "digital-remittances-west-africa.json"

PEOPLE = [
    {
        "id": "staff-en",
        "kind": "staff",
        "name": "Amina",
        "language": "en",
        "email": "amina@staff.example.org",
        "region": "west-africa",
    },
    {
        "id": "staff-fr",
        "kind": "staff",
        "name": "Camille",
        "language": "fr-CH",
        "email": "camille@staff.example.org",
        "region": "europe",
    },
    {
        "id": "partner-es",
        "kind": "partner",
        "name": "Mateo",
        "language": "es",
        "email": "mateo@partner.example.net",
        "organisation": "UAM",
        "subscriptions": [{"event_types": ["strategy.updated"]}],
    },
    {
        "id": "reader-fr",
        "kind": "public",
        "name": "Lecteur",
        "language": "fr",
        "email": "lecteur@example.org",
        "subscriptions": [{"mode": "digest"}],
    },
]
NEWSLETTERS = {
    "newsletters": [
        {
            "name": "staff-weekly",
            "title": {"en": "Staff weekly", "fr": "Hebdo du personnel"},
            "audience": "staff",
            "schedule": "0 9 * * mon",
            "timezone": "Europe/Zurich",
        },
        {
            "name": "partners-monthly",
            "title": {"en": "Partners update", "es": "Boletín"},
            "audience": "partners",
            "schedule": "0 9 1 * *",
            "timezone": "Europe/Zurich",
        },
        {
            "name": "public-minutely",
            "title": {"en": "Digest", "fr": "Essentiel"},
            "audience": "public",
            "schedule": "* * * * *",
            "timezone": "UTC",
        },
    ]
}


stack = shared_hub(PEOPLE, newsletters=NEWSLETTERS)


def editions(outbox: Path, newsletter: str) -> list[EmailMessage]:
    return [
        m
        for m in read_outbox(outbox)
        if str(m["X-Hub-Event-Id"]).startswith(f"newsletter:{newsletter}-")
    ]


def to(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


def test_a_week_of_events_makes_one_edition_each_with_the_allowed_items(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    week = [
        load_example(DEMO_ANNOUNCEMENT, occurred_at="2026-11-23T10:00:00Z"),
        load_example(
            DEMO_ANNOUNCEMENT, classification="partners", occurred_at="2026-11-24T10:00:00Z"
        ),
        load_example(STAFF_UPDATE, audience={}, occurred_at="2026-11-25T10:00:00Z"),
        load_example(
            STAFF_UPDATE,
            classification="restricted",
            audience={"groups": ["directors"]},
            occurred_at="2026-11-26T10:00:00Z",
        ),
        load_example(RESEARCH, classification="public", occurred_at="2026-11-27T10:00:00Z"),
    ]
    public, partners, staff, restricted, _research = week
    for content in restricted["content"].values():
        content["title"] = "Directors only: " + content["title"]
    for document in week:
        assert hub.publish(document).status_code == 202
    last = week[-1]["id"]
    wait_until(
        lambda: hub.get(f"/api/v1/events/{last}/status").status_code == 200, what="the week planned"
    )

    preview = hub.cli("newsletter", "preview", "staff-weekly")
    assert staff["id"] in preview.stdout and restricted["id"] not in preview.stdout
    hub.cli(
        "newsletter",
        "curate",
        "staff-weekly",
        "--pin",
        staff["id"],
        "--intro",
        "fr=Bonne semaine à toutes et à tous",
    )
    wait_until(
        lambda: (
            hub.get("/api/v1/newsletters/staff-weekly/preview").json()["items"][0]["id"]
            == staff["id"]
        ),
        what="the pinned item first",
    )

    hub.cli("newsletter", "send-now", "staff-weekly")
    hub.cli("newsletter", "send-now", "partners-monthly")
    staff_mail = wait_until(
        lambda: (m := editions(catcher.outbox, "staff-weekly")) and len(m) >= 2 and m,
        what="the staff editions",
    )
    partner_mail = wait_until(
        lambda: editions(catcher.outbox, "partners-monthly"), what="the partner edition"
    )

    by_person = {to(m): text_of(m) for m in staff_mail}
    assert set(by_person) == {"amina@staff.example.org", "camille@staff.example.org"}
    french = by_person["camille@staff.example.org"]
    assert "Hebdo du personnel" in french and "Bonne semaine" in french
    assert french.index(staff["content"]["fr"]["title"]) < french.index(
        public["content"]["fr"]["title"]
    )
    for item in (public, partners, staff):
        assert item["content"]["en"]["title"] in by_person["amina@staff.example.org"]
    assert restricted["content"]["en"]["title"] not in by_person["amina@staff.example.org"]

    (partner_edition,) = partner_mail
    assert to(partner_edition) == "mateo@partner.example.net"
    body = text_of(partner_edition)
    assert public["content"]["es"]["title"] in body and partners["content"]["es"]["title"] in body
    assert staff["content"]["es"]["title"] not in body  # staff content never reaches partners
    assert partner_edition["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Asking again in the same period sends nothing; nor does a restarted worker.
    hub.cli("newsletter", "send-now", "staff-weekly")
    hub.kill()
    hub.start()
    hub.cli("newsletter", "send-now", "staff-weekly")
    marker = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(marker).status_code == 202
    wait_until(
        lambda: any(m["X-Hub-Event-Id"] == marker["id"] for m in read_outbox(catcher.outbox)),
        what="a later event, after the repeated requests",
    )
    wait_until(lambda: hub.get("/api/v1/newsletters").status_code == 200, what="the worker")
    counts = collections.Counter(to(m) for m in editions(catcher.outbox, "staff-weekly"))
    assert counts == {"amina@staff.example.org": 1, "camille@staff.example.org": 1}


def test_the_schedule_fires_and_digest_readers_get_only_what_they_chose(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    research = load_example(RESEARCH, classification="public")
    assert hub.publish(research).status_code == 202
    digest = wait_until(
        lambda: [
            m
            for m in editions(catcher.outbox, "public-minutely")
            if research["content"]["fr"]["title"] in text_of(m)
        ],
        timeout=150,
        what="the minutely edition (the schedule firing)",
    )
    assert {to(m) for m in digest} == {"lecteur@example.org"}
    assert "Essentiel" in text_of(digest[0])  # the French title of the newsletter


def test_archive_pages_keep_staff_editions_for_staff(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, catcher = stack
    wait_until(lambda: editions(catcher.outbox, "staff-weekly"), what="a staff edition")
    anonymous = httpx.get(f"{hub.base_url}/newsletters/staff-weekly", timeout=30)
    assert anonymous.status_code == 401
    staff_email = next(m for m in read_outbox(catcher.outbox) if to(m) == "amina@staff.example.org")
    token = re.search(r"/preferences\?t=([\w.-]+)", text_of(staff_email))
    assert token
    index = httpx.get(f"{hub.base_url}/newsletters/staff-weekly", params={"t": token.group(1)})
    assert index.status_code == 200
    page_link = re.search(r'href="(/newsletters/staff-weekly/[^"?]+)\?lang=en', index.text)
    assert page_link
    page = httpx.get(
        f"{hub.base_url}{page_link.group(1)}", params={"lang": "en", "t": token.group(1)}
    )
    assert page.status_code == 200 and "Staff weekly" in page.text
    assert httpx.get(f"{hub.base_url}{page_link.group(1)}").status_code == 401
    partner_email = next(
        m for m in read_outbox(catcher.outbox) if to(m) == "mateo@partner.example.net"
    )
    partner = re.search(r"/preferences\?t=([\w.-]+)", text_of(partner_email))
    assert partner
    refused = httpx.get(f"{hub.base_url}/newsletters/staff-weekly", params={"t": partner.group(1)})
    assert refused.status_code == 401  # a partner's link does not open staff editions
    feed = httpx.get(f"{hub.base_url}/newsletters/public-minutely/feed.atom")
    assert feed.status_code == 200 and "<feed" in feed.text


def test_worker_killed_while_an_edition_goes_out_still_sends_one_each(
    kafka_broker: str, tmp_path: Path
) -> None:
    staff = [
        {
            "id": f"s{i:04d}",
            "kind": "staff",
            "name": f"Staff {i}",
            "language": "fr",
            "email": f"s{i:04d}@staff.example.org",
            "region": "europe",
            # No news by email as it happens: only the edition, so the outbox shows it alone.
            "subscriptions": [],
        }
        for i in range(1500)
    ]
    with hub_with_mail(tmp_path, staff, newsletters=NEWSLETTERS) as (hub, catcher):
        news = load_example(DEMO_ANNOUNCEMENT)
        assert hub.publish(news).status_code == 202
        wait_until(
            lambda: hub.get("/api/v1/newsletters").json()[0]["pending_items"] == 1,
            what="the item in the staff newsletter",
        )
        hub.cli("newsletter", "send-now", "staff-weekly")
        wait_until(
            lambda: len(editions(catcher.outbox, "staff-weekly")) >= 100,
            timeout=120,
            what="the edition going out",
        )
        hub.kill()
        assert len(editions(catcher.outbox, "staff-weekly")) < 1500, "it finished before the kill"
        hub.start()
        hub.cli("newsletter", "send-now", "staff-weekly")
        wait_until(
            lambda: len({to(m) for m in editions(catcher.outbox, "staff-weekly")}) == 1500,
            timeout=180,
            what="every staff member's edition",
        )
        topics = [hub.topic("deliveries", "email"), f"{hub.prefix}.newsletter.v1"]
        wait_until(
            lambda: consumer_lag(hub.env["HUB_APP_ID"], topics) == 0,
            timeout=120,
            what="all work committed",
        )
        sent = editions(catcher.outbox, "staff-weekly")
        counts = collections.Counter(to(m) for m in sent)
        # The editions in flight at the kill (at most two per SMTP connection) may go again
        # (the server had them, the worker had not recorded them yet): the same message, same
        # Message-ID; everyone else once.
        repeated = [address for address, n in counts.items() if n > 1]
        most = SmtpSettings().pool_size * IN_FLIGHT_PER_CONNECTION
        assert len(repeated) <= most and set(counts.values()) <= {1, 2}
        for address in repeated:
            assert len({m["Message-ID"] for m in sent if to(m) == address}) == 1
