"""The aiohttp application with every route, and serve() to run it in a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from devstack.telegram_sandbox.api import BotApi
from devstack.telegram_sandbox.control import ControlRoutes, control_errors
from devstack.telegram_sandbox.pages import Pages
from devstack.telegram_sandbox.sandbox import TelegramSandbox

DEFAULT_PORT = 8081


def make_app(sandbox: TelegramSandbox) -> web.Application:
    api, control, pages = BotApi(sandbox), ControlRoutes(sandbox), Pages(sandbox)
    app = web.Application(middlewares=[control_errors])
    app.router.add_route("*", "/bot{token}/{method}", api.api)
    app.router.add_get("/sandbox/chats", control.list_chats)
    app.router.add_post("/sandbox/chats", control.add_chat)
    app.router.add_get("/sandbox/chats/{chat_id}/messages", control.chat_messages)
    app.router.add_get("/sandbox/stats", control.stats)
    app.router.add_get("/sandbox/requests", control.requests)
    app.router.add_get("/sandbox/sends", control.sends)
    app.router.add_post("/sandbox/updates", control.add_update)
    app.router.add_get("/sandbox/faults", control.list_faults)
    app.router.add_post("/sandbox/faults", control.add_fault)
    app.router.add_delete("/sandbox/faults", control.clear_faults)
    app.router.add_post("/sandbox/reset", control.reset)
    app.router.add_get("/", pages.index_page)
    app.router.add_get("/chats/{chat_id}", pages.chat_page)
    app.on_startup.append(sandbox.on_startup)
    app.on_shutdown.append(sandbox.on_shutdown)
    app.on_cleanup.append(sandbox.on_cleanup)
    return app


@contextlib.asynccontextmanager
async def serve(
    sandbox: TelegramSandbox, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the sandbox on host:port (0: a free port) and yield its base URL."""
    runner = web.AppRunner(make_app(sandbox), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
