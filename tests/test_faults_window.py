"""A worker killed while one email of a partition is held at the server and the messages after
it in that partition were sent: they are in the ledger but not acknowledged. After a restart
every recipient has the email, the held one included (its offset was never committed past),
and nothing sent before the kill goes out again beyond what was in flight."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.faultstack import assert_exactly_once, received
from tests.helpers import DEMO_ANNOUNCEMENT, load_example, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

RECIPIENTS = 1000
HELD = "p00050@partner.example.net"


class Hold:
    """Wraps the catcher's DATA: the held recipient's message waits until released, and is
    dropped (not stored) if its client went away meanwhile."""

    def __init__(self, handler: Any) -> None:
        self.original = handler.handle_DATA
        self.released = threading.Event()
        self.reached = threading.Event()
        handler.handle_DATA = self.handle_DATA

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if HELD in envelope.rcpt_tos and not self.released.is_set():
            self.reached.set()
            await asyncio.to_thread(self.released.wait)
            if server.transport is None or server.transport.is_closing():
                return "421 4.4.2 the client went away"
        result: str = await self.original(server, session, envelope)
        return result


def test_kill_with_later_messages_sent_but_not_acknowledged_loses_and_repeats_nothing(
    make_stack: Any,
) -> None:
    # The held send must outlast the kill rather than time out into a retry, and a rebalance
    # (missed heartbeats on a busy machine) would wait for it: a longer session.
    stack = make_stack(
        RECIPIENTS,
        HUB_SMTP__TIMEOUT="300",
        HUB_STUCK__AFTER_SECONDS="3600",
        HUB_KAFKA__SESSION_TIMEOUT_SECONDS="30",
    )
    hold = Hold(stack.catcher.handler)
    document = load_example(DEMO_ANNOUNCEMENT)
    assert stack.hub.publish(document).status_code == 202
    wait_until(hold.reached.is_set, timeout=180, what="the held recipient's message at the server")
    # Every partition goes on past the held message; its own partition's later messages are
    # sent but cannot be acknowledged while the held one is in flight.
    wait_until(
        lambda: len(received(stack.outbox)) >= RECIPIENTS - 1,
        timeout=240,
        what=f"every other recipient's email\n{stack.hub.log_tail()}",
    )
    stack.hub.kill()
    hold.released.set()
    assert HELD not in received(stack.outbox)
    stack.hub.start()
    # Hundreds of messages after the held one were read again: the ledger stops all of them.
    assert_exactly_once(stack, stack.addresses, crashes=1)
