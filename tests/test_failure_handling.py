"""Every failure out of a channel ends as a retry or a dead letter with its reason; a split
Telegram message resumes at the part that failed. Real SMTP server, real Bot API sandbox."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from channels.base import Channel, Receipt
from channels.email.channel import EmailChannel
from channels.telegram.channel import TelegramChannel
from channels.telegram.format import split_message
from devstack.mailcatcher import MailCatcher
from devstack.telegram_sandbox import Fault, TelegramSandbox, serve
from hub.delivery.dispatch import Dispatcher
from hub.model.deliveries import ChannelKey, Delivery, Recipient, delivery_id
from hub.model.outcomes import OutcomeStatus
from hub.rendering.environment import Rendered, Renderer
from hub.settings import REPO_ROOT, RetrySettings, SmtpSettings
from tests.conftest import free_port, read_outbox
from tests.helpers import event

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TOKEN = "777:failure-test-token"
RENDERER = Renderer(REPO_ROOT / "templates")


def dispatcher(channel: Channel[Any], ledger: dict[str, Any]) -> Dispatcher:
    return Dispatcher(
        RENDERER,
        {channel.key: channel},
        ledger,
        lambda: NOW,
        RetrySettings(base_seconds=10, jitter=0),
        random.Random(0),
    )


def message_for(
    channel: ChannelKey, address: str, body: str | None = None, attempt: int = 0
) -> dict[str, Any]:
    content = {"title": "Pipeline", "summary": "Pipeline", "body": body or "Short news."}
    news = event(content={"en": content})
    delivery = Delivery(
        delivery_id(news.id, channel, "r1"),
        news.id,
        channel,
        "en",
        Recipient("r1", "Reader", address),
        attempt=attempt,
    )
    return delivery.record(news.document).dump()


# --- Telegram -------------------------------------------------------------------------------


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[TelegramSandbox, str]]:
    box = TelegramSandbox([TOKEN], record_dir=tmp_path / "telegram")
    async with serve(box) as url:
        yield box, url


async def texts_in(url: str, chat: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/sandbox/chats/{chat}/messages")
    return [m["message"]["text"] for m in response.json()["messages"]]


def code_block_body(lines: int = 160) -> str:
    code = "\n\n".join(f"step_{i} = run(stage={i}, retries=3)  # pipeline" for i in range(lines))
    return f"The pipeline is public.\n\n```python\n{code}\n```\n\nQuestions to the desk."


async def test_a_long_code_block_reaches_the_reader_in_parts_telegram_accepts(
    sandbox: tuple[TelegramSandbox, str],
) -> None:
    _box, url = sandbox
    sender = TelegramChannel(TOKEN, f"{url}/bot", timeout=5)
    ledger: dict[str, Any] = {}
    message = message_for(ChannelKey.TELEGRAM, "3001", code_block_body())
    result = await dispatcher(sender, ledger).dispatch(message)
    await sender.close()
    assert result.outcome.status is OutcomeStatus.SENT, result.outcome.reason
    shown = await texts_in(url, "3001")
    assert len(shown) >= 3
    assert all("step_" in text for text in shown[1:-1])
    assert ledger == {message["id"]: "sent"}  # part entries are dropped once the whole is sent


async def test_when_part_two_fails_the_retry_sends_only_what_is_missing(
    sandbox: tuple[TelegramSandbox, str],
) -> None:
    box, url = sandbox
    sender = TelegramChannel(TOKEN, f"{url}/bot", timeout=5)
    ledger: dict[str, Any] = {}
    hub = dispatcher(sender, ledger)
    message = message_for(ChannelKey.TELEGRAM, "3002", code_block_body())
    expected = split_message(
        RENDERER.render(event(content={"en": {**_content(message)}}), "telegram", "en").html
    )
    assert len(expected) >= 3
    box.faults.append(Fault(kind="internal_error", chat_id=3002, after=1))  # part 2 fails

    first = await hub.dispatch(message)
    assert first.outcome.status is OutcomeStatus.RETRYING
    assert "NetworkError" in first.outcome.reason
    assert first.outcome.reason.endswith(f"(part 2 of {len(expected)})")
    assert first.retry is not None
    assert ledger[f"{message['id']}/part/0"] == "sent"
    assert f"{message['id']}/part/1" not in ledger
    assert len(await texts_in(url, "3002")) == 1

    second = await hub.dispatch(first.retry)
    await sender.close()
    assert second.outcome.status is OutcomeStatus.SENT
    shown = await texts_in(url, "3002")
    assert len(shown) == len(expected)  # part 1 once, then the rest once each
    assert shown[0].startswith("Pipeline") and sum(t.startswith("Pipeline") for t in shown) == 1
    assert ledger == {message["id"]: "sent"}


def _content(message: dict[str, Any]) -> dict[str, str]:
    return dict(message["event"]["content"]["en"])


async def test_a_refused_bot_token_is_retried_as_a_configuration_problem(
    sandbox: tuple[TelegramSandbox, str],
) -> None:
    _box, url = sandbox
    sender = TelegramChannel("999:not-a-token-the-api-knows", f"{url}/bot", timeout=5)
    result = await dispatcher(sender, {}).dispatch(message_for(ChannelKey.TELEGRAM, "3003"))
    await sender.close()
    assert result.outcome.status is OutcomeStatus.RETRYING
    assert result.outcome.reason.startswith("TransientDeliveryError: configuration:")


async def test_a_bot_api_at_the_wrong_address_is_a_recorded_failure_not_a_crash(
    sandbox: tuple[TelegramSandbox, str],
) -> None:
    _box, url = sandbox
    sender = TelegramChannel(TOKEN, f"{url}/no-such-path/bot", timeout=5)
    result = await dispatcher(sender, {}).dispatch(
        message_for(ChannelKey.TELEGRAM, "3004", attempt=7)
    )
    await sender.close()
    assert result.outcome.status is OutcomeStatus.FAILED
    assert result.dead_letter is not None and "gave up after 8 attempts" in result.outcome.reason


# --- Email ----------------------------------------------------------------------------------


async def test_an_address_the_smtp_server_cannot_take_is_a_dead_letter(tmp_path: Path) -> None:
    # aiosmtplib raises SMTPNotSupported: a non-ASCII address needs SMTPUTF8, not offered here.
    with MailCatcher(tmp_path / "out", port=free_port(), smtputf8=False) as catcher:
        sender = EmailChannel(SmtpSettings(port=catcher.controller.port, timeout=5))
        message = message_for(ChannelKey.EMAIL, "amina@exämple.org")
        result = await dispatcher(sender, {}).dispatch(message)
        await sender.close()
    assert result.outcome.status is OutcomeStatus.FAILED
    assert result.dead_letter is not None
    assert "SMTPUTF8" in result.dead_letter["reason"]
    assert read_outbox(catcher.outbox) == []


async def test_starttls_asked_of_a_server_without_it_is_retried_with_the_reason(
    mail_catcher: MailCatcher,
) -> None:
    settings = SmtpSettings(port=mail_catcher.controller.port, timeout=5, start_tls=True)
    sender = EmailChannel(settings)
    result = await dispatcher(sender, {}).dispatch(message_for(ChannelKey.EMAIL, "a@example.org"))
    await sender.close()
    assert result.outcome.status is OutcomeStatus.RETRYING
    assert "STARTTLS" in result.outcome.reason


async def test_an_unreachable_smtp_server_is_retried() -> None:
    sender = EmailChannel(SmtpSettings(port=free_port(), timeout=5))
    result = await dispatcher(sender, {}).dispatch(message_for(ChannelKey.EMAIL, "a@example.org"))
    await sender.close()
    assert result.outcome.status is OutcomeStatus.RETRYING


# --- Anything else --------------------------------------------------------------------------


class BrokenChannel(Channel[str]):
    """A channel whose provider library raises something no error map knows."""

    key: ClassVar[ChannelKey] = ChannelKey.EMAIL

    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[str]:
        return [rendered.subject]

    async def deliver(self, message: str, delivery: Delivery) -> Receipt:
        raise RuntimeError("provider library bug")


async def test_an_error_no_map_knows_is_a_dead_letter_naming_its_type() -> None:
    ledger: dict[str, Any] = {}
    message = message_for(ChannelKey.EMAIL, "a@example.org")
    result = await dispatcher(BrokenChannel(), ledger).dispatch(message)
    assert result.outcome.status is OutcomeStatus.FAILED
    assert result.dead_letter is not None
    assert result.dead_letter["reason"] == "unexpected RuntimeError: provider library bug"
    assert ledger == {message["id"]: "failed"}


@pytest.mark.parametrize("garbage", [None, "text", ["a", "list"], {"id": 3, "recipient": "x"}])
async def test_a_delivery_of_any_shape_is_a_dead_letter(garbage: Any) -> None:
    result = await dispatcher(BrokenChannel(), {}).dispatch(garbage)
    assert result.outcome.status is OutcomeStatus.FAILED
    assert result.dead_letter is not None and result.dead_letter["reason"]


# --- Planning with a channel turned off -----------------------------------------------------


def test_a_delivery_for_a_channel_that_is_off_is_skipped_with_the_reason() -> None:
    from hub.model.subscribers import Subscription
    from hub.planning.planner import plan_event
    from tests.helpers import subscriber

    both = Subscription(channels=frozenset({"email", "telegram"}))
    people = [
        subscriber("amina", telegram_chat_id=5001, subscriptions=(both,)),
        subscriber("bruno", email=None, telegram_chat_id=5002, subscriptions=(both,)),
    ]
    news = event()
    result = plan_event(news.document, people, {}, NOW, channels={ChannelKey.EMAIL})
    assert [(d.channel, d.recipient.id) for d in result.deliveries] == [(ChannelKey.EMAIL, "amina")]
    assert sorted((d.recipient.id, reason) for d, reason in result.switched_off) == [
        ("amina", "telegram is turned off (HUB_TELEGRAM__ENABLED=false): not sent"),
        ("bruno", "telegram is turned off (HUB_TELEGRAM__ENABLED=false): not sent"),
    ]
    # Telegram only, and Telegram off: nothing to send, and the event says why.
    alone = plan_event(news.document, people[1:], {}, NOW, channels={ChannelKey.EMAIL})
    assert alone.deliveries == [] and len(alone.switched_off) == 1
    assert alone.skipped_reason == "no subscriber in the audience on a channel that is turned on"
