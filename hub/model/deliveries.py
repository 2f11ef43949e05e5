"""Deliveries: one (event, recipient, channel) to send, and its records on the delivery topics.

A delivery message (`DeliveryRecord`) travels on hub.deliveries.<channel>.v1, on the retry topic
(with `not_before`) and, wrapped in a `DeadLetter` with the reason, on the dead-letter topic. It is
self-contained: a retry or a re-drive needs nothing else. Its personal fields are sealed on the
topics (hub.privacy.sealing); these models read them once opened.

A fan-out writes its deliveries many to a record: a roster names each recipient by id with the
language chosen for them (`{"event_id", "channel", "event_at", "roster": [[id, language], ...]}`),
and the worker that sends looks up the address and signs the links then (hub.delivery.recipients):
no address is written at all, and planning signs nothing. Records written before rosters hold
sealed messages, `{"batch": [message, ...]}`; `messages_in` reads every form.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, JsonValue, field_validator

from hub.model.records import Record

# The field of a record of a deliveries topic that holds many delivery messages.
BATCH = "batch"
# The field of a planned record that names its recipients: [[subscriber id, language], ...].
ROSTER = "roster"
# Marks a message whose recipient is named by id only: looked up when it is sent.
BY_REFERENCE = "by_reference"


def messages_in(value: object) -> list[object]:
    """The delivery messages of one record of a deliveries topic: a roster (each recipient's
    message by reference), a batch of sealed messages, or one message. A roster that does not
    read stays one message, which the dispatcher turns into a dead letter saying why."""
    if not isinstance(value, dict):
        return [value]
    if isinstance(value.get(BATCH), list):
        return list(value[BATCH])
    if ROSTER in value:
        return _roster_messages(value) or [value]
    return [value]


def _roster_messages(value: dict[str, Any]) -> list[object]:
    event_id, channel, roster = value.get("event_id"), value.get("channel"), value.get(ROSTER)
    if not (isinstance(event_id, str) and isinstance(channel, str) and isinstance(roster, list)):
        return []
    if not all(
        isinstance(entry, list) and len(entry) == 2 and all(isinstance(f, str) for f in entry)
        for entry in roster
    ):
        return []
    shared = {"event_id": event_id, "channel": channel, "event_at": value.get("event_at")}
    return [
        {
            "id": delivery_id(event_id, channel, recipient_id),
            **shared,
            "language": language,
            "recipient": {"id": recipient_id},
            BY_REFERENCE: True,
        }
        for recipient_id, language in roster
    ]


def roster_value(
    event_id: str, channel: ChannelKey, event_at: EventAt, recipients: list[list[str]]
) -> dict[str, Any]:
    """A planned record naming its recipients: [[subscriber id, language], ...]."""
    return {
        "event_id": event_id,
        "channel": channel.value,
        "event_at": asdict(event_at),
        ROSTER: recipients,
    }


class ChannelKey(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    NEWSLETTER = "newsletter"


def delivery_id(event_id: str, channel: str, recipient_id: str) -> str:
    """Stable across retries, redelivery and re-planning: the ledger's key."""
    material = f"{event_id}\x1f{channel}\x1f{recipient_id}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PersonalLinks:
    """A recipient's own links in a bulk message: preferences, one-click unsubscribe."""

    preferences: str
    unsubscribe: str
    unsubscribe_mailto: str


@dataclass(frozen=True, slots=True)
class Recipient:
    """What a channel needs to know about whom it sends to."""

    id: str
    name: str
    address: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "address": self.address}


