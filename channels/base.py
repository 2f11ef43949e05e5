"""The channel interface: build native messages from rendered parts, then deliver them."""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar, final

from hub.rendering import Rendered
from hub.routing import ChannelKey, Delivery

log = logging.getLogger(__name__)

MessageT = TypeVar("MessageT")


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that a provider accepted a message."""

    delivery_id: str
    provider_id: str
    detail: str = ""


class Channel(abc.ABC, Generic[MessageT]):
    """A delivery medium: turns rendered parts into native messages and hands them to a provider."""

    key: ClassVar[ChannelKey]

    @abc.abstractmethod
    def build(self, rendered: Rendered, delivery: Delivery) -> Sequence[MessageT]:
        """Pure: native message(s) from rendered parts."""

    @abc.abstractmethod
    async def deliver(self, message: MessageT, delivery: Delivery) -> Receipt:
        """Send one message. Raise a DeliveryError subclass on failure; never return a flag."""

    @final
    async def send(self, rendered: Rendered, delivery: Delivery) -> list[Receipt]:
        """build() then deliver() each message, with timing and logging. Not overridden."""
        started = time.perf_counter()
        receipts = [await self.deliver(m, delivery) for m in self.build(rendered, delivery)]
        log.debug(
            "%s delivery %s sent in %.1f ms",
            self.key,
            delivery.id,
            (time.perf_counter() - started) * 1000,
        )
        return receipts

    async def close(self) -> None:
        """Release connections; channels without any keep the default."""
