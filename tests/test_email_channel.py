"""The email channel against a real SMTP server (aiosmtpd): MIME shape, pooling, error mapping."""

from __future__ import annotations

import asyncio

import pytest

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


async def test_pool_reuses_connections_across_many_messages(mail_catcher: MailCatcher) -> None:
    news = event()
    deliveries = plan(news, [subscriber(f"r{i}") for i in range(20)])
    channel = channel_for(mail_catcher.controller.port, pool_size=3)
    rendered = RENDERER.render(news, "email", "en")
    try:
        await asyncio.gather(*(channel.send(rendered, d) for d in deliveries))
        assert channel.pool._idle.qsize() <= 3  # at most pool_size connections were ever opened
    finally:
        await channel.close()
    assert len(read_outbox(mail_catcher.outbox)) == 20


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
