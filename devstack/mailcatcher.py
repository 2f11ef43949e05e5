"""A local SMTP server that stores every message it receives as an .eml file."""

from __future__ import annotations

import argparse
import itertools
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.settings import REPO_ROOT

DEFAULT_OUTBOX = REPO_ROOT / "var" / "outbox" / "email"


class OutboxHandler:
    """aiosmtpd handler: write each message to `outbox`, optionally refusing some recipients."""

    def __init__(self, outbox: Path, refuse: re.Pattern[str] | None = None) -> None:
        self.outbox = outbox
        self.refuse = refuse
        self.unavailable = False  # answer 421 to every new transaction, as a server going down
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()
        outbox.mkdir(parents=True, exist_ok=True)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.unavailable:
            return "421 4.3.2 Service not available, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse is not None and self.refuse.search(address):
            return f"550 5.1.1 <{address}>: recipient refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode()
        with self._lock:
            number = next(self._sequence)
        first = re.sub(r"[^A-Za-z0-9@._-]", "_", envelope.rcpt_tos[0] if envelope.rcpt_tos else "x")
        name = f"{time.time_ns()}-{number:06d}-{first}.eml"
        tmp = self.outbox / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.rename(self.outbox / name)  # readers never see a half-written message
        return "250 Message accepted for delivery"


class _TrackingSMTP(SMTP):
    """aiosmtpd's protocol, remembering its connection so a stop can close it."""

    def __init__(self, *args: Any, connections: set[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections = connections

    def connection_made(self, transport: Any) -> None:
        self._connections.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self.transport)
        super().connection_lost(exc)


class _Controller(Controller):
    """Closes open client connections when it stops (asyncio's Server.close leaves them open)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[Any] = set()

    def factory(self) -> SMTP:
        return _TrackingSMTP(self.handler, connections=self.connections, **self.SMTP_kwargs)

    def stop(self, no_assert: bool = False) -> None:
        if self.loop.is_running():
            done = threading.Event()

            def close_all() -> None:
                for transport in list(self.connections):
                    transport.close()
                done.set()

            self.loop.call_soon_threadsafe(close_all)
            done.wait(5)
        super().stop(no_assert=no_assert)


class MailCatcher:
    """The SMTP server on a thread of its own, as tests and `make run` use it."""

    def __init__(
        self,
        outbox: Path = DEFAULT_OUTBOX,
        *,
        host: str = "127.0.0.1",
        port: int = 1025,
        refuse: str | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.handler = OutboxHandler(outbox, re.compile(refuse) if refuse else None)
        # aiosmtpd needs the hostname spelled out; it would otherwise resolve the machine's name.
        # smtputf8=False plays a relay that cannot take internationalised addresses (RFC 6531).
        self.controller = _Controller(
            self.handler, hostname=host, port=port, enable_SMTPUTF8=smtputf8
        )

    @property
    def outbox(self) -> Path:
        return self.handler.outbox

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX)
    parser.add_argument("--refuse", help="regular expression of recipients to refuse with 550")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with MailCatcher(args.outbox, host=args.host, port=args.port, refuse=args.refuse):
        print(f"mail catcher on {args.host}:{args.port}, storing messages in {args.outbox}")
        stop.wait()


if __name__ == "__main__":
    main()
