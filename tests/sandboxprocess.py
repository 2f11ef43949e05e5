"""The Telegram Bot API sandbox in a subprocess, with its control API for tests.

Also a pytest plugin (tests/conftest.py names it) for `telegram_stack`: a worker with the sandbox
and a mail catcher of its own.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from tests.conftest import free_port
from tests.helpers import wait_until
from tests.hubprocess import HubProcess

BOT_TOKEN = "424242:test-bot-token"


class SandboxProcess:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "sandbox.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devstack.telegram_sandbox",
                    "--port",
                    str(self.port),
                    "--token",
                    BOT_TOKEN,
                    "--record-dir",
                    str(workdir / "telegram"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._up, timeout=30, what="the Telegram sandbox")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"sandbox exited: {self.log.read_text()}")
        try:
            return httpx.get(f"{self.url}/sandbox/stats", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def hub_env(self) -> dict[str, str]:
        return {
            "HUB_TELEGRAM__BASE_URL": f"{self.url}/bot",
            "HUB_TELEGRAM__TOKEN": BOT_TOKEN,
            "HUB_TELEGRAM__POLL_UPDATES": "true",
        }

    def control(self, verb: str, path: str, **body: Any) -> Any:
        response = httpx.request(verb, f"{self.url}/sandbox/{path}", json=body or None, timeout=10)
        response.raise_for_status()
        return response.json()

    def messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        result = self.control("GET", f"chats/{chat_id}/messages")
        return list(result.get("messages", result) if isinstance(result, dict) else result)

    def stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "stats"))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


Stack = tuple[HubProcess, SandboxProcess, MailCatcher]


class MakeStack(Protocol):
    def __call__(
        self, people: list[dict[str, Any]], *, refuse: str | None = None, **env: str
    ) -> Stack: ...


@pytest.fixture
def telegram_stack(kafka_broker: str, tmp_path: Path) -> Iterator[MakeStack]:
    """Starts a worker for these subscribers with its own sandbox and mail catcher (which refuses
    the addresses matching `refuse` with 550); all stopped afterwards, the worker first."""
    started: list[Callable[[], None]] = []

    def make(people: list[dict[str, Any]], *, refuse: str | None = None, **env: str) -> Stack:
        sandbox = SandboxProcess(tmp_path)
        started.append(sandbox.stop)
        catcher = MailCatcher(tmp_path / "outbox", port=free_port(), refuse=refuse)
        catcher.start()
        started.append(catcher.stop)
        path = tmp_path / "people.yaml"
        path.write_text(yaml.safe_dump({"subscribers": people}), encoding="utf-8")
        hub = HubProcess(tmp_path, catcher.controller.port, path, **sandbox.hub_env, **env)
        started.append(hub.stop)
        hub.start()
        return hub, sandbox, catcher

    yield make
    for stop in reversed(started):
        stop()
