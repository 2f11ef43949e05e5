"""Telegram updates by webhook (HUB_TELEGRAM__MODE=webhook): POST /telegram/webhook takes an update
only with the secret given to setWebhook, and hands it to the same handling as a polled one.

In memory first (the route over a fake BotUpdates, then in the whole app), then over real HTTP:
the Bot API sandbox, told by the runtime's own setWebhook call, POSTs the updates people send to
the route served by uvicorn, and the runtime's handler answers in the chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError
from telegram import Bot

from channels.telegram.channel import TelegramChannel
from hub.model.deliveries import ChannelKey
from hub.model.subscriber_commands import Cause
from hub.rendering.environment import Renderer
from hub.runtime.agents.telegram import WebhookUpdates, set_webhook
from hub.settings import REPO_ROOT, Settings, TelegramSettings
from hub.subscribers.directory import Directory
from hub.subscribers.tokens import Purpose, Signer, issue_compact
from hub.web.app import WebServices, create_api
from hub.web.telegram_webhook import (
    MAX_UPDATE_BYTES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    create_telegram_webhook,
    webhook_url,
)
from tests.conftest import free_port
from tests.helpers import subscriber, wait_until
from tests.sandbox_fixtures import TOKEN, Server, eventually, inject, sent_texts
from tests.sandboxprocess import BOT_TOKEN, MakeStack
from tests.test_web_services import (
    fake_services,
)

SECRET = "a-webhook-secret_of-the-hub-0123456789"
RENDERER = Renderer(REPO_ROOT / "templates")
SIGNER = Signer(b"s" * 32)


@dataclass
class FakeUpdates:
    """BotUpdates that keeps what it is handed."""

    handed: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, update: dict[str, Any]) -> None:
        self.handed.append(update)


def update(update_id: int = 7, text: str = "/help") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "text": text,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "es"},
        },
    }


@pytest.fixture
async def route() -> AsyncIterator[tuple[httpx.AsyncClient, FakeUpdates]]:
    updates = FakeUpdates()
    app = FastAPI()
    app.include_router(create_telegram_webhook(updates, SECRET))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client, updates


# --- the route, in memory -----------------------------------------------------------------------


async def test_an_update_without_the_secret_header_is_refused(
    route: tuple[httpx.AsyncClient, FakeUpdates],
) -> None:
    client, updates = route
    answer = await client.post(WEBHOOK_PATH, json=update())
    assert answer.status_code == 401
    assert updates.handed == []


@pytest.mark.parametrize(
    "given",
    ["wrong", SECRET[:-1], SECRET + "x", "", SECRET.upper(), "é" + SECRET[1:]],
)
async def test_an_update_with_a_wrong_secret_is_refused(
    route: tuple[httpx.AsyncClient, FakeUpdates], given: str
) -> None:
    client, updates = route
    headers = {SECRET_HEADER.encode(): given.encode("utf-8")}  # raw bytes, as any client sends
    answer = await client.post(WEBHOOK_PATH, json=update(), headers=headers)
    assert answer.status_code == 403
    assert updates.handed == []


async def test_an_update_with_the_secret_is_handed_on_as_it_came(
    route: tuple[httpx.AsyncClient, FakeUpdates],
) -> None:
    client, updates = route
    for number in (7, 8):
        answer = await client.post(
            WEBHOOK_PATH, json=update(number), headers={SECRET_HEADER: SECRET}
        )
        assert answer.status_code == 200
    assert updates.handed == [update(7), update(8)]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', b"[" * 5000 + b"]" * 5000],
)
async def test_what_is_no_update_is_refused_even_with_the_secret(
    route: tuple[httpx.AsyncClient, FakeUpdates], body: bytes
) -> None:
    client, updates = route
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    answer = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert answer.status_code == 400
    assert updates.handed == []


async def test_an_oversized_update_is_refused(
    route: tuple[httpx.AsyncClient, FakeUpdates],
) -> None:
    client, updates = route
    body = b'{"update_id": 1, "x": "' + b"a" * MAX_UPDATE_BYTES + b'"}'
    answer = await client.post(WEBHOOK_PATH, content=body, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 413
    assert updates.handed == []


# --- in the whole app ---------------------------------------------------------------------------


def app_services(settings: Settings, updates: FakeUpdates | None) -> WebServices:
    return fake_services(
        settings,
        renderer=RENDERER,
        signer=SIGNER,
        channels=[ChannelKey.EMAIL, ChannelKey.TELEGRAM],
        bot_updates=updates,
    )


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_the_app_serves_the_webhook_in_webhook_mode_only(tmp_path: Path, mode: str) -> None:
    telegram = TelegramSettings(mode=mode, webhook_secret=SecretStr(SECRET))
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("s" * 32), telegram=telegram)
    updates = FakeUpdates()
    transport = httpx.ASGITransport(app=create_api(app_services(settings, updates)))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        refused = await client.post(WEBHOOK_PATH, json=update(), headers={SECRET_HEADER: "x"})
        answer = await client.post(WEBHOOK_PATH, json=update(), headers={SECRET_HEADER: SECRET})
        schema = (await client.get("/openapi.json")).json()
    if mode == "webhook":
        assert (refused.status_code, answer.status_code) == (403, 200)
        assert updates.handed == [update()]
    else:
        assert answer.status_code in (404, 405)
        assert updates.handed == []
    assert WEBHOOK_PATH not in schema["paths"]  # not part of the documented API


def test_webhook_mode_needs_a_secret_telegram_accepts() -> None:
    with pytest.raises(ValidationError, match="needs webhook_secret"):
        TelegramSettings(mode="webhook")
    with pytest.raises(ValidationError, match="A-Z"):
        TelegramSettings(mode="webhook", webhook_secret=SecretStr("has spaces and : colons"))
    with pytest.raises(ValidationError):
        TelegramSettings(mode="push")
    assert TelegramSettings().mode == "polling"


def test_webhook_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("HUB_TELEGRAM__MODE", "webhook")
    monkeypatch.setenv("HUB_TELEGRAM__WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HUB_WEB__PUBLIC_URL", "https://hub.example.org/")
    settings = Settings()
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.webhook_secret is not None
    assert SECRET not in repr(settings.telegram)
    assert webhook_url(settings.web.public_url) == "https://hub.example.org/telegram/webhook"


# --- over HTTP, from the Bot API sandbox --------------------------------------------------------


@dataclass
class Written:
    """The runtime's subscriber commands topic, as far as the bot is concerned."""

    records: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: dict[str, Any]) -> None:
        self.records.append((key, value))


