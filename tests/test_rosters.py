"""Deliveries planned by reference: rosters name recipients by id, and the sender looks them up,
signing their links then. Rosters are pure; the sends go to a real SMTP server."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.email.channel import EmailChannel
from devstack.mailcatcher import MailCatcher
from hub.delivery.dispatch import Dispatcher
from hub.delivery.recipients import Recipients
from hub.kafka.partitioning import partition_of
from hub.model.deliveries import BY_REFERENCE, ROSTER, ChannelKey, EventAt, messages_in
from hub.model.outcomes import OutcomeStatus
from hub.model.subscribers import Subscriber, SubscriberStatus
from hub.planning.encoding import ROSTER_ITEMS, rosters
from hub.planning.routing import plan
from hub.privacy.sealing import keys_from_records
from hub.rendering.environment import Renderer
from hub.rendering.links import LinkMaker
from hub.runtime.sealed_codec import SealingCodec
from hub.settings import REPO_ROOT, RetrySettings, SmtpSettings
from hub.subscribers.tokens import Purpose, Signer
from tests.conftest import read_outbox
from tests.helpers import event, subscriber

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SIGNER = Signer(b"r" * 32)
LINKS = LinkMaker(SIGNER, "https://hub.example.org", "hub.example.org", lambda: NOW)


def test_a_roster_names_each_recipient_on_the_partition_of_their_key_in_planned_order() -> None:
    news = event()
    people = [subscriber(f"s-{n}", language="fr" if n % 2 else "en") for n in range(40)]
    planned = plan(news, people)
    at = EventAt(partition=1, offset=7)
    written = rosters(planned, at, NOW, {ChannelKey.EMAIL: 3})
    assert {r.partition for r in written} == {0, 1, 2}
    by_id = {d.id: d for d in planned}
    for roster in written:
        value = json.loads(roster.value)
        # Ids and languages only: no address, no name, no link.
        assert "@" not in roster.value.decode() and "S-1" not in roster.value.decode()
        messages = messages_in(value)
        assert len(messages) == len(roster.planned) == len(value[ROSTER])
        for message, outcome in zip(messages, roster.planned, strict=True):
            assert isinstance(message, dict) and message[BY_REFERENCE] is True
            original = by_id[message["id"]]  # the same delivery id as planned
            assert message["language"] == original.language == outcome.language
            assert message["event_at"] == {"partition": 1, "offset": 7}
            assert partition_of(message["recipient"]["id"], 3) == roster.partition
            assert outcome.status is OutcomeStatus.PLANNED and outcome.delivery_id == original.id
    for partition in range(3):
        mine = [d.recipient.id for d in planned if partition_of(d.recipient.id, 3) == partition]
        assert mine == [
            o.recipient_id for r in written if r.partition == partition for o in r.planned
        ]


def test_rosters_are_cut_by_count_and_pass_the_sealing_codec_unchanged() -> None:
    people = [subscriber(f"s-{n}") for n in range(ROSTER_ITEMS + 3)]
    written = rosters(plan(event(), people), EventAt(0, 0), NOW, {ChannelKey.EMAIL: 1})
    assert [len(r.planned) for r in written] == [ROSTER_ITEMS, 3]
    codec = SealingCodec(keys_from_records({}.get))
    assert codec.loads(written[1].value) == json.loads(written[1].value)


def test_a_roster_that_does_not_read_stays_one_message() -> None:
    for bad in (
        {ROSTER: [["s-1", "en"]]},  # no event, no channel
        {"event_id": "e", "channel": "email", ROSTER: [["s-1"]]},
        {"event_id": "e", "channel": "email", ROSTER: "s-1"},
    ):
        assert messages_in(bad) == [bad]


class People:
    """Subscribers by id, as the directory holds them."""

    def __init__(self, *people: Subscriber) -> None:
        self.by_id = {p.id: p for p in people}

    def find(self, subscriber_id: str) -> Subscriber | None:
        return self.by_id.get(subscriber_id)


def sender(
    port: int, people: People, ledger: dict[str, Any], document: dict[str, Any]
) -> Dispatcher:
    async def documents(event_id: str, partition: int, offset: int) -> dict[str, Any]:
        return document

    return Dispatcher(
        Renderer(REPO_ROOT / "templates"),
        {ChannelKey.EMAIL: EmailChannel(SmtpSettings(port=port, timeout=5))},
        ledger,
        lambda: NOW,
        RetrySettings(base_seconds=10, jitter=0),
        random.Random(0),
        documents=documents,
        resolve=Recipients(people.find, LINKS.for_subscriber).resolve,
    )


def roster_messages(*people: Subscriber) -> list[dict[str, Any]]:
    written = rosters(plan(event(), list(people)), EventAt(0, 0), NOW, {ChannelKey.EMAIL: 1})
    found = [m for r in written for m in messages_in(json.loads(r.value))]
    assert all(isinstance(m, dict) for m in found)
    return found  # type: ignore[return-value]


async def test_the_sender_looks_up_the_address_and_signs_the_recipients_own_links(
    mail_catcher: MailCatcher,
) -> None:
    amina = subscriber("amina", language="fr")
    [message] = roster_messages(amina)
    # Since planning, Amina changed her address: the email goes where she is now.
    moved = People(amina.with_changes(email="amina.new@example.org"))
    hub = sender(mail_catcher.controller.port, moved, {}, event().document)
    result = await hub.dispatch(message)
    assert result.outcome.status is OutcomeStatus.SENT
    [sent] = read_outbox(mail_catcher.outbox)
    assert sent["To"].endswith("<amina.new@example.org>")
    unsubscribe = sent["List-Unsubscribe"].split(",")[0].strip("<> ")
    token = parse_qs(urlsplit(unsubscribe).query)["t"][0]
    assert SIGNER.check(token, Purpose.UNSUBSCRIBE, NOW).subject == "amina"
    await hub.channels[ChannelKey.EMAIL].close()


async def test_someone_who_left_since_planning_is_sent_nothing_and_the_outcome_says_why(
    mail_catcher: MailCatcher,
) -> None:
    gone, off, no_email = subscriber("gone"), subscriber("off"), subscriber("tg")
    messages = roster_messages(gone, off, no_email)
    now = People(
        off.with_changes(status=SubscriberStatus.UNSUBSCRIBED),
        no_email.with_changes(email=None, telegram_chat_id=42),
    )
    ledger: dict[str, Any] = {}
    hub = sender(mail_catcher.controller.port, now, ledger, event().document)
    results = {m["recipient"]["id"]: await hub.dispatch(m) for m in messages}
    assert read_outbox(mail_catcher.outbox) == []
    # Not (yet) known here: retried a few times, still by reference, before it counts as erased.
    erased = results["gone"]
    assert erased.outcome.status is OutcomeStatus.RETRYING and erased.retry is not None
    assert erased.retry[BY_REFERENCE] is True and "address" not in erased.retry["recipient"]
    left = results["off"]
    assert left.outcome.status is OutcomeStatus.FAILED
    assert left.outcome.reason == "no longer subscribed when it was to be sent"
    assert left.retry is None and left.dead_letter is None
    assert results["tg"].outcome.reason == "no email address any more"
    assert ledger[left.outcome.delivery_id] == "failed"
    await hub.channels[ChannelKey.EMAIL].close()


async def test_a_message_sent_before_its_recipient_left_is_a_duplicate_not_a_failure(
    mail_catcher: MailCatcher,
) -> None:
    amina = subscriber("amina")
    [message] = roster_messages(amina)
    ledger: dict[str, Any] = {}
    hub = sender(mail_catcher.controller.port, People(amina), ledger, event().document)
    assert (await hub.dispatch(message)).outcome.status is OutcomeStatus.SENT
    hub.resolve = Recipients(
        People(amina.with_changes(status=SubscriberStatus.UNSUBSCRIBED)).find,
        LINKS.for_subscriber,
    ).resolve
    again = await hub.dispatch(message)  # read again after a crash
    assert again.outcome.status is OutcomeStatus.DUPLICATE
    assert len(read_outbox(mail_catcher.outbox)) == 1
    await hub.channels[ChannelKey.EMAIL].close()


async def test_a_message_by_reference_that_does_not_read_is_a_dead_letter_naming_why() -> None:
    [message] = roster_messages(subscriber("amina"))
    hub = sender(1, People(subscriber("amina")), {}, event().document)  # nothing is sent
    for broken in ({**message, "channel": "fax"}, {**message, "recipient": {"name": "x"}}):
        result = await hub.dispatch(broken)
        assert result.outcome.status is OutcomeStatus.FAILED and result.dead_letter is not None
        assert "unreadable delivery" in result.outcome.reason
