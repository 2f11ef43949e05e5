"""A worker and a mail catcher of its own for each fault test: subscribers, counts, checks.

A pytest plugin (tests/conftest.py names it) for the fixture `make_stack`. Each stack has its own
topics, consumer group and state, and everything waits on conditions: emails in the outbox, the
consumer group having committed all work.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from channels.email.channel import IN_FLIGHT_PER_CONNECTION
from devstack.mailcatcher import MailCatcher
from hub.settings import SmtpSettings
from tests.conftest import free_port, read_outbox
from tests.helpers import wait_until
from tests.hubprocess import TOKEN, HubProcess
from tests.kafka_probe import bootstrap_of, consumer_lag

LANGUAGES = ("en", "fr", "es")


def write_subscribers(path: Path, count: int, bounce_every: int = 0) -> list[str]:
    """`count` partners following everything; every `bounce_every`-th address will be refused."""
    entries = []
    for i in range(count):
        bounce = bounce_every and i % bounce_every == 0
        entries.append(
            {
                "id": f"p{i:05d}",
                "kind": "partner",
                "name": f"Partner {i}",
                "language": LANGUAGES[i % 3],
                "email": f"{'bounce' if bounce else 'p'}{i:05d}@partner.example.net",
            }
        )
    path.write_text(yaml.safe_dump({"subscribers": entries}), encoding="utf-8")
    return [e["email"] for e in entries]


def received(outbox: Path) -> collections.Counter[str]:
    """Messages per recipient, read from the catcher's file names (<ns>-<seq>-<rcpt>.eml)."""
    return collections.Counter(p.stem.split("-", 2)[2] for p in outbox.glob("*.eml"))


@dataclass
class Stack:
    hub: HubProcess
    catcher: MailCatcher
    addresses: list[str]
    port: int

    @property
    def outbox(self) -> Path:
        return self.catcher.outbox

    def work_done(self) -> bool:
        topics = [self.hub.topic(k, "email") for k in ("deliveries", "retries")]
        topics.append(f"{self.hub.prefix}.outcomes.v1")
        return consumer_lag(self.hub.env["HUB_APP_ID"], topics, bootstrap_of(self.hub.env)) == 0

    def status(self, event_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.hub.base_url}/api/v1/events/{event_id}/status",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        return response.json() if response.status_code == 200 else {}

    def restart_catcher(self, **kwargs: Any) -> None:
        self.catcher = MailCatcher(self.outbox, port=self.port, **kwargs)
        self.catcher.start()


@pytest.fixture
def make_stack(kafka_broker: str, tmp_path: Path) -> Iterator[Any]:
    started: list[Stack] = []

    def make(
        count: int,
        bounce_every: int = 0,
        templates: Path | None = None,
        **extra: str,
    ) -> Stack:
        subscribers = tmp_path / "subscribers.yaml"
        addresses = write_subscribers(subscribers, count, bounce_every)
        port = free_port()
        catcher = MailCatcher(
            tmp_path / "outbox", port=port, refuse="^bounce" if bounce_every else None
        )
        catcher.start()
        env = {
            "HUB_RETRY__BASE_SECONDS": "0.5",
            "HUB_RETRY__MAX_DELAY_SECONDS": "3",
            "HUB_RETRY__MAX_ATTEMPTS": "40",
            "HUB_KAFKA__SESSION_TIMEOUT_SECONDS": "6",
            "HUB_SMTP__TIMEOUT": "5",
        }
        if templates is not None:
            env["HUB_TEMPLATES_DIR"] = str(templates)
        env.update(extra)
        hub = HubProcess(tmp_path, port, subscribers, **env)
        stack = Stack(hub, catcher, addresses, port)
        started.append(stack)  # stopped afterwards even if it never becomes healthy
        hub.start()
        return stack

    yield make
    for stack in started:
        stack.hub.stop()
        stack.catcher.stop()


def assert_exactly_once(stack: Stack, expected: list[str], crashes: int = 0) -> None:
    """Everyone got the email once. A crash may repeat the messages that were in flight (the
    server had them, the worker died before recording them): at most the pool's size per crash,
    and each the same message, with the same Message-ID."""
    try:
        wait_until(lambda: len(received(stack.outbox)) >= len(expected), timeout=240)
    except AssertionError as exc:
        got = received(stack.outbox)
        missing = sorted(set(expected) - set(got))
        raise AssertionError(
            f"{exc}: {len(got)} of {len(expected)} recipients have their email; missing"
            f" {len(missing)}, first {missing[:5]}\n{stack.hub.log_tail(80)}"
        ) from exc
    wait_until(stack.work_done, timeout=120, what="the worker to commit all its work")
    counts = received(stack.outbox)
    assert set(counts) == set(expected)
    twice = {address: n for address, n in counts.items() if n > 1}
    # A message in flight at two crashes is repeated twice.
    assert sum(n - 1 for n in twice.values()) <= crashes * in_flight(stack), twice
    for address in twice:
        copies = [m for m in read_outbox(stack.outbox) if str(m["To"]).endswith(f"<{address}>")]
        assert len({m["Message-ID"] for m in copies}) == 1


def in_flight(stack: Stack) -> int:
    """How many emails the worker has in flight at most: two per SMTP connection."""
    pool = int(stack.hub.env.get("HUB_SMTP__POOL_SIZE", SmtpSettings().pool_size))
    return pool * IN_FLIGHT_PER_CONNECTION


def hub_json(stack: Stack, *args: str) -> Any:
    done = stack.hub.cli(*args, "--json")
    return json.loads(done.stdout)
