"""Sending one delivery: ledger check, render, channel, then sent, retry or dead letter."""

from __future__ import annotations

import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from channels.base import Channel
from hub.delivery.recipients import WITHDRAWN
from hub.delivery.retry import GiveUp, decide
from hub.errors import (
    BadRecord,
    ChatMovedError,
    ConfigurationError,
    DeliveryError,
    HubError,
    PermanentDeliveryError,
    RecipientBlockedError,
    TemplateError,
    TransientDeliveryError,
)
from hub.model.deliveries import BY_REFERENCE, ChannelKey, DeadLetter, Delivery, DeliveryRecord
from hub.model.events import Event
from hub.model.outcomes import Outcome, OutcomeStatus
from hub.model.records import as_json
from hub.privacy.sealing import ERASED, redact
from hub.rendering.environment import Rendered, Renderer
from hub.settings import RetrySettings

log = logging.getLogger(__name__)

# Tries (2, 4, 8 s apart) before a delivery whose recipient key is missing counts as erased.
UNKNOWN_RECIPIENT_RETRIES = 3
# Events kept parsed: a fan-out reads one event for every recipient, and with many small events
# each partition's sends may be dozens of events behind another's.
PARSED_EVENTS = 256

# Reads an event's document by (event id, partition, offset); None if it is not there.
Documents = Callable[[str, int, int], Awaitable[dict[str, Any] | None]]
# Completes a message whose recipient is named by id (hub.delivery.recipients).
Resolve = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Dispatched:
    """What happened, and what to write next: a retry to schedule or a dead letter to keep."""

    outcome: Outcome
    retry: dict[str, Any] | None = None
    dead_letter: dict[str, Any] | None = None
    moved_to: str | None = None  # the recipient's new address on this channel
    blocked: bool = False  # the recipient blocked us: stop using this channel for them


class SentParts:
    """The ledger entries of the parts of one split delivery: `<delivery id>/part/<n>`."""

    def __init__(self, ledger: MutableMapping[str, Any], delivery_id: str) -> None:
        self.ledger = ledger
        self.delivery_id = delivery_id
        self.seen: set[int] = set()

    def key(self, index: int) -> str:
        return f"{self.delivery_id}/part/{index}"

    def done(self, index: int) -> bool:
        if self.ledger.get(self.key(index)) == OutcomeStatus.SENT:
            self.seen.add(index)
            return True
        return False

    def record(self, index: int) -> None:
        # Written at once, like the delivery's own entry: a retry resumes after this part.
        self.ledger[self.key(index)] = OutcomeStatus.SENT.value
        self.seen.add(index)

    def forget(self) -> None:
        """Once the whole delivery is recorded as sent, its parts need no entries of their own."""
        for index in self.seen:
            self.ledger.pop(self.key(index), None)


