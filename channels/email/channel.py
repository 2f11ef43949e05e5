"""Email channel: multipart/alternative messages sent through a pool of SMTP connections."""

from __future__ import annotations

from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import ClassVar

from channels.base import Channel, Receipt
from channels.email.mime import build_message, header_text, wire_bytes
from channels.email.pool import SmtpPool, map_smtp_errors
from hub.errors import ConfigurationError, RecipientRejectedError
from hub.model.deliveries import ChannelKey, Delivery
from hub.rendering.environment import Rendered
from hub.settings import SmtpSettings


class EmailChannel(Channel[EmailMessage]):
    """Builds multipart/alternative email and sends it over SMTP."""

    key: ClassVar[ChannelKey] = ChannelKey.EMAIL

    def __init__(self, settings: SmtpSettings, *, message_id_domain: str = "hub.example.org"):
        name, addr = parseaddr(settings.sender)
        if "@" not in addr:
            raise ConfigurationError(f"HUB_SMTP__SENDER is not an email address: {addr!r}")
        self.sender = Address(display_name=header_text(name), addr_spec=addr)
        self.message_id_domain = message_id_domain
        self.pool = SmtpPool(settings)
        self.max_in_flight = settings.pool_size  # one message per connection at a time

    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[EmailMessage]:
        return [
            build_message(
                rendered,
                delivery,
                sender=self.sender,
                message_id_domain=self.message_id_domain,
            )
        ]

    async def deliver(self, message: EmailMessage, delivery: Delivery) -> Receipt:
        recipient = delivery.recipient.address
        # Internationalised addresses need SMTPUTF8 (RFC 6531); everything else stays 7-bit safe.
        utf8 = not (self.sender.addr_spec + recipient).isascii()
        data = wire_bytes(message, utf8=utf8)
        async with self.pool.connection() as client:
            with map_smtp_errors():
                refused, response = await client.sendmail(
                    self.sender.addr_spec,
                    [recipient],
                    data,
                    mail_options=["SMTPUTF8"] if utf8 else [],
                )
        if refused:  # one recipient per message: a partial refusal is a refusal
            detail = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in refused.items())
            raise RecipientRejectedError(detail)
        return Receipt(delivery.id, provider_id=str(message["Message-ID"]), detail=response)

    async def close(self) -> None:
        await self.pool.close()
