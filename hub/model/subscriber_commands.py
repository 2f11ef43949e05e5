"""Commands on the subscribers topic (key: subscriber id): the whole new record and its cause."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import JsonValue

from hub.errors import BadRecord, Problem
from hub.model.records import Record
from hub.model.subscribers import InvalidSubscriberError, Subscriber, subscriber_from_dict


class Cause(StrEnum):
    SUBSCRIBED = "subscribed"  # new or renewed request: a confirmation email goes out
    ALREADY_ACTIVE = "already-active"  # tell the person, without telling anyone else
    CONFIRMED = "confirmed"
    PREFERENCES = "preferences-changed"
    UNSUBSCRIBED = "unsubscribed"
    IMPORTED = "imported"
    UPDATED = "updated"  # by an officer
    CHANNEL_PAUSED = "channel-paused"  # the person blocked the bot, or is gone
    CHAT_MOVED = "chat-moved"
    TELEGRAM_LINKED = "telegram-linked"
    EMAIL_BOUNCED = "email-bounced"  # hard bounces reached HUB_BOUNCES__HARD_LIMIT


class SubscriberCommand(Record):
    """Each command carries the subscriber's whole record, so the compacted topic keeps exactly
    the latest state per subscriber. A tombstone (no value) erases them."""

    record_name: ClassVar[str] = "subscriber command"

    cause: Cause = Cause.UPDATED
    actor: str = "hub"
    reason: str = ""
    # Checked field by field by subscriber_from_dict, which names every problem.
    subscriber: dict[str, JsonValue]

    @classmethod
    def of(cls, subscriber: Subscriber, cause: Cause, actor: str, reason: str = "") -> Self:
        return cls(cause=cause, actor=actor, reason=reason, subscriber=subscriber.to_dict())

    def dump(self) -> dict[str, Any]:
        value = super().dump()
        if not self.reason:
            del value["reason"]
        return value

    def read_subscriber(self) -> Subscriber:
        """The subscriber it carries; BadRecord naming every invalid field if it is not one."""
        try:
            return subscriber_from_dict(dict(self.subscriber))
        except InvalidSubscriberError as exc:
            problems = [Problem(f"$.subscriber.{name}", message) for name, message in exc.problems]
            raise BadRecord(self.record_name, problems) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRecord(self.record_name, [Problem("$.subscriber", repr(exc))]) from exc
