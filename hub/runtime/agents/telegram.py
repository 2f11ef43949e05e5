"""The Telegram bot's updates, by long polling on the leader or by webhook, and its replies."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from channels.telegram.bot import Reply, handle_update
from channels.telegram.channel import TelegramChannel
from hub.model.deliveries import ChannelKey
from hub.runtime.app import Runtime, utc_now
from hub.subscribers.selfservice import command
from hub.web.telegram_webhook import webhook_url

log = logging.getLogger(__name__)


# After a failed poll: wait this long, doubled at each failure in a row up to the most.
RETRY_FIRST_SECONDS = 5.0
RETRY_MOST_SECONDS = 60.0


def register_telegram_bot(rt: Runtime) -> None:
    """Long-poll the bot's updates on the leader only: Telegram allows one getUpdates at a time.

    One loop, one poll after the other: each getUpdates waits up to
    HUB_TELEGRAM__POLL_INTERVAL_SECONDS for an update and the next starts when it returns. (A
    faust timer would start a poll every interval whether the last had returned or not: with an
    interval shorter than the long poll, every tick overlapped and faust warned about it.)
    """
    sender = rt.channels[ChannelKey.TELEGRAM].channel
    assert isinstance(sender, TelegramChannel)
    if rt.settings.telegram.mode == "webhook":  # Telegram POSTs the updates: no polling
        register_telegram_webhook(rt, sender)
        return
    offset: list[int] = []
    interval = rt.settings.telegram.poll_interval_seconds

    async def poll_once() -> None:
        bot = await sender.ready()
        updates = await bot.get_updates(
            offset=offset[-1] if offset else None,
            timeout=max(1, round(interval)),
            allowed_updates=["message", "callback_query"],
        )
        for update in updates:
            offset[:] = [update.update_id + 1]
            await answer_update(rt, sender, update.to_dict())
        if updates:
            log.debug("Telegram: %d update(s) handled", len(updates))

    @rt.app.task  # type: ignore[untyped-decorator]
    async def poll_bot() -> None:
        failures = 0
        while not rt.app.should_stop:
            if not rt.app.is_leader():  # leadership moves with a rebalance: asked every time
                await rt.app.sleep(interval)
                continue
            try:
                await poll_once()
                failures = 0
            except Exception as exc:  # an exception escaping the task would end the polling
                failures += 1
                pause = min(RETRY_FIRST_SECONDS * 2 ** (failures - 1), RETRY_MOST_SECONDS)
                if isinstance(exc, TelegramError):
                    log.warning(
                        "Telegram updates could not be read (%s); again in %.0f s",
                        type(exc).__name__,
                        pause,
                    )
                else:
                    log.exception("Telegram updates could not be read; again in %.0f s", pause)
                await rt.app.sleep(pause)


async def send_reply(sender: TelegramChannel, reply: Reply) -> None:
    """Answer in the chat: plain text (no parse mode, so names need no escaping)."""
    bot = sender.bot
    markup = None
    if reply.keyboard is not None:
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in reply.keyboard
            ]
        )
    if reply.answer_callback_id:
        await bot.answer_callback_query(reply.answer_callback_id)
    async with sender.paced(reply.chat_id):
        if reply.edit_message_id is not None:
            await bot.edit_message_text(
                reply.text,
                chat_id=reply.chat_id,
                message_id=reply.edit_message_id,
                reply_markup=markup,
            )
        else:
            await bot.send_message(reply.chat_id, reply.text, reply_markup=markup)


async def answer_update(rt: Runtime, sender: TelegramChannel, update: dict[str, Any]) -> None:
    """One update, polled or pushed by webhook: the bot's answer and the subscriber's change."""
    result = handle_update(update, rt.directory, rt.signer, utc_now(), rt.renderer.catalogs)
    if result.change is not None:
        subscriber, cause = result.change
        # Audit names people by id only: the bot acts, the person is the subject.
        value = command(subscriber, cause, "telegram")
        await rt.subscriber_commands.send(key=subscriber.id.encode(), value=value)
    for reply in result.replies:
        await send_reply(sender, reply)


class WebhookUpdates:
    """BotUpdates (hub.services): updates Telegram POSTs to /telegram/webhook, on any worker."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        sender = rt.channels[ChannelKey.TELEGRAM].channel
        assert isinstance(sender, TelegramChannel)
        self.sender = sender

    async def handle(self, update: dict[str, Any]) -> None:
        try:
            await answer_update(self.rt, self.sender, update)
        except Exception:
            # As with polling, an update is answered once: Telegram would send a failing one
            # again and again, holding up the updates behind it.
            log.exception("Telegram update %s could not be answered", update.get("update_id"))


async def set_webhook(sender: TelegramChannel, url: str, secret: str) -> None:
    """From now on Telegram POSTs each update to `url`, with `secret` in its header."""
    bot = await sender.ready()
    await bot.set_webhook(url, secret_token=secret, allowed_updates=["message", "callback_query"])


def register_telegram_webhook(rt: Runtime, sender: TelegramChannel) -> None:
    """Tell Telegram, at start, to POST updates to <public URL>/telegram/webhook with the secret.

    Every worker does (the same URL and secret: harmless), trying again until Telegram agrees.
    """
    secret = rt.settings.telegram.webhook_secret
    assert secret is not None  # the settings require it in webhook mode
    url = webhook_url(rt.settings.web.public_url)

    @rt.app.task  # type: ignore[untyped-decorator]
    async def set_telegram_webhook() -> None:
        failures = 0
        while not rt.app.should_stop:
            try:
                await set_webhook(sender, url, secret.get_secret_value())
                log.info("Telegram: updates now come by webhook")
                return
            except Exception as exc:  # the Bot API not reachable yet, a refused URL
                failures += 1
                pause = min(RETRY_FIRST_SECONDS * 2 ** (failures - 1), RETRY_MOST_SECONDS)
                log.warning(
                    "Telegram setWebhook failed (%s: %s); again in %.0f s",
                    type(exc).__name__,
                    exc,
                    pause,
                )
                await rt.app.sleep(pause)
