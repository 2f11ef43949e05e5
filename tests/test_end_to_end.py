"""End to end on the real broker and a real SMTP server: publish, fan out, receive."""

from __future__ import annotations

import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from tests.conftest import read_outbox
from tests.helpers import DEMO_ANNOUNCEMENT, EXAMPLES, load_example, wait_until
from tests.hubprocess import HubProcess, shared_hub
from tests.kafka_probe import committed_past, delivery_count

pytestmark = pytest.mark.kafka

SUBSCRIBERS = {
    "subscribers": [
        {
            "id": "staff-en",
            "kind": "staff",
            "name": "Amina Okafor",
            "language": "en",
            "email": "amina@staff.example.org",
            "department": "DICP",
            "region": "west-africa",
        },
        {
            "id": "staff-fr",
            "kind": "staff",
            "name": "Camille Lefèvre",
            "language": "fr-CH",
            "email": "camille@staff.example.org",
            "department": "DICP",
            "region": "europe",
        },
        {
            "id": "partner-fr",
            "kind": "partner",
            "name": "Yasmine Ben Salah",
            "language": "fr-TN",
            "email": "yasmine@partner.example.net",
        },
        {
            "id": "partner-es",
            "kind": "partner",
            "name": "Mateo Rojas",
            "language": "es-EC",
            "email": "mateo@partner.example.net",
        },
        {
            "id": "media-en",
            "kind": "media",
            "name": "Press Desk",
            "language": "en",
            "email": "desk@media.example.com",
        },
    ]
}


stack = shared_hub(SUBSCRIBERS["subscribers"])


def emails_for(outbox: Path, event_id: str) -> list[EmailMessage]:
    return [m for m in read_outbox(outbox) if m["X-Hub-Event-Id"] == event_id]


def by_recipient(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
    return {m["To"].addresses[0].addr_spec: m for m in messages}


def test_publish_over_http_reaches_everyone_in_their_language(
    stack: tuple[HubProcess, MailCatcher],
) -> None:
    hub, catcher = stack
    document = load_example(DEMO_ANNOUNCEMENT)
    response = hub.publish(document)
    assert response.status_code == 202, response.text
    assert response.json()["topic"] == hub.topic("events", "announcement.published")

    received = wait_until(
        lambda: (m := emails_for(catcher.outbox, document["id"])) and len(m) >= 5 and m,
        what=f"5 emails\n{hub.log_tail()}",
    )
    mail = by_recipient(received)
    assert set(mail) == {s["email"] for s in SUBSCRIBERS["subscribers"]}
    titles = {lang: c["title"] for lang, c in document["content"].items()}
    assert mail["yasmine@partner.example.net"]["Subject"].strip() == titles["fr"]
    assert mail["camille@staff.example.org"]["Subject"].strip() == titles["fr"]
    assert mail["mateo@partner.example.net"]["Subject"].strip() == titles["es"]
    assert mail["amina@staff.example.org"]["Subject"].strip() == titles["en"]
    for message in received:
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None and html is not None
        language = message["Content-Language"]
        assert document["content"][language]["summary"] in text.get_content()


def test_publish_with_the_cli_reaches_subscribers(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, catcher = stack
    document = load_example(DEMO_ANNOUNCEMENT)
    path = hub.workdir / "cli-event.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "publish", str(path)],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert document["id"] in done.stdout
    wait_until(
        lambda: len(emails_for(catcher.outbox, document["id"])) == 5,
        what=f"5 emails from the CLI publish\n{hub.log_tail()}",
    )


def test_internal_update_reaches_staff_only(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, catcher = stack
    example = EXAMPLES / "strategy.updated.v1" / "valid" / "strategic-plan-midterm-staff.json"
    document = load_example(example, audience={})
    assert hub.publish(document).status_code == 202
    received = wait_until(
        lambda: (m := emails_for(catcher.outbox, document["id"])) and len(m) >= 2 and m,
        what="2 staff emails",
    )
    # The partner and media emails would have been planned in the same pass: a later event
    # proves the planner has moved past this one without sending them.
    marker = load_example(DEMO_ANNOUNCEMENT)
    assert hub.publish(marker).status_code == 202
    wait_until(lambda: len(emails_for(catcher.outbox, marker["id"])) == 5, what="marker emails")
    assert set(by_recipient(emails_for(catcher.outbox, document["id"]))) == {
        "amina@staff.example.org",
        "camille@staff.example.org",
    }
    assert all(m["Subject"].strip().startswith(("[Internal]", "[Interne]")) for m in received)


def test_same_event_published_twice_fans_out_once(stack: tuple[HubProcess, MailCatcher]) -> None:
    hub, catcher = stack
    document = load_example(DEMO_ANNOUNCEMENT)
    first = hub.publish(document)
    second = hub.publish(document)
    assert first.status_code == second.status_code == 202
    assert first.json()["partition"] == second.json()["partition"]
    wait_until(lambda: len(emails_for(catcher.outbox, document["id"])) == 5, what="5 emails")
    event_topic = hub.topic("events", "announcement.published")
    wait_until(
        lambda: committed_past(
            hub.env["HUB_APP_ID"], event_topic, second.json()["partition"], second.json()["offset"]
        ),
        what="the planner to commit past the second copy",
    )
    deliveries = delivery_count(hub.topic("deliveries", "email"))
    assert len(emails_for(catcher.outbox, document["id"])) == 5
    # Every planned delivery on the topic maps to exactly one email sent so far.
    assert deliveries == len([m for m in read_outbox(catcher.outbox) if m["X-Hub-Event-Id"]])
