"""The email channel against a real SMTP server (aiosmtpd): MIME shape, pooling, error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.channel import EmailChannel
from devstack.mailcatcher import MailCatcher
from hub.errors import RecipientRejectedError, TransientDeliveryError
from hub.planning.routing import plan
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, SmtpSettings
from tests.conftest import free_port, read_outbox
from tests.helpers import event, subscriber

RENDERER = Renderer(REPO_ROOT / "templates")


def channel_for(port: int, pool_size: int = 2) -> EmailChannel:
    return EmailChannel(SmtpSettings(port=port, pool_size=pool_size, timeout=5))


async def test_email_is_multipart_alternative_with_text_and_html(mail_catcher: MailCatcher) -> None:
    news = event()
    camille = subscriber("camille", language="fr", name='Camille "C" Lefèvre')
    (delivery,) = plan(news, [camille])
    channel = channel_for(mail_catcher.controller.port)
    try:
        receipts = await channel.send(RENDERER.render(news, "email", "fr"), delivery)
    finally:
        await channel.close()
    (message,) = read_outbox(mail_catcher.outbox)
    assert receipts[0].provider_id == message["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert message["Subject"] == news.content["fr"].title
    assert message["To"].addresses[0].addr_spec == camille.email
    assert message["Content-Language"] == "fr"
    assert message["X-Hub-Delivery-Id"] == delivery.id


class CountingHandler:
    """An SMTP server that counts connections and EHLOs, and holds each DATA until `hold`
    messages are in DATA at once (then lets every message through): only a client with that
    many connections busy at the same time gets past the first message in time."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.connections = 0
        self.greetings = 0
        self.in_data = 0
        self.most_in_data = 0
        self.accepted = 0
        self.enough: asyncio.Event | None = None

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.enough is None:
            self.enough = asyncio.Event()
        self.in_data += 1
        self.most_in_data = max(self.most_in_data, self.in_data)
        if self.in_data >= self.hold:
            self.enough.set()
        try:
            await asyncio.wait_for(self.enough.wait(), timeout=3)
        except TimeoutError:
            return "451 4.3.0 held too long: the client never had enough messages in flight"
        finally:
            self.in_data -= 1
        self.accepted += 1
        return "250 OK"


class CountingController(Controller):
    def factory(self) -> SMTP:
        handler = self.handler

        class Counting(SMTP):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                handler.connections += 1
                super().connection_made(transport)

        return Counting(handler, **self.SMTP_kwargs)


@pytest.fixture
def counting_server() -> Iterator[tuple[CountingHandler, int]]:
    handler = CountingHandler(hold=3)
    controller = CountingController(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.connections = 0  # start() made one of its own, to check the server answers
    try:
        yield handler, controller.port
    finally:
        controller.stop()


async def test_pool_sends_concurrently_on_at_most_pool_size_connections(
    counting_server: tuple[CountingHandler, int],
) -> None:
    server, port = counting_server
    news = event()
    deliveries = plan(news, [subscriber(f"r{i}") for i in range(30)])
    channel = channel_for(port, pool_size=3)
    rendered = RENDERER.render(news, "email", "en")
    try:
        await asyncio.gather(*(channel.send(rendered, d) for d in deliveries))
    finally:
        await channel.close()
    assert server.accepted == 30
    assert server.most_in_data == 3  # three messages in DATA at the same moment
    # Connections are opened as sends need them and reused: three for thirty messages.
    assert server.connections == 3 and server.greetings == 3


async def test_pool_opens_connections_only_when_needed(
    counting_server: tuple[CountingHandler, int],
) -> None:
    server, port = counting_server
    server.hold = 1
    news = event()
    deliveries = plan(news, [subscriber(f"r{i}") for i in range(5)])
    channel = channel_for(port, pool_size=8)
    rendered = RENDERER.render(news, "email", "en")
    try:
        for delivery in deliveries:  # one at a time: one connection, reused
            await channel.send(rendered, delivery)
    finally:
        await channel.close()
    assert server.accepted == 5
    assert server.connections == 1 and server.greetings == 1


async def test_refused_recipient_is_a_permanent_rejection(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    news = event()
    (delivery,) = plan(news, [subscriber("bounce")])
    with MailCatcher(tmp_path / "outbox", port=free_port(), refuse="bounce@") as catcher:
        channel = channel_for(catcher.controller.port)
        try:
            with pytest.raises(RecipientRejectedError, match="550"):
                await channel.send(RENDERER.render(news, "email", "en"), delivery)
        finally:
            await channel.close()
        assert read_outbox(catcher.outbox) == []


async def test_unreachable_server_is_transient() -> None:
    news = event()
    (delivery,) = plan(news, [subscriber("x")])
    channel = channel_for(free_port())  # nothing listens there
    with pytest.raises(TransientDeliveryError):
        await channel.send(RENDERER.render(news, "email", "en"), delivery)
    await channel.close()
