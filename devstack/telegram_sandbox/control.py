"""The control API under /sandbox: chats, messages, updates, faults, statistics, reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict

from aiohttp import web

from devstack.telegram_sandbox.errors import ControlError
from devstack.telegram_sandbox.faults import Fault
from devstack.telegram_sandbox.params import chat_key
from devstack.telegram_sandbox.sandbox import TelegramSandbox
from devstack.telegram_sandbox.state import Chat, ChatRoom
from devstack.telegram_sandbox.wire import JSON, json_response


async def _control_body(request: web.Request) -> JSON:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


@web.middleware
async def control_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ControlError as error:
        return json_response({"error": str(error)}, status=error.status)


class ControlRoutes:
    """The control API's handlers: chats, their messages, updates, faults, stats and reset."""

    def __init__(self, sandbox: TelegramSandbox) -> None:
        self.sandbox = sandbox

    def _room(self, request: web.Request) -> ChatRoom:
        room = self.sandbox.find_room(chat_key(request.match_info["chat_id"]))
        if room is None:
            raise ControlError("no such chat", status=404)
        return room

    async def list_chats(self, _request: web.Request) -> web.Response:
        return json_response({"chats": self.sandbox.chats_json()})

    async def add_chat(self, request: web.Request) -> web.Response:
        room = self.sandbox.register_chat(Chat.from_json(await _control_body(request)))
        return json_response({"chat": room.chat.summary()}, status=201)

    async def chat_messages(self, request: web.Request) -> web.Response:
        room = self._room(request)
        everything = request.query.get("all") in ("1", "true")
        stored = room.messages.values() if everything else room.sent()
        messages = [m.as_json() for m in stored]
        return json_response({"chat": room.chat.summary(), "messages": messages})

    async def stats(self, _request: web.Request) -> web.Response:
        return json_response(self.sandbox.stats.as_json())

    async def sends(self, _request: web.Request) -> web.Response:
        """For tests: every message sent, its time and chat, and each limit it broke."""
        return json_response(self.sandbox.account.as_json())

    async def requests(self, request: web.Request) -> web.Response:
        method = request.query.get("method", "").lower()
        entries = [e for e in self.sandbox.requests if not method or e["method"].lower() == method]
        return json_response({"requests": entries})

    async def add_update(self, request: web.Request) -> web.Response:
        update = await self.sandbox.inject_update(await _control_body(request))
        return json_response({"update": update}, status=201)

    async def list_faults(self, _request: web.Request) -> web.Response:
        return json_response({"faults": self.sandbox.faults_json()})

    async def add_fault(self, request: web.Request) -> web.Response:
        fault = Fault.from_json(await _control_body(request))
        self.sandbox.faults.append(fault)
        return json_response({"fault": asdict(fault)}, status=201)

    async def clear_faults(self, _request: web.Request) -> web.Response:
        self.sandbox.faults.clear()
        return json_response({"faults": []})

    async def reset(self, _request: web.Request) -> web.Response:
        await self.sandbox.reset()
        return json_response({"reset": True})
