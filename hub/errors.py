"""The hub's exception tree; the type of an error says what to do next.

HubError
├── ConfigurationError
├── InvalidEventError            (refused at the edge, with every problem named)
├── TemplateError                (a template cannot render this event: poison, do not retry)
├── BadRecord                    (a record read from a topic or table is not what it should be)
└── DeliveryError
    ├── TransientDeliveryError   (retry later)
    │   ├── RateLimitedError     (retry after the provider's delay)
    │   └── ChatMovedError       (retry now, at the chat's new id)
    └── PermanentDeliveryError   (give up, record why)
        └── RecipientRejectedError
            └── RecipientBlockedError  (blocked by the person: pause that channel for them)
"""

from __future__ import annotations

from dataclasses import dataclass


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigurationError(HubError):
    """The hub is configured in a way that cannot work."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an input was refused, located by JSON path (or line)."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class InvalidEventError(HubError):
    """An event was refused; `problems` names every violation."""

    def __init__(self, problems: list[Problem], *, status: int = 422) -> None:
        self.problems = problems
        self.status = status
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


class TemplateError(HubError):
    """A template is missing or cannot render the data it was given."""


class BadRecord(HubError):
    """A record read from a topic or table does not fit its model; `problems` names each field.

    Poison: it will not parse any better next time, so it becomes a dead letter (or, where a
    topic has none, a logged skip) with this message as the reason.
    """

    def __init__(self, record: str, problems: list[Problem]) -> None:
        self.record = record
        self.problems = problems
        listed = "; ".join(f"{p.path}: {p.message}" for p in problems)
        super().__init__(f"bad {record} record: {listed}")


class DeliveryError(HubError):
    """Sending one delivery failed."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """The failure may go away: try again later."""


class RateLimitedError(TransientDeliveryError):
    """The provider asked us to slow down for `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, code: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, code=code)


class ChatMovedError(TransientDeliveryError):
    """A Telegram group became a supergroup with a new id; send there instead."""

    def __init__(self, message: str, *, new_chat_id: int) -> None:
        self.new_chat_id = new_chat_id
        super().__init__(message)


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help."""


class RecipientRejectedError(PermanentDeliveryError):
    """The provider refused this recipient."""


class RecipientBlockedError(RecipientRejectedError):
    """The recipient blocked the sender or is gone: stop using this channel for them."""
