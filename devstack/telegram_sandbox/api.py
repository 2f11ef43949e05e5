"""The Bot API over HTTP: /bot<token>/<method>, its parameters and Telegram's JSON answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from devstack.telegram_sandbox.errors import ApiError, Described, bad_request
from devstack.telegram_sandbox.params import Params
from devstack.telegram_sandbox.sandbox import TelegramSandbox
from devstack.telegram_sandbox.wire import json_response


async def read_params(request: web.Request) -> Params:
    """Query string, then a JSON, url-encoded or multipart body, as the Bot API accepts."""
    values: dict[str, Any] = dict(request.query)
    if request.body_exists:
        values.update(await _read_body(request))
    return Params(values)


async def _read_body(request: web.Request) -> Mapping[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON object")
        return body
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        # Uploaded files are not kept; a parameter that is a file keeps its file name.
        return {k: v.filename if isinstance(v, FileField) else v for k, v in form.items()}
    return {}


class BotApi:
    """The Bot API under /bot<token>/<method>."""

    def __init__(self, sandbox: TelegramSandbox) -> None:
        self.sandbox = sandbox

    async def api(self, request: web.Request) -> web.Response:
        try:
            bot = self.sandbox.bot(request.match_info["token"])
            params = await read_params(request)
            answer = await self.sandbox.call(bot, request.match_info["method"], params)
        except ApiError as error:
            return error.response()
        if isinstance(answer, Described):
            return json_response(
                {"ok": True, "result": answer.result, "description": answer.description}
            )
        return json_response({"ok": True, "result": answer})
