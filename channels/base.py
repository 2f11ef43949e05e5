"""The channel interface: build native messages from rendered parts, then deliver them."""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar, final

from hub.model.deliveries import ChannelKey, Delivery
from hub.rendering.environment import Rendered

log = logging.getLogger(__name__)

MessageT = TypeVar("MessageT")


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that a provider accepted a message."""

    delivery_id: str
    provider_id: str
    detail: str = ""


class PartRecord(Protocol):
    """Which parts of a delivery split into several messages went out already.

    Recorded as each part is accepted, so a retry after part 2 of 3 failed sends parts 2 and 3,
    never part 1 again.
    """

    def done(self, index: int) -> bool: ...

    def record(self, index: int) -> None: ...


class Channel(abc.ABC, Generic[MessageT]):
    """A delivery medium: turns rendered parts into native messages and hands them to a provider."""

    key: ClassVar[ChannelKey]
    # Messages the delivery agent may have in flight at once on this channel: one by default
    # (a channel that paces its sends, like Telegram, counts on being its only sender).
    max_in_flight: int = 1

    @abc.abstractmethod
    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[MessageT]:
        """Pure: native message(s) from rendered parts."""

    @abc.abstractmethod
    async def deliver(self, message: MessageT, delivery: Delivery) -> Receipt:
        """Send one message. Raise a DeliveryError subclass on failure; never return a flag."""

    @final
    async def send(
        self, rendered: Rendered, delivery: Delivery, parts: PartRecord | None = None
    ) -> list[Receipt]:
        """build() then deliver() each message not yet sent, with timing and logging.

        Not overridden. With `parts`, each message of a split delivery is recorded as it is
        accepted and skipped if it was already; the receipts are those of this call's sends.
        """
        started = time.perf_counter()
        messages = self.build(rendered, delivery)
        tracked = parts if len(messages) > 1 else None  # one message: the delivery's own record
        receipts: list[Receipt] = []
        for index, message in enumerate(messages):
            if tracked is not None and tracked.done(index):
                continue
            try:
                receipts.append(await self.deliver(message, delivery))
            except Exception as exc:
                if len(messages) > 1:
                    exc.add_note(f"part {index + 1} of {len(messages)}")
                raise
            if tracked is not None:
                tracked.record(index)
        log.debug(
            "%s delivery %s sent in %.1f ms",
            self.key,
            delivery.id,
            (time.perf_counter() - started) * 1000,
        )
        return receipts

    async def close(self) -> None:
        """Release connections; channels without any keep the default."""
