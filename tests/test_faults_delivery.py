"""Delivery faults on the real broker and a real SMTP server: an outage is retried until all is
sent once, a template that cannot render is dead-lettered and later events still flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.i18n.languages import DEFAULT_LANGUAGES
from tests.faultstack import LANGUAGES, assert_exactly_once, received
from tests.helpers import DEMO_ANNOUNCEMENT, EXAMPLES, load_example, templates_with, wait_until
from tests.kafka_probe import read_records

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


def test_smtp_outage_is_retried_until_everything_is_delivered_once(make_stack: Any) -> None:
    stack = make_stack(1000)
    document = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(document).status_code == 202
    wait_until(lambda: len(received(stack.outbox)) >= 100, timeout=120, what="100 emails")
    stack.catcher.handler.unavailable = True  # the server starts answering 421, then goes away
    wait_until(
        lambda: stack.status(document["id"]).get("totals", {}).get("retries", 0) >= 50,
        what="retries to show in the status",
    )
    stack.catcher.stop()  # connections now refused
    wait_until(
        lambda: stack.status(document["id"])["totals"]["retries"] >= 200,
        what="retries against a server that is gone",
    )
    stack.restart_catcher()
    assert_exactly_once(stack, stack.addresses)
    status = wait_until(
        lambda: (s := stack.status(document["id"]))["totals"]["sent"] == 1000 and s,
        what="the status to show every email sent",
    )
    assert status["totals"]["retries"] >= 200
    assert status["totals"]["failed"] == 0 and status["totals"]["retrying"] == 0


def test_poison_event_is_dead_lettered_and_later_events_still_flow(
    make_stack: Any, tmp_path: Path
) -> None:
    templates = templates_with(
        tmp_path, "research.released/email/en/body.html.j2", "{{ research.no_such_field.title }}"
    )
    stack = make_stack(6, templates=templates)
    research = load_example(
        EXAMPLES / "research.released.v1" / "valid" / "digital-remittances-west-africa.json",
        classification="public",
    )
    assert stack.hub.publish(research).status_code == 202
    after = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(after).status_code == 202
    # Research in English breaks; its French readers still get it, and everyone the next event.
    languages = [
        DEFAULT_LANGUAGES.choose(LANGUAGES[i % 3], set(research["content"])) for i in range(6)
    ]
    english = [a for a, lang in zip(stack.addresses, languages, strict=True) if lang == "en"]
    expected_emails = 6 + (6 - len(english))
    wait_until(
        lambda: sum(received(stack.outbox).values()) == expected_emails,
        what=f"{expected_emails} emails",
    )
    wait_until(stack.work_done, what="all work committed")
    letters = read_records(stack.hub.topic("deadletters", "email"))
    # Dead letters name the recipient by id (the address travels sealed with their own key).
    recipients = sorted(letter["delivery"]["recipient"]["id"] for letter in letters)
    assert recipients == [address.split("@")[0] for address in english]
    assert all("no_such_field" in letter["reason"] for letter in letters)
    status = stack.status(research["id"])
    assert status["totals"]["failed"] == len(english)
    assert all("no_such_field" in f["reason"] for f in status["failures"])
