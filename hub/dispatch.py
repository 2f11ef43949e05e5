"""Sending one delivery: ledger check, render, channel, outcome. Plain Python, no faust."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from channels.base import Channel
from hub.errors import DeliveryError, HubError, PermanentDeliveryError, TemplateError
from hub.events import Event
from hub.outcomes import Outcome, OutcomeStatus
from hub.rendering import Renderer
from hub.routing import ChannelKey, Delivery

log = logging.getLogger(__name__)


class Dispatcher:
    """Turns one delivery message into at most one sent message, and says what happened."""

    def __init__(
        self,
        renderer: Renderer,
        channels: Mapping[ChannelKey, Channel[Any]],
        ledger: MutableMapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self.renderer = renderer
        self.channels = channels
        self.ledger = ledger  # delivery id -> status: what has been done, across restarts
        self.clock = clock

    async def dispatch(self, message: dict[str, Any]) -> Outcome:
        delivery = Delivery.from_message(message)
        if self.ledger.get(delivery.id) == OutcomeStatus.SENT:
            return Outcome.of(delivery, OutcomeStatus.DUPLICATE, self.clock(), "already sent")
        try:
            event = Event.from_document(message["event"])
            rendered = self.renderer.render(event, delivery.channel, delivery.language)
            await self.channels[delivery.channel].send(rendered, delivery)
        except TemplateError as exc:
            return self._failed(delivery, f"template: {exc}")
        except PermanentDeliveryError as exc:
            return self._failed(delivery, f"{type(exc).__name__}: {exc}")
        except DeliveryError as exc:
            # Retried through the retry topic once that exists; recorded, never silently dropped.
            return self._failed(delivery, f"{type(exc).__name__}: {exc}")
        except (HubError, KeyError, ValueError, TypeError) as exc:
            return self._failed(delivery, f"bad delivery data: {exc!r}")
        self.ledger[delivery.id] = OutcomeStatus.SENT
        return Outcome.of(delivery, OutcomeStatus.SENT, self.clock())

    def _failed(self, delivery: Delivery, reason: str) -> Outcome:
        log.warning("delivery %s to %s failed: %s", delivery.id, delivery.recipient.id, reason)
        self.ledger[delivery.id] = OutcomeStatus.FAILED
        return Outcome.of(delivery, OutcomeStatus.FAILED, self.clock(), reason)