class Dispatcher:
    """Turns one delivery message into at most one sent message, and says what happened."""

    def __init__(
        self,
        renderer: Renderer,
        channels: Mapping[ChannelKey, Channel[Any]],
        ledger: MutableMapping[str, Any],
        clock: Callable[[], datetime],
        retry: RetrySettings,
        rng: random.Random | None = None,
        documents: Documents | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        self.renderer = renderer
        self.documents = documents
        self.resolve = resolve
        self._events: OrderedDict[tuple[str, int, int], Event] = OrderedDict()
        self.channels = channels
        self.ledger = ledger  # delivery id -> last status: what has been done, across restarts
        self.clock = clock
        self.retry = retry
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)

    async def dispatch(self, message: object) -> Dispatched:
        if isinstance(message, dict) and message.get(BY_REFERENCE) and self.resolve is not None:
            message = self.resolve(message)
        if isinstance(message, dict) and message.get(ERASED):
            return self._erased(message)
        if isinstance(message, dict) and message.get(WITHDRAWN):
            return self._withdrawn(message)
        try:
            record = DeliveryRecord.parse(message)
        except BadRecord as exc:  # any shape of garbage: a dead letter saying what it was
            return self._unreadable(message, exc)
        delivery = record.delivery()
        if self.ledger.get(delivery.id) == OutcomeStatus.SENT:
            return Dispatched(Outcome.of(delivery, OutcomeStatus.DUPLICATE, self.clock()))
        parts = SentParts(self.ledger, delivery.id)
        try:
            if record.rendered:  # transactional: rendered when it was requested
                rendered = Rendered(**record.rendered.model_dump())
            else:
                event = await self._event(record)
                rendered = self.renderer.render(event, delivery.channel, delivery.language)
            await self.channels[delivery.channel].send(rendered, delivery, parts)
        except TemplateError as exc:
            return self._dead(delivery, record, f"template: {exc}")
        except RecipientBlockedError as exc:
            dead = self._dead(delivery, record, f"{type(exc).__name__}: {exc}{_where(exc)}")
            return replace(dead, blocked=True)
        except PermanentDeliveryError as exc:
            return self._dead(delivery, record, f"{type(exc).__name__}: {exc}{_where(exc)}")
        except ChatMovedError as exc:
            return self._moved(delivery, record, str(exc.new_chat_id))
        except DeliveryError as exc:
            return self._transient(delivery, record, exc)
        except ConfigurationError as exc:
            # A refused bot token, an SMTP server without STARTTLS: retried with backoff, so
            # deliveries go out once an operator fixes the settings, dead-lettered if not.
            error = TransientDeliveryError(f"configuration: {exc}{_where(exc)}")
            return self._transient(delivery, record, error)
        except (HubError, KeyError, TypeError, ValueError) as exc:
            return self._dead(delivery, record, f"bad delivery data: {exc!r}")
        except Exception as exc:
            # Last resort: an error no map knew. Kept with its type as a dead letter, never
            # left to escape into the agent, which would acknowledge the message and lose it.
            log.exception("delivery %s: unexpected error", delivery.id)
            reason = f"unexpected {type(exc).__name__}: {exc}{_where(exc)}"
            return self._dead(delivery, record, reason)
        # Written to the local store at once, so even a killed worker remembers it sent this.
        self.ledger[delivery.id] = OutcomeStatus.SENT.value
        parts.forget()
        return Dispatched(Outcome.of(delivery, OutcomeStatus.SENT, self.clock()))

    async def _event(self, record: DeliveryRecord) -> Event:
        """The delivery's event: the document it carries, or the one it points to (parsed once
        per event, not once per recipient)."""
        if record.event_at is None:
            return Event.from_document(dict(record.event or {}))
        key = (record.event_id, record.event_at.partition, record.event_at.offset)
        event = self._events.get(key)
        if event is None:
            if self.documents is None:
                raise ConfigurationError("event documents cannot be read on this worker")
            document = await self.documents(*key)  # TransientDeliveryError if Kafka fails it
            if document is None:
                # Written before the delivery, with acks from every replica: missing only if
                # the topic was deleted or truncated. Retried; dead-lettered if it stays so.
                raise TransientDeliveryError(
                    f"event document of {record.event_id} not found at partition"
                    f" {key[1]}, offset {key[2]}"
                )
            event = Event.from_document(document)
            self._events[key] = event
            while len(self._events) > PARSED_EVENTS:
                self._events.popitem(last=False)
        self._events.move_to_end(key)
        return event

    def _transient(
        self, delivery: Delivery, record: DeliveryRecord, error: DeliveryError
    ) -> Dispatched:
        now = self.clock()
        decision = decide(error, delivery.attempt, now, self.retry, self.rng)
        if isinstance(decision, GiveUp):
            return self._dead(delivery, record, decision.reason + _where(error))
        reason = _reason(f"{type(error).__name__}: {error}{_where(error)}", delivery)
        self.ledger[delivery.id] = OutcomeStatus.RETRYING.value
        when = decision.when.isoformat()
        retry = record.model_copy(update={"attempt": decision.attempt, "not_before": when}).dump()
        outcome = Outcome.of(delivery, OutcomeStatus.RETRYING, now, reason, decision.when)
        return Dispatched(outcome, retry=retry)

    def _moved(self, delivery: Delivery, record: DeliveryRecord, address: str) -> Dispatched:
        """Send again at once to the new address (it counts as an attempt)."""
        now = self.clock()
        recipient = record.recipient.model_copy(update={"address": address})
        update = {"recipient": recipient, "attempt": delivery.attempt + 1}
        retry = record.model_copy(update={**update, "not_before": now.isoformat()}).dump()
        self.ledger[delivery.id] = OutcomeStatus.RETRYING.value
        reason = "moved to another chat"  # the chat id stays in the (sealed) message only
        outcome = Outcome.of(delivery, OutcomeStatus.RETRYING, now, reason, now)
        return Dispatched(outcome, retry=retry, moved_to=address)

    def _dead(self, delivery: Delivery, record: DeliveryRecord, reason: str) -> Dispatched:
        reason = _reason(reason, delivery)
        log.warning("delivery %s to %s failed: %s", delivery.id, delivery.recipient.id, reason)
        self.ledger[delivery.id] = OutcomeStatus.FAILED.value
        now = self.clock()
        letter = DeadLetter(reason=reason, failed_at=now.isoformat(), delivery=record.dump())
        return Dispatched(
            Outcome.of(delivery, OutcomeStatus.FAILED, now, reason), dead_letter=letter.dump()
        )

    def _erased(self, message: dict[str, Any]) -> Dispatched:
        """Its recipient's key is not here: erased, or (briefly) not yet in this worker's table.

        A few quick retries cover a new subscriber whose record is still on its way to this
        worker; after them, the recipient was erased: nothing to send, nothing to keep.
        """
        now = self.clock()
        recipient = message.get("recipient")
        attempt = int(message.get("attempt", 0) or 0)
        outcome = Outcome(
            event_id=str(message.get("event_id", "")),
            status=OutcomeStatus.FAILED,
            at=now.isoformat(),
            delivery_id=str(message.get("id", "")),
            channel=str(message.get("channel", "")),
            recipient_id=str(recipient.get("id", "")) if isinstance(recipient, dict) else "",
            language=str(message.get("language", "")),
            attempt=attempt,
            reason="recipient erased",
        )
        if attempt >= UNKNOWN_RECIPIENT_RETRIES:
            return Dispatched(outcome)
        when = now + timedelta(seconds=2.0 * 2**attempt)
        retry = {k: v for k, v in message.items() if k != ERASED}
        retry.update(attempt=attempt + 1, not_before=when.isoformat())
        reason = "recipient not known on this worker (yet)"
        update = {"status": OutcomeStatus.RETRYING, "reason": reason, "retry_at": when.isoformat()}
        return Dispatched(outcome.model_copy(update=update), retry=retry)

    def _withdrawn(self, message: dict[str, Any]) -> Dispatched:
        """Not to be sent any more (the recipient unsubscribed, or has no address on the
        channel): nothing sent, nothing to retry or re-drive, and the outcome says why."""
        try:
            record = DeliveryRecord.parse({**message, "recipient": _anonymous(message)})
        except BadRecord as exc:
            return self._unreadable(message, exc)
        delivery = record.delivery()
        if self.ledger.get(delivery.id) == OutcomeStatus.SENT:  # sent before they left
            return Dispatched(Outcome.of(delivery, OutcomeStatus.DUPLICATE, self.clock()))
        self.ledger[delivery.id] = OutcomeStatus.FAILED.value
        reason = str(message[WITHDRAWN])
        return Dispatched(Outcome.of(delivery, OutcomeStatus.FAILED, self.clock(), reason))

    def _unreadable(self, message: object, exc: BadRecord) -> Dispatched:
        now = self.clock()
        event_id = message.get("event_id", "") if isinstance(message, dict) else ""
        reason = f"unreadable delivery: {exc}"
        letter = DeadLetter(reason=reason, failed_at=now.isoformat(), delivery=as_json(message))
        outcome = Outcome(
            event_id=str(event_id), status=OutcomeStatus.FAILED, at=now.isoformat(), reason=reason
        )
        return Dispatched(outcome, dead_letter=letter.dump())


def _anonymous(message: dict[str, Any]) -> dict[str, str]:
    recipient = message.get("recipient")
    recipient_id = recipient.get("id", "") if isinstance(recipient, dict) else ""
    return {"id": str(recipient_id), "name": "", "address": ""}


def _where(error: BaseException) -> str:
    """Where in a split delivery it failed (" (part 2 of 3)"), from the channel's note."""
    notes = getattr(error, "__notes__", None)
    return f" ({'; '.join(notes)})" if notes else ""


def _reason(text: str, delivery: Delivery) -> str:
    """Failure reasons outlive the person (outcomes, status, audit): no address or name in them."""
    return redact(text, delivery.recipient.as_dict())