@pytest.fixture
async def served_hub(server: Server) -> AsyncIterator[tuple[str, Any, TelegramChannel]]:
    """The webhook route over the runtime's WebhookUpdates, served by uvicorn on a free port;
    the runtime's few parts the bot uses are in memory, its Telegram channel the sandbox's."""
    person = subscriber("ext-1", language="fr")
    sender = TelegramChannel(TOKEN, f"{server.url}/bot", timeout=5)
    runtime = SimpleNamespace(
        channels={ChannelKey.TELEGRAM: SimpleNamespace(channel=sender)},
        directory=Directory({person.id: person.to_dict()}),
        signer=SIGNER,
        renderer=RENDERER,
        subscriber_commands=Written(),
    )
    app = FastAPI()
    app.include_router(create_telegram_webhook(WebhookUpdates(runtime), SECRET))  # type: ignore[arg-type]
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    web = uvicorn.Server(config)
    task = asyncio.create_task(web.serve())
    try:
        await eventually(lambda: web.started)
        yield f"http://127.0.0.1:{port}", runtime, sender
    finally:
        web.should_exit = True
        await task
        await sender.close()


async def test_the_sandbox_posts_updates_to_the_webhook_and_the_bot_answers(
    served_hub: tuple[str, Any, TelegramChannel], control: httpx.AsyncClient, bot: Bot
) -> None:
    public_url, runtime, sender = served_hub
    await set_webhook(sender, webhook_url(public_url), SECRET)
    info = await bot.get_webhook_info()
    assert info.url == f"{public_url}/telegram/webhook"
    token = issue_compact(SIGNER, "ext-1", Purpose.TELEGRAM, datetime.now(UTC))
    await inject(control, chat_id=77, text=f"/start {token}")
    await eventually(lambda: len(runtime.subscriber_commands.records) == 1)
    (key, value) = runtime.subscriber_commands.records[0]
    assert key == b"ext-1" and value["cause"] == Cause.TELEGRAM_LINKED.value
    await eventually(lambda: _has_text(control, 77, "Bienvenue"))
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_the_sandbox_with_another_secret_gets_403_and_nothing_is_answered(
    served_hub: tuple[str, Any, TelegramChannel], control: httpx.AsyncClient, bot: Bot
) -> None:
    public_url, runtime, sender = served_hub
    await set_webhook(sender, webhook_url(public_url), "not-the-hubs-secret")
    await inject(control, chat_id=77, text="/help")

    async def refused() -> bool:
        info = await bot.get_webhook_info()
        return "403" in (info.last_error_message or "")

    await eventually(refused)
    assert runtime.subscriber_commands.records == []
    assert await sent_texts(control, 77) == []


async def _has_text(control: httpx.AsyncClient, chat_id: int, text: str) -> bool:
    return any(text in sent for sent in await sent_texts(control, chat_id))


# --- a real worker in webhook mode --------------------------------------------------------------


@pytest.mark.kafka
@pytest.mark.timeout(300)
def test_a_worker_in_webhook_mode_sets_its_webhook_and_answers_through_it(
    telegram_stack: MakeStack,
) -> None:
    person = {
        "id": "ext-ana",
        "kind": "partner",
        "name": "Ana",
        "language": "es",
        "email": "ana@ong.example.org",
    }
    hub, sandbox, _catcher = telegram_stack(
        [person], HUB_TELEGRAM__MODE="webhook", HUB_TELEGRAM__WEBHOOK_SECRET=SECRET
    )
    info_url = f"{sandbox.url}/bot{BOT_TOKEN}/getWebhookInfo"
    wait_until(
        lambda: (
            httpx.get(info_url, timeout=5).json()["result"]["url"]
            == f"{hub.base_url}/telegram/webhook"
        ),
        what="the worker's setWebhook",
    )
    chat = 6001
    sandbox.control("POST", "chats", id=chat, type="private", first_name="Ana", language_code="es")
    sandbox.control("POST", "updates", chat_id=chat, text="/help")
    wait_until(lambda: sandbox.messages(chat), what="the bot's answer, by webhook")
    refused = httpx.post(
        f"{hub.base_url}/telegram/webhook",
        json=update(99),
        headers={SECRET_HEADER: "not-the-secret"},
        timeout=10,
    )
    assert refused.status_code == 403
    info = httpx.get(info_url, timeout=5).json()["result"]
    assert info["pending_update_count"] == 0 and "last_error_message" not in info
