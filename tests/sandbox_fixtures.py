"""The Telegram sandbox served on a free port with a fake clock, and the clients that drive it.

A pytest plugin (tests/conftest.py names it): the fixtures `server`, `bot` and `control` serve
every test module of the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot

from devstack.telegram_sandbox import TelegramSandbox, serve

TOKEN = "123456:test-token-for-the-sandbox"
OTHER_TOKEN = "654321:another-bot"
CHANNEL_ID = -1001234567890
GROUP_ID = -4242


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Server:
    sandbox: TelegramSandbox
    url: str
    clock: FakeClock
    record_dir: Path


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    clock = FakeClock()
    record_dir = tmp_path / "telegram"
    sandbox = TelegramSandbox([TOKEN, OTHER_TOKEN], record_dir=record_dir, clock=clock)
    async with serve(sandbox) as url:
        yield Server(sandbox, url, clock, record_dir)


@pytest.fixture
async def bot(server: Server) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{server.url}/bot") as client:  # initialize() calls getMe
        yield client


@pytest.fixture
async def control(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def eventually(condition: Callable[[], Awaitable[bool] | bool], within: float = 10) -> None:
    """Wait until `condition` holds, checking it often; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = condition()
            if await result if isinstance(result, Awaitable) else result:
                return
            await asyncio.sleep(0.01)


async def sent_texts(control: httpx.AsyncClient, chat_id: int | str) -> list[str]:
    response = await control.get(f"/sandbox/chats/{chat_id}/messages")
    if response.status_code == 404:
        return []
    return [record["message"]["text"] for record in response.json()["messages"]]


async def add_fault(control: httpx.AsyncClient, **fault: Any) -> None:
    response = await control.post("/sandbox/faults", json=fault)
    assert response.status_code == 201, response.text


async def inject(control: httpx.AsyncClient, **update: Any) -> dict[str, Any]:
    response = await control.post("/sandbox/updates", json=update)
    assert response.status_code == 201, response.text
    return dict(response.json()["update"])
