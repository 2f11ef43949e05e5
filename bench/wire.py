"""The message the hub sends, and the reference senders of S1: smtp-source, a naive loop, and
the hub's SMTP client library alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import smtplib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import aiosmtplib

from bench.stack import SOURCE, Sink
from channels.email.channel import EmailChannel
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks, Recipient
from hub.model.events import Event
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, SmtpSettings

EXAMPLE = (
    REPO_ROOT / "schemas/examples/announcement.published.v1/valid/partnership-west-africa.json"
)
SENDER = "hub@hub.example.org"
RECIPIENT = "b0000001@staff.hub.example.org"


def sample_message() -> bytes:
    """One recipient's email of the example event, built by the hub's own code."""
    event = Event.from_document(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    delivery = Delivery(
        "d-bench",
        event.id,
        ChannelKey.EMAIL,
        "fr",
        Recipient("b0000001", "Bench Person 1", RECIPIENT),
        links=PersonalLinks("https://h/p?t=1", "https://h/u?t=1", "mailto:u@h?subject=1"),
    )
    rendered = Renderer(REPO_ROOT / "templates").render(event, "email", "fr")
    (message,) = EmailChannel(SmtpSettings()).build(rendered, delivery)
    return message.data


async def ceiling(message: bytes, count: int, workdir: Path, sessions: int = 8) -> float:
    """smtp-source pushing `message` `count` times over `sessions` connections: messages/s."""
    path = workdir / "message.eml"
    # smtp-source -F appends CRLF to each line itself.
    path.write_bytes(message.replace(b"\r\n", b"\n"))
    sink = Sink(count)
    argv = [SOURCE, "-d", "-s", str(sessions), "-m", str(count), "-F", str(path)]
    argv += ["-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{sink.port}"]
    started = time.monotonic()
    # smtp-source complains when the sink leaves as soon as it has its count: only the sink counts.
    source = _start(argv)
    try:
        ended = await sink.done(within=600)
    finally:
        if source.poll() is None:
            source.terminate()
        source.wait()
    return count / (ended - started)


async def naive(message: bytes, count: int) -> float:
    """A sequential smtplib loop on one connection, the same message each time: messages/s."""
    sink = Sink(count)

    def loop() -> None:
        with smtplib.SMTP("127.0.0.1", sink.port) as client:
            for _ in range(count):
                client.sendmail(SENDER, [RECIPIENT], message)
                if sink.process.poll() is not None:
                    return  # the sink left after the last one; no QUIT to answer it

    started = time.monotonic()
    thread = asyncio.create_task(asyncio.to_thread(_quietly, loop))
    ended = await sink.done(within=3600)
    await thread
    return count / (ended - started)


async def client_alone(message: bytes, count: int, connections: int = 8) -> float:
    """aiosmtplib, the hub's SMTP client, sending `message` `count` times over `connections`
    concurrent connections in this one process and nothing else (no Kafka, no building):
    messages/s. What one process can send with it at all, the bound of a single worker."""
    sink = Sink(count)
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port) for _ in range(connections)]
    for client in clients:
        await client.connect()
    remaining = iter(range(count))

    async def send_through(client: aiosmtplib.SMTP) -> None:
        for _ in remaining:
            try:
                await client.sendmail(SENDER, [RECIPIENT], message)
            except aiosmtplib.SMTPException:
                return  # the sink left after the last one

    started = time.monotonic()
    senders = asyncio.gather(*(send_through(client) for client in clients))
    ended = await sink.done(within=3600)
    await senders
    for client in clients:
        client.close()
    return count / (ended - started)


def _start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _quietly(loop: Callable[[], None]) -> None:
    with contextlib.suppress(smtplib.SMTPServerDisconnected):  # the sink exits at its count
        loop()
