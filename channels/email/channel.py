"""Email channel: multipart/alternative messages sent through a pool of SMTP connections."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.headerregistry import Address
from email.utils import parseaddr
from typing import ClassVar

from channels.base import Channel, Receipt
from channels.email.dkim import DkimKey, dkim_sign
from channels.email.mime import header_text
from channels.email.pool import SmtpPool, map_smtp_errors
from channels.email.prebuilt import PrebuiltMessages, WireMessage
from hub.errors import ConfigurationError, RecipientRejectedError
from hub.model.deliveries import ChannelKey, Delivery
from hub.rendering.environment import Rendered
from hub.settings import SmtpSettings

# Messages in flight per SMTP connection: a message's slot is held until the broker has its
# ledger entry (hub.runtime.ledger), and meanwhile a second message uses the connection. A
# worker killed at any moment repeats at most these (pool size x 2), never more.
IN_FLIGHT_PER_CONNECTION = 2

log = logging.getLogger(__name__)


class EmailChannel(Channel[WireMessage]):
    """Builds multipart/alternative email and sends it over SMTP.

    Each recipient's email is patched from a message pre-built once per (rendering, event,
    language): see channels/email/prebuilt.py.
    """

    key: ClassVar[ChannelKey] = ChannelKey.EMAIL

    def __init__(self, settings: SmtpSettings, *, message_id_domain: str = "hub.example.org"):
        name, addr = parseaddr(settings.sender)
        if "@" not in addr:
            raise ConfigurationError(f"HUB_SMTP__SENDER is not an email address: {addr!r}")
        self.sender = Address(display_name=header_text(name), addr_spec=addr)
        self.message_id_domain = message_id_domain
        self.pool = SmtpPool(settings)
        self.max_in_flight = settings.pool_size * IN_FLIGHT_PER_CONNECTION
        self.prebuilt = PrebuiltMessages(self.sender, message_id_domain)
        self.dkim = DkimKey.from_settings(settings)
        if self.dkim is not None and not _aligned(self.sender.domain, self.dkim.domain):
            log.warning(
                "HUB_SMTP__DKIM_DOMAIN %s is not the sender's domain or a parent of it: "
                "DMARC will not count the signature",
                self.dkim.domain,
            )

    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[WireMessage]:
        message = self.prebuilt.message(rendered, delivery)
        if self.dkim is not None:  # signed last, over the exact bytes that go to the relay
            data = dkim_sign(message.data, self.dkim)
            message = WireMessage(data, message.utf8, message.message_id)
        return [message]

    async def deliver(self, message: WireMessage, delivery: Delivery) -> Receipt:
        recipient = delivery.recipient.address
        async with self.pool.connection() as client:
            with map_smtp_errors():
                refused, response = await client.sendmail(
                    self.sender.addr_spec,
                    [recipient],
                    message.data,
                    # Internationalised addresses need SMTPUTF8 (RFC 6531); the rest stays 7-bit.
                    mail_options=["SMTPUTF8"] if message.utf8 else [],
                )
        if refused:  # one recipient per message: a partial refusal is a refusal
            detail = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in refused.items())
            raise RecipientRejectedError(detail)
        return Receipt(delivery.id, provider_id=message.message_id, detail=response)

    async def close(self) -> None:
        await self.pool.close()


def _aligned(sender_domain: str, dkim_domain: str) -> bool:
    sender = sender_domain.lower()
    return sender == dkim_domain or sender.endswith("." + dkim_domain)
