"""Telegram channel: Telegram-HTML messages, split to fit, paced under Telegram's flood limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from typing import ClassVar

import telegram
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from channels.base import Channel, Receipt
from channels.telegram.format import split_message
from channels.telegram.limits import RateLimiter, Window, worker_budget
from channels.telegram.turns import ChatTurns
from hub import metrics
from hub.errors import (
    ChatMovedError,
    ConfigurationError,
    PermanentDeliveryError,
    RateLimitedError,
    RecipientBlockedError,
    TransientDeliveryError,
)
from hub.model.deliveries import ChannelKey, Delivery
from hub.rendering.environment import Rendered


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@contextlib.contextmanager
def map_telegram_errors() -> Iterator[None]:
    """Decide retryability once, at the boundary of python-telegram-bot."""
    try:
        yield
    except RetryAfter as exc:
        metrics.telegram_rate_limited()
        raise RateLimitedError(str(exc), retry_after=_seconds(exc.retry_after), code=429) from exc
    except ChatMigrated as exc:
        raise ChatMovedError(str(exc), new_chat_id=int(exc.new_chat_id)) from exc
    except Forbidden as exc:  # bot blocked, user deactivated, kicked from the group
        raise RecipientBlockedError(str(exc), code=403) from exc
    except InvalidToken as exc:
        raise ConfigurationError(f"the Telegram bot token was refused: {exc}") from exc
    except BadRequest as exc:  # can't parse entities, chat not found: sending again won't help
        raise PermanentDeliveryError(str(exc), code=400) from exc
    except EndPointNotFound as exc:  # a wrong HUB_TELEGRAM__BASE_URL
        raise ConfigurationError(f"the Telegram Bot API address is wrong: {exc}") from exc
    except (TimedOut, NetworkError, Conflict) as exc:
        # Telegram has no idempotency key: a read timeout may hide a delivered message, and
        # retrying may repeat it. We retry: a repeated announcement beats a lost one.
        raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    except TelegramError as exc:  # any other answer of the Bot API: sending again won't help
        raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}") from exc


def chat_ref(address: str) -> int | str:
    """A numeric chat id, or a public channel's @username."""
    return address if address.startswith("@") else int(address)


def is_group(chat: int | str) -> bool:
    # Groups and supergroups have negative ids; channels are @names or -100... ids.
    return isinstance(chat, str) or chat < 0


class TelegramChannel(Channel[str]):
    """Sends Telegram HTML through the Bot API (or the local sandbox at another base_url)."""

    key: ClassVar[ChannelKey] = ChannelKey.TELEGRAM
    # Sends waiting on one chat's pace must not hold up other chats: the limiter hands out
    # slots to concurrent sends (messages to one chat still go one after another).
    max_in_flight = 8

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float = 10.0,
        messages_per_second: float = 25.0,
    ) -> None:
        request = HTTPXRequest(connection_pool_size=8, read_timeout=timeout, write_timeout=timeout)
        self.request = request
        self.bot = telegram.Bot(token, base_url=base_url, request=request)
        # The bot's budget across every worker; this one's part follows its partitions.
        self.messages_per_second = messages_per_second
        # A margin under Telegram's documented limits, so our pacing never trips theirs.
        self.limiter = RateLimiter(
            overall=worker_budget(messages_per_second, 1, 1),
            private_chat=Window("private_chat", 1, 1.1),
            group_chat=Window("group_chat", 19, 60.0),
            tolerance=0.0,
        )
        self._turns = ChatTurns()
        self._initialized = False

    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[str]:
        return split_message(rendered.html)

    def share_budget(self, assigned: int, total: int) -> None:
        """Send at this worker's part of the bot's budget: `assigned` of the `total` partitions
        of the Telegram deliveries topic are this worker's (limits.worker_budget)."""
        self.limiter.set_overall(worker_budget(self.messages_per_second, assigned, total))

    @contextlib.asynccontextmanager
    async def paced(self, chat: int | str) -> AsyncIterator[None]:
        """Send to `chat` within the block, at a slot within every limit.

        Sends to different chats pace concurrently: each takes its own slot at once, in the
        order they ask, and a chat that must wait (one message a second in a private chat)
        holds up no other chat. Sends to one chat take turns, and each counts from when it
        really went out, so the next one to that chat keeps its interval to what Telegram saw.
        """
        key = chat if isinstance(chat, int) else hash(chat)
        group = is_group(chat)
        async with self._turns.turn(key):
            slot = self.limiter.reserve_slot(key, group=group)
            metrics.telegram_paced(slot.wait)
            if slot.wait > 0:
                await asyncio.sleep(slot.wait)
            try:
                yield
            finally:
                self.limiter.sent(key, slot.at, group=group)

    async def ready(self) -> telegram.Bot:
        """The bot, initialised once (getMe checks the token)."""
        if not self._initialized:
            await self.bot.initialize()
            self._initialized = True
        return self.bot

    async def deliver(self, message: str, delivery: Delivery) -> Receipt:
        chat = chat_ref(delivery.recipient.address)
        with map_telegram_errors():
            await self.ready()
            async with self.paced(chat):
                sent = await self.bot.send_message(
                    chat_id=chat,
                    text=message,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=telegram.LinkPreviewOptions(is_disabled=True),
                )
        return Receipt(delivery.id, provider_id=f"{sent.chat_id}:{sent.message_id}")

    async def close(self) -> None:
        with contextlib.suppress(NetworkError):
            if self._initialized:
                await self.bot.shutdown()
            else:  # getMe failed (a refused token): the connection it opened is still ours
                await self.request.shutdown()
