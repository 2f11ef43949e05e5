"""Email channel: multipart/alternative messages sent through a pool of SMTP connections."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from typing import Any, ClassVar

import aiosmtplib
from markupsafe import escape

from channels.base import Channel, Receipt
from hub.errors import (
    ConfigurationError,
    PermanentDeliveryError,
    RecipientRejectedError,
    TransientDeliveryError,
)
from hub.model.deliveries import ChannelKey, Delivery
from hub.rendering.environment import Rendered
from hub.rendering.links import PREFERENCES_MARK, UNSUBSCRIBE_MARK
from hub.settings import SmtpSettings


@contextlib.contextmanager
def map_smtp_errors() -> Iterator[None]:
    """Decide retryability once, at the boundary of aiosmtplib."""
    try:
        yield
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusals = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        codes = [r.code for r in exc.recipients]
        if codes and all(400 <= c < 500 for c in codes):
            raise TransientDeliveryError(refusals, code=codes[0]) from exc
        raise RecipientRejectedError(refusals, code=codes[0] if codes else None) from exc
    except aiosmtplib.SMTPRecipientRefused as exc:
        if 400 <= exc.code < 500:
            raise TransientDeliveryError(f"{exc.code} {exc.message}", code=exc.code) from exc
        raise RecipientRejectedError(f"{exc.code} {exc.message}", code=exc.code) from exc
    except aiosmtplib.SMTPResponseException as exc:
        kind = TransientDeliveryError if 400 <= exc.code < 500 else PermanentDeliveryError
        raise kind(f"{exc.code} {exc.message}", code=exc.code) from exc
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
        raise TransientDeliveryError(f"SMTP connection lost: {exc}") from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise TransientDeliveryError(f"SMTP server unreachable: {exc}") from exc
    except aiosmtplib.SMTPNotSupported as exc:  # e.g. a non-ASCII address, no SMTPUTF8
        raise PermanentDeliveryError(f"SMTP server cannot take this message: {exc}") from exc
    except aiosmtplib.SMTPException as exc:  # no STARTTLS, no usable AUTH: retried, then kept
        raise TransientDeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise TransientDeliveryError(f"SMTP network error: {exc!r}") from exc


class SmtpPool:
    """Reused SMTP connections: aiosmtplib sends one message at a time per connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(settings.pool_size)

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            start_tls=s.start_tls,
            use_tls=s.use_tls,
            timeout=s.timeout,
        )

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """Lend a connected client; a client that failed is dropped, not returned."""
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else self._new_client()
            try:
                if not client.is_connected:
                    with map_smtp_errors():
                        await client.connect()
                yield client
            except BaseException:
                await _quietly_close(client)
                raise
            else:
                self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
            await _quietly_close(client)


async def _quietly_close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        client.close()


def personalise(rendered: Rendered, delivery: Delivery) -> tuple[str, str]:
    """Put the recipient's own links where the shared rendering left markers: cheap per email."""
    links = delivery.links
    preferences = links.preferences if links else ""
    unsubscribe = links.unsubscribe if links else ""
    text = rendered.text.replace(PREFERENCES_MARK, preferences).replace(
        UNSUBSCRIBE_MARK, unsubscribe
    )
    html = rendered.html.replace(PREFERENCES_MARK, escape(preferences)).replace(
        UNSUBSCRIBE_MARK, escape(unsubscribe)
    )
    return text, html


# CR, LF and the other controls (and Unicode line separators) would end a header or start a
# new one: any field that reaches a header has them replaced by a space, never folded in.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# RFC 2369 headers are URI lists: mail providers read them only as plain ASCII `<uri>, <uri>`.
_VERBATIM = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
_URI = re.compile(r"^[\x21-\x3b\x3d\x3f-\x7e]+$")  # printable ASCII but < and >
RFC5322_MAX_LINE = 998


def header_text(value: str) -> str:
    """A value safe to put in a header: line breaks and controls become one space."""
    return " ".join(_BREAKS.sub(" ", value).split())


class _HubPolicy(EmailPolicy):
    """The default policy, except that List-Unsubscribe headers go out exactly as given.

    The default policy folds a long URI into RFC 2047 encoded-words (`=?utf-8?q?=3Chttp...`),
    which is not a URI list any more: Gmail and Yahoo then offer no one-click unsubscribe.
    """

    def _verbatim(self, name: str, value: Any) -> str | None:
        if name.lower() not in _VERBATIM:
            return None
        text = str(value)
        line = f"{name}: {text}"
        if not text.isascii() or len(line) > RFC5322_MAX_LINE or _BREAKS.search(text):
            raise ValueError(f"{name} must be one line of plain ASCII under 998 characters")
        return line + self.linesep

    def fold(self, name: str, value: Any) -> str:
        return self._verbatim(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        verbatim = self._verbatim(name, value)
        if verbatim is not None:
            return verbatim.encode("ascii")
        return super().fold_binary(name, value)


POLICY = _HubPolicy(**default_policy.__dict__)
# What goes on the wire (aiosmtplib's send_message would flatten with its own policy instead).
WIRE = POLICY.clone(linesep="\r\n")
WIRE_UTF8 = WIRE.clone(utf8=True)


def list_unsubscribe(https_url: str, mailto_url: str) -> str:
    """The RFC 2369 value, checked to be a plain ASCII URI list (RFC 8058 needs the https one)."""
    value = f"<{https_url}>, <{mailto_url}>"
    plain = all(_URI.match(uri) for uri in (https_url, mailto_url))
    if not plain or not https_url.startswith(("https://", "http://")):
        raise ValueError(f"not a plain ASCII URI list: {value!r}")
    return value


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

    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[EmailMessage]:
        text, html = personalise(rendered, delivery)
        message = EmailMessage(policy=POLICY)
        # Line breaks in a title or a name are replaced (the policy would refuse them and fail
        # the delivery); Address quotes display names safely.
        message["Subject"] = header_text(rendered.subject)
        message["From"] = self.sender
        message["To"] = Address(
            display_name=header_text(delivery.recipient.name),
            addr_spec=header_text(delivery.recipient.address),
        )
        message["Date"] = format_datetime(datetime.now(UTC))
        # The same Message-ID for every attempt of a delivery: a message repeated after a crash
        # (sent, but the worker died before recording it) is recognisably the same message, and
        # mail clients that de-duplicate by Message-ID show it once.
        message["Message-ID"] = f"<{delivery.id}@{self.message_id_domain}>"
        message["X-Hub-Delivery-Id"] = delivery.id
        message["X-Hub-Event-Id"] = delivery.event_id
        if delivery.links is not None:
            # RFC 2369 and RFC 8058: a one-click POST to the https URL unsubscribes at once.
            message["List-Unsubscribe"] = list_unsubscribe(
                delivery.links.unsubscribe, delivery.links.unsubscribe_mailto
            )
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message["Precedence"] = "bulk"
        message.set_content(text, subtype="plain", charset="utf-8")
        message.add_alternative(html, subtype="html", charset="utf-8")
        # After set_content, which drops Content-*.
        message["Content-Language"] = header_text(delivery.language)
        return [message]

    async def deliver(self, message: EmailMessage, delivery: Delivery) -> Receipt:
        recipient = delivery.recipient.address
        # Internationalised addresses need SMTPUTF8 (RFC 6531); everything else stays 7-bit safe.
        utf8 = not (self.sender.addr_spec + recipient).isascii()
        data = message.as_bytes(policy=WIRE_UTF8 if utf8 else WIRE)
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
