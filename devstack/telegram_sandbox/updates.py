"""The Bot API's update methods: long polling with getUpdates, and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import ClientConnectorError, ClientError, ClientSession, ClientTimeout

from devstack.telegram_sandbox.base import SandboxBase
from devstack.telegram_sandbox.errors import ApiError, Described, bad_request
from devstack.telegram_sandbox.params import Params
from devstack.telegram_sandbox.state import BotState, Webhook
from devstack.telegram_sandbox.wire import JSON, dumps

SECRET_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")

log = logging.getLogger(__package__)


class UpdateMethods(SandboxBase):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo and the webhook deliveries."""

    async def get_updates(self, bot: BotState, params: Params) -> list[JSON]:
        self._refuse_polling_with_webhook(bot)
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout"), 0.0)
        _confirm_updates(bot, offset)
        bot.poll_generation += 1
        generation = bot.poll_generation
        await self._wake(bot)  # a newer getUpdates ends the one still waiting, as on Telegram
        if not bot.updates and timeout:
            await self._wait(bot, timeout, lambda: bool(bot.updates) or bot.webhook is not None)
        if bot.poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        self._refuse_polling_with_webhook(bot)
        return bot.updates[:limit]

    @staticmethod
    def _refuse_polling_with_webhook(bot: BotState) -> None:
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    async def _wait(self, bot: BotState, seconds: float, ready: Callable[[], bool]) -> None:
        """Sleep on the bot's condition until `ready`, a newer poll, shutdown or the timeout."""
        generation = bot.poll_generation

        def done() -> bool:
            return ready() or bot.poll_generation != generation or self._closing.is_set()

        async with bot.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.changed.wait_for(done), seconds)

    async def set_webhook(self, bot: BotState, params: Params) -> Described:
        url = params.string("url") or ""
        if not url:
            return await self.delete_webhook(bot, params)
        _check_webhook_url(url)
        secret = params.string("secret_token")
        if secret is not None and not SECRET_TOKEN_PATTERN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.structure("allowed_updates", what="allowed updates")
        unchanged = bot.webhook is not None and bot.webhook.url == url
        if params.flag("drop_pending_updates"):
            bot.updates.clear()
        self._stop_webhook(bot)
        max_connections = min(max(params.integer("max_connections") or 40, 1), 100)
        hook = Webhook(url, secret, max_connections, allowed)
        bot.webhook = hook
        self._deliveries[bot.token] = asyncio.get_running_loop().create_task(
            self._deliver(bot, hook), name=f"webhook delivery for @{bot.user['username']}"
        )
        await self._wake(bot)  # a waiting getUpdates now answers 409
        return Described(True, "Webhook is already set" if unchanged else "Webhook was set")

    async def delete_webhook(self, bot: BotState, params: Params) -> Described:
        had = bot.webhook is not None
        self._stop_webhook(bot)
        if params.flag("drop_pending_updates"):
            bot.updates.clear()
        return Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def get_webhook_info(self, bot: BotState, _params: Params) -> JSON:
        hook = bot.webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if hook is not None:
            info.update(ip_address="127.0.0.1", max_connections=hook.max_connections)
            extra = {
                "allowed_updates": hook.allowed_updates,
                "last_error_date": hook.last_error_date,
                "last_error_message": hook.last_error_message,
            }
            info.update({k: v for k, v in extra.items() if v is not None})
        return info

    def _stop_webhook(self, bot: BotState) -> None:
        bot.webhook = None
        task = self._deliveries.pop(bot.token, None)
        if task is not None:
            task.cancel()

    async def _deliver(self, bot: BotState, hook: Webhook) -> None:
        """POST pending updates to the webhook in order, retrying with growing pauses."""
        failures = 0
        while True:
            async with bot.changed:
                await bot.changed.wait_for(
                    lambda: bool(bot.updates) or bot.webhook is not hook or self._closing.is_set()
                )
            if bot.webhook is not hook or self._closing.is_set():
                return
            update = bot.updates[0]
            error = await self._post_update(hook, update)
            if error is None:
                failures = 0
                if bot.updates and bot.updates[0] is update:
                    bot.updates.pop(0)
                continue
            hook.last_error_date, hook.last_error_message = int(time.time()), error
            log.info("webhook %s: %s", hook.url, error)
            failures += 1
            if await self._pause(min(2.0**failures, 60.0)):
                return

    async def _post_update(self, hook: Webhook, update: JSON) -> str | None:
        """Deliver one update; None on a 2xx answer, else Telegram's last_error_message."""
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        try:
            async with self._session.post(hook.url, data=dumps(update), headers=headers) as answer:
                if 200 <= answer.status < 300:
                    return None
                return f"Wrong response from the webhook: {answer.status} {answer.reason}"
        except ClientConnectorError:
            return "Connection refused"
        except TimeoutError:
            return "Read timeout expired"
        except ClientError as error:
            return f"Connection failed: {error}"


def _confirm_updates(bot: BotState, offset: int) -> None:
    """Telegram forgets updates below a positive offset; -N keeps only the last N."""
    if offset > 0:
        bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
    elif offset < 0:
        bot.updates = bot.updates[offset:]


def _check_webhook_url(url: str) -> None:
    # Telegram wants HTTPS on port 443, 80, 88 or 8443; the sandbox takes any loopback URL
    # instead, so it never sends an update off this machine.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: invalid webhook URL specified")
    if not _is_loopback(parts.hostname):
        raise bad_request("bad webhook: the sandbox only delivers to loopback addresses")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
