"""Reused SMTP connections, and the one map of aiosmtplib's errors to retry or give up."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Iterator

import aiosmtplib

from hub import metrics
from hub.errors import (
    ConfigurationError,
    PermanentDeliveryError,
    RecipientRejectedError,
    TransientDeliveryError,
)
from hub.settings import SmtpSettings


def _untrusted(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind `exc`, if that is what it is."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def map_smtp_errors() -> Iterator[None]:
    """Decide retryability once, at the boundary of aiosmtplib.

    Refused credentials and an untrusted certificate are configuration problems: retried with
    backoff (hub.delivery.dispatch), so deliveries go out once the settings are fixed.
    """
    try:
        yield
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise ConfigurationError(
            "the SMTP relay refused the credentials (HUB_SMTP__USERNAME, HUB_SMTP__PASSWORD): "
            f"{exc.code} {exc.message}"
        ) from exc
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
        if (untrusted := _untrusted(exc)) is not None:  # SMTPS: refused in the handshake
            raise _certificate_refused(untrusted) from exc
        raise TransientDeliveryError(f"SMTP server unreachable: {exc}") from exc
    except aiosmtplib.SMTPNotSupported as exc:  # e.g. a non-ASCII address, no SMTPUTF8
        raise PermanentDeliveryError(f"SMTP server cannot take this message: {exc}") from exc
    except aiosmtplib.SMTPException as exc:  # no STARTTLS, no usable AUTH: retried, then kept
        raise TransientDeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        if (untrusted := _untrusted(exc)) is not None:
            raise _certificate_refused(untrusted) from exc
        raise TransientDeliveryError(f"SMTP network error: {exc!r}") from exc


def _certificate_refused(exc: ssl.SSLCertVerificationError) -> ConfigurationError:
    return ConfigurationError(
        f"the SMTP relay's TLS certificate was refused ({exc.verify_message or exc}): for a "
        "private relay, give its CA certificate in HUB_SMTP__CA_FILE"
    )


def tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    """The client TLS context for the relay, verifying its certificate and name, or None
    without TLS. Built once per pool (loading CA certificates costs milliseconds)."""
    if not (settings.start_tls or settings.use_tls):
        return None
    try:
        # With a CA file, that file alone is trusted (a private relay); else the system's CAs.
        cafile = str(settings.ca_file) if settings.ca_file is not None else None
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"HUB_SMTP__CA_FILE cannot be read: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def smtp_client(s: SmtpSettings, tls: ssl.SSLContext | None, timeout: float) -> aiosmtplib.SMTP:
    """A client for the configured relay: its address, login and TLS, not yet connected."""
    return aiosmtplib.SMTP(
        hostname=s.host,
        port=s.port,
        username=s.username,
        password=s.password.get_secret_value() if s.password else None,
        # Explicit: False never tries STARTTLS (aiosmtplib's None would, where offered).
        start_tls=s.start_tls,
        use_tls=s.use_tls,
        tls_context=tls,
        timeout=timeout,
    )


class SmtpPool:
    """Reused SMTP connections: aiosmtplib sends one message at a time per connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._tls = tls_context(settings)

    def _new_client(self) -> aiosmtplib.SMTP:
        return smtp_client(self.settings, self._tls, self.settings.timeout)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """Lend a connected client; a client that failed is dropped, not returned."""
        asked = time.monotonic()
        async with self._slots:
            metrics.smtp_pool_waited(time.monotonic() - asked)
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
    transport = client.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    with contextlib.suppress(Exception):
        client.close()
    # A TLS connection closes over a few turns of the loop (close_notify both ways): wait for its
    # socket, briefly, so one dropped on the way out (a refused login) is not left half-open.
    for _ in range(CLOSE_TURNS):
        if sock is None or sock.fileno() == -1:
            return
        await asyncio.sleep(0.01)


CLOSE_TURNS = 50  # at most half a second, and only for a connection that failed
