"""Reused SMTP connections, and the one map of aiosmtplib's errors to retry or give up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import aiosmtplib

from hub.errors import PermanentDeliveryError, RecipientRejectedError, TransientDeliveryError
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
