"""The Telegram bot's long polling, on the leader worker, and its replies."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.telegram.bot import Reply, handle_update
from channels.telegram.channel import TelegramChannel
from hub.model.deliveries import ChannelKey
from hub.runtime.app import Runtime, utc_now
from hub.subscribers.selfservice import command

log = logging.getLogger(__name__)


def register_telegram_bot(rt: Runtime) -> None:
    """Long-poll the bot's updates on the leader only: Telegram allows one getUpdates at a time."""
    sender = rt.channels[ChannelKey.TELEGRAM].channel
    assert isinstance(sender, TelegramChannel)
    offset: list[int] = []

    @rt.app.timer(interval=0.1, on_leader=True)  # type: ignore[untyped-decorator]
    async def poll_bot() -> None:
        try:
            bot = await sender.ready()
            updates = await bot.get_updates(
                offset=offset[-1] if offset else None,
                timeout=int(rt.settings.telegram.poll_interval_seconds),
                allowed_updates=["message", "callback_query"],
            )
            for update in updates:
                offset[:] = [update.update_id + 1]
                result = handle_update(
                    update.to_dict(), rt.directory, rt.signer, utc_now(), rt.renderer.catalogs
                )
                if result.change is not None:
                    subscriber, cause = result.change
                    # Audit names people by id only: the bot acts, the person is the subject.
                    value = command(subscriber, cause, "telegram")
                    await rt.subscriber_commands.send(key=subscriber.id.encode(), value=value)
                for reply in result.replies:
                    await send_reply(sender, reply)
        except Exception:  # an exception escaping a timer would stop the whole worker
            log.exception("Telegram updates could not be read; trying again")
            await asyncio.sleep(5)


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