@dataclass(frozen=True, slots=True)
class EventAt:
    """Where an event's document is: its record on the event-documents topic."""

    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One (event, recipient, channel) to send, in one language."""

    id: str
    event_id: str
    channel: ChannelKey
    language: str
    recipient: Recipient
    attempt: int = 0
    # Bulk messages carry the recipient's own links; transactional ones (confirmations) do not.
    links: PersonalLinks | None = None

    def record(
        self,
        event_document: dict[str, Any] | None,
        rendered: dict[str, str] | None = None,
        event_at: EventAt | None = None,
    ) -> DeliveryRecord:
        """The Kafka record: where the event's document is (or the document itself), or
        (transactional) the rendered parts."""
        # The document was validated at intake: not checked again for each recipient, which at a
        # fan-out of thousands would cost more than the rest of planning.
        return DeliveryRecord.model_construct(
            id=self.id,
            event_id=self.event_id,
            channel=self.channel,
            language=self.language,
            recipient=RecipientRecord(**self.recipient.as_dict()),
            attempt=self.attempt,
            links=LinksRecord(**asdict(self.links)) if self.links else None,
            event=event_document,
            event_at=EventAtRecord(**asdict(event_at)) if event_at else None,
            rendered=RenderedRecord(**rendered) if rendered else None,
        )

    def as_message(self, event_at: EventAt) -> dict[str, Any]:
        """The Kafka value of a delivery of an event: a reference to its document, not a copy
        (an event of 100 KB to 100,000 people would otherwise write 10 GB)."""
        return self.record(None, event_at=event_at).dump()

    @classmethod
    def from_message(cls, value: object) -> Delivery:
        """The delivery of a Kafka value; BadRecord naming every invalid field if it is not one."""
        return DeliveryRecord.parse(value).delivery()


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class RecipientRecord(_Part):
    id: str
    name: str
    address: str


class LinksRecord(_Part):
    preferences: str
    unsubscribe: str
    unsubscribe_mailto: str


class EventAtRecord(_Part):
    partition: int
    offset: int


class RenderedRecord(_Part):
    subject: str
    text: str
    html: str
    nonce: str = ""  # names its link markers; renderings from before it have none


# Written only when they say something, as the hub always did.
_OPTIONAL = ("event_at", "rendered", "not_before", "redriven")


class DeliveryRecord(Record):
    """A delivery message on hub.deliveries.<channel>.v1 and its retry topic."""

    record_name: ClassVar[str] = "delivery"

    id: str
    event_id: str
    channel: ChannelKey
    language: str
    recipient: RecipientRecord
    attempt: int = 0
    links: LinksRecord | None = None
    # Where the event's document is (hub.<prefix>.event-documents.v1); records written before
    # that carry the document itself in `event`. Neither for a transactional message, which
    # carries `rendered`.
    event_at: EventAtRecord | None = None
    event: dict[str, JsonValue] | None = None
    rendered: RenderedRecord | None = None
    not_before: str | None = None  # a retry: not to be sent before this time
    redriven: bool = False  # put back by an officer or the stuck-delivery check

    def delivery(self) -> Delivery:
        return Delivery(
            id=self.id,
            event_id=self.event_id,
            channel=self.channel,
            language=self.language,
            recipient=Recipient(**self.recipient.model_dump()),
            attempt=self.attempt,
            links=PersonalLinks(**self.links.model_dump()) if self.links else None,
        )

    def dump(self) -> dict[str, Any]:
        # The document is JSON already: walking it again for every recipient is the slowest
        # part of a fan-out, so it goes in as it is.
        value = self.model_dump(mode="json", exclude={"event"})
        if self.event is not None or self.event_at is None:
            value["event"] = self.event
        for name in _OPTIONAL:
            if not value[name]:
                del value[name]
        if "rendered" in value and not value["rendered"]["nonce"]:
            del value["rendered"]["nonce"]  # a rendering from before nonces, as it was written
        return value


class DeadLetter(Record):
    """A delivery given up on, with the reason, on hub.deadletters.<channel>.v1.

    `delivery` is the message as it was read: possibly not a delivery at all (that may be why it
    is here), so it is kept as any JSON.
    """

    record_name: ClassVar[str] = "dead letter"

    reason: str
    failed_at: str
    delivery: JsonValue = None


class EventDeadLetter(Record):
    """An event the planner could not plan, with the reason, on hub.deadletters.events.v1."""

    record_name: ClassVar[str] = "event dead letter"

    reason: str
    failed_at: str
    event: JsonValue = None


class _RecipientId(_Part):
    id: str


class RetryHeader(Record):
    """What the retry agent reads of a retry: whom (its key) and when. Read from any retry, also
    one whose recipient was erased (then nothing but the id is left)."""

    record_name: ClassVar[str] = "retry"

    recipient: _RecipientId
    not_before: str | None = None

    @field_validator("not_before")
    @classmethod
    def _is_a_time(cls, not_before: str | None) -> str | None:
        if not_before is not None and datetime.fromisoformat(not_before).tzinfo is None:
            raise ValueError("a time with its offset from UTC")
        return not_before
