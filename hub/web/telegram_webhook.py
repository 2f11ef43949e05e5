"""POST /telegram/webhook: the bot's updates when Telegram pushes them (HUB_TELEGRAM__MODE=webhook).

Telegram sends each update with the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token;
anything else is refused before its body is read: 401 without the header, 403 with a wrong one
(compared in constant time). An accepted update is answered by the same code as a polled one
(hub.services.BotUpdates), and the answer is 200 once it has been handled: Telegram sends an update
again, in order, until it gets a 2xx.
"""

# No `from __future__ import annotations` here: FastAPI must see real annotations on routes.

import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from hub.services import BotUpdates

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - the name of a header
# Telegram's updates are a few kilobytes; a message of 4,096 characters with its entities stays
# far below this.
MAX_UPDATE_BYTES = 1024 * 1024


def webhook_url(public_url: str) -> str:
    """Where Telegram is told to send updates: the hub's public address, which every worker
    answers behind the proxy."""
    return public_url.rstrip("/") + WEBHOOK_PATH


def create_telegram_webhook(updates: BotUpdates, secret: str) -> APIRouter:
    router = APIRouter()
    expected = secret.encode()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return _refused(401, f"{SECRET_HEADER} missing")
        # Header values are latin-1 text in Starlette: bytes again, compared in constant time.
        if not hmac.compare_digest(given.encode("latin-1"), expected):
            return _refused(403, f"wrong {SECRET_HEADER}")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_UPDATE_BYTES):
            return _refused(413, "update too large")
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return _refused(413, "update too large")
        update = _update(body)
        if update is None:
            return _refused(400, "not a Telegram Update")
        await updates.handle(update)
        return JSONResponse({"ok": True})

    return router


def _update(body: bytes) -> dict[str, Any] | None:
    try:
        update = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(update, dict):
        return None
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    return update


def _refused(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
