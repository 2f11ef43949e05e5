"""One delivery through the dispatcher, against a real SMTP server: once, retry, dead letter."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channels.email.channel import EmailChannel
from devstack.mailcatcher import MailCatcher
from hub.delivery.dispatch import Dispatcher
from hub.errors import TransientDeliveryError
from hub.model.deliveries import ChannelKey, EventAt
from hub.model.outcomes import OutcomeStatus
from hub.planning.routing import plan
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, RetrySettings, SmtpSettings
from tests.conftest import free_port, read_outbox
from tests.helpers import event, subscriber, templates_with

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Shelf:
    """Event documents by (event id, partition, offset), as the event-documents topic holds
    them; counts the reads, and fails them while `broken` is set."""

    def __init__(self) -> None:
        self.documents: dict[tuple[str, int, int], dict[str, Any]] = {}
        self.reads = 0
        self.broken: Exception | None = None

    def put(self, document: dict[str, Any]) -> EventAt:
        at = EventAt(partition=0, offset=len(self.documents))
        self.documents[(document["id"], at.partition, at.offset)] = document
        return at

    async def get(self, event_id: str, partition: int, offset: int) -> dict[str, Any] | None:
        self.reads += 1
        if self.broken is not None:
            raise self.broken
        return self.documents.get((event_id, partition, offset))


def dispatcher(
    port: int, ledger: dict[str, Any], templates: Path | None = None, shelf: Shelf | None = None
) -> Dispatcher:
    channel = EmailChannel(SmtpSettings(port=port, timeout=5))
    return Dispatcher(
        Renderer(templates or REPO_ROOT / "templates"),
        {ChannelKey.EMAIL: channel},
        ledger,
        lambda: NOW,
        RetrySettings(base_seconds=10, jitter=0),
        random.Random(0),
        documents=shelf.get if shelf else None,
    )


def delivery_message(recipient: str = "amina", language: str = "en") -> dict[str, Any]:
    news = event()
    (delivery,) = plan(news, [subscriber(recipient, language=language)])
    return delivery.record(news.document).dump()  # as records before references carried it


async def test_sent_once_then_a_redelivered_message_is_a_duplicate(
    mail_catcher: MailCatcher,
) -> None:
    ledger: dict[str, Any] = {}
    hub = dispatcher(mail_catcher.controller.port, ledger)
    message = delivery_message()
    first = await hub.dispatch(message)
    again = await hub.dispatch(message)
    assert first.outcome.status is OutcomeStatus.SENT
    assert again.outcome.status is OutcomeStatus.DUPLICATE
    assert ledger == {message["id"]: "sent"}
    assert len(read_outbox(mail_catcher.outbox)) == 1
    await hub.channels[ChannelKey.EMAIL].close()


async def test_deliveries_pointing_to_the_document_read_it_once_for_all_recipients(
    mail_catcher: MailCatcher,
) -> None:
    shelf = Shelf()
    news = event()
    at = shelf.put(news.document)
    people = [subscriber(f"p{i}") for i in range(5)]
    hub = dispatcher(mail_catcher.controller.port, {}, shelf=shelf)
    results = [await hub.dispatch(d.as_message(at)) for d in plan(news, people)]
    assert [r.outcome.status for r in results] == [OutcomeStatus.SENT] * 5
    assert shelf.reads == 1  # parsed once, then kept for the other recipients
    sent = read_outbox(mail_catcher.outbox)
    assert len(sent) == 5
    assert all(news.document["content"]["en"]["title"] in m["Subject"] for m in sent)
    await hub.channels[ChannelKey.EMAIL].close()


async def test_a_document_that_cannot_be_read_or_found_is_retried_not_lost(
    mail_catcher: MailCatcher,
) -> None:
    shelf = Shelf()
    news = event()
    (delivery,) = plan(news, [subscriber("amina")])
    hub = dispatcher(mail_catcher.controller.port, {}, shelf=shelf)
    shelf.broken = TransientDeliveryError("event document unreadable: broker down")
    unreadable = await hub.dispatch(delivery.as_message(EventAt(partition=0, offset=0)))
    shelf.broken = None
    missing = await hub.dispatch(delivery.as_message(EventAt(partition=0, offset=9)))
    for result, why in ((unreadable, "broker down"), (missing, "offset 9")):
        assert result.outcome.status is OutcomeStatus.RETRYING
        assert why in result.outcome.reason and result.retry is not None
    assert read_outbox(mail_catcher.outbox) == []
    at = shelf.put(news.document)
    assert (await hub.dispatch(delivery.as_message(at))).outcome.status is OutcomeStatus.SENT
    await hub.channels[ChannelKey.EMAIL].close()


async def test_smtp_down_schedules_a_retry_with_backoff() -> None:
    ledger: dict[str, Any] = {}
    hub = dispatcher(free_port(), ledger)
    message = delivery_message()
    result = await hub.dispatch(message)
    assert result.outcome.status is OutcomeStatus.RETRYING
    assert result.retry is not None and result.retry["attempt"] == 1
    assert result.retry["not_before"] == "2026-11-27T09:00:10+00:00"
    assert result.dead_letter is None
    assert ledger[message["id"]] == "retrying"


async def test_last_attempt_goes_to_dead_letters() -> None:
    hub = dispatcher(free_port(), {})
    message = {**delivery_message(), "attempt": 7}
    result = await hub.dispatch(message)
    assert result.outcome.status is OutcomeStatus.FAILED
    assert (
        result.dead_letter is not None
        and "gave up after 8 attempts" in result.dead_letter["reason"]
    )


async def test_smtp_550_is_failed_with_the_reason(tmp_path: Path) -> None:
    with MailCatcher(tmp_path / "out", port=free_port(), refuse="^bounce@") as catcher:
        hub = dispatcher(catcher.controller.port, {})
        result = await hub.dispatch(delivery_message("bounce"))
        await hub.channels[ChannelKey.EMAIL].close()
    assert result.outcome.status is OutcomeStatus.FAILED
    assert "550" in result.outcome.reason and result.dead_letter is not None


async def test_a_template_that_breaks_is_a_dead_letter_not_a_crash(
    tmp_path: Path, mail_catcher: MailCatcher
) -> None:
    templates = templates_with(
        tmp_path, "announcement.published/email/es/body.txt.j2", "{{ no_such_variable }}"
    )
    hub = dispatcher(mail_catcher.controller.port, {}, templates)
    result = await hub.dispatch(delivery_message("lucia", "es"))
    assert result.outcome.status is OutcomeStatus.FAILED
    assert "no_such_variable" in result.outcome.reason
    assert (
        await hub.dispatch(delivery_message("amina", "en"))
    ).outcome.status is OutcomeStatus.SENT
    await hub.channels[ChannelKey.EMAIL].close()


async def test_unreadable_message_is_a_dead_letter() -> None:
    hub = dispatcher(free_port(), {})
    result = await hub.dispatch({"event_id": "e1", "garbage": True})
    assert result.outcome.status is OutcomeStatus.FAILED
    assert result.dead_letter is not None and "unreadable" in result.dead_letter["reason"]
