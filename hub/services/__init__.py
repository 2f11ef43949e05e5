"""The narrow services the HTTP API and the CLI work through, as typing Protocols. No faust here.

Why a package of its own, not hub/web: the CLI and hub/partners depend on some of these too
(the partner commands), and neither should import the web layer. The worker's implementations,
over faust tables and topics, are in hub/runtime/services.py; tests build plain in-memory ones.
Each router factory in hub/web takes only the services it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from hub.access.accounts import Account
from hub.access.credentials import Credential
from hub.console.submissions import Submission
from hub.intake.publishing import Accepted
from hub.model.newsletter_state import NewsletterState
from hub.model.subscriber_commands import Cause
from hub.model.subscribers import Subscriber
from hub.newsletters.config import Newsletter
from hub.partners.desk import PartnerCommands
from hub.partners.registry import PartnerRegistry

__all__ = [
    "AccountReader",
    "AuditTrail",
    "BotUpdates",
    "BounceWriter",
    "ConsoleStore",
    "CredentialStore",
    "DeadLetters",
    "DirectoryReader",
    "EventPublisher",
    "KeyOwners",
    "Keyed",
    "NewsletterStore",
    "OwnerUnknown",
    "PartnerCommands",
    "PartnerReader",
    "PersonalData",
    "Placement",
    "Readiness",
    "StatusReader",
    "SubscriberCommands",
    "TestSender",
    "ThisWorkerOnly",
    "utc_now",
]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the broker put a record."""

    partition: int
    offset: int


class EventPublisher(Protocol):
    async def publish(self, accepted: Accepted, published_by: str) -> Placement:
        """Write a valid event to its type's topic; return once the broker has it (acks=all)."""


class AuditTrail(Protocol):
    async def record(self, key: bytes, entry: dict[str, Any]) -> None:
        """Append one entry (hub.model.audit.record) to the audit trail."""

    async def entries(self, subject: str | None, limit: int) -> list[dict[str, Any]]:
        """The latest entries (about `subject` only, if given), oldest first."""


class StatusReader(Protocol):
    def event(self, event_id: str) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
        """The event's own record (why nothing went out) and its deliveries' states."""

    def publisher_of(self, event_id: str) -> str | None:
        """Who published the event, if this worker knows."""

    def deliveries(self) -> Iterable[Mapping[str, Any]]:
        """Every delivery state this worker holds."""


class DirectoryReader(Protocol):
    def get(self, subscriber_id: str) -> Subscriber | None: ...

    def by_email(self, email: str) -> Subscriber | None: ...

    def __iter__(self) -> Iterator[Subscriber]: ...


class PartnerReader(Protocol):
    def registry(self) -> PartnerRegistry:
        """The registry as it stands now."""


class SubscriberCommands(Protocol):
    async def save(self, subscriber: Subscriber, cause: Cause, actor: str) -> None:
        """Write the person's new record on the subscribers topic."""

    async def erase(self, subscriber_id: str) -> None:
        """Write the person's tombstone: the worker erases them everywhere."""


class PersonalData(Protocol):
    async def export(self, subscriber: Subscriber) -> dict[str, Any]:
        """Everything held about the person (hub.privacy.export)."""


class NewsletterStore(Protocol):
    newsletters: Mapping[str, Newsletter]

    def state(self, name: str) -> NewsletterState:
        """Pending items, curation and editions of a newsletter (hub.newsletters.state).

        Raises BadRecord if the stored state cannot be read.
        """

    def editions(self) -> Iterable[dict[str, Any]]:
        """Every archived edition, of every newsletter."""

    def edition(self, edition_id: str) -> dict[str, Any] | None: ...

    async def request(self, name: str, record: dict[str, Any]) -> None:
        """Write a curation or compile request on the newsletters topic."""


class CredentialStore(Protocol):
    def get(self, name: str) -> Credential | None: ...

    def all(self) -> list[Credential]: ...

    async def save(self, credential: Credential) -> None:
        """Write it to the credentials topic; it holds on this worker at once."""


class AccountReader(Protocol):
    """The console's accounts as this worker follows them (hub.access.accounts.AccountIndex)."""

    @property
    def ready(self) -> bool:
        """False until the accounts topic was read: a disabled account could still sign in."""

    def get(self, name: str) -> Account | None: ...

    def verify(self, name: str, password: str) -> Account | None: ...

    def by_email(self, email: str) -> Account | None: ...


class ConsoleStore(Protocol):
    """The console's submissions (hub.console.submissions), on the console topic."""

    @property
    def ready(self) -> bool:
        """False until the console topic was read to its end."""

    def get(self, submission_id: str) -> Submission | None: ...

    def all(self) -> list[Submission]: ...

    async def save(self, submission: Submission) -> None:
        """Write its new state; it holds on this worker at once, on the others within a fetch."""


class DeadLetters(Protocol):
    """The dead letters of one event, on every channel's dead-letter topic (keyed by event)."""

    async def of_event(self, event_id: str) -> list[dict[str, str]]:
        """Each as {channel, delivery_id, recipient_id, reason, failed_at}, oldest first."""

    async def redrive(self, event_id: str, actor: str) -> int:
        """Send each back to its channel, fresh; audited. The ledger keeps a delivery that has
        gone out since from going out again. Returns how many were sent back."""


class Readiness(Protocol):
    """Whether this worker can do its work now: each dependency and duty checked by name."""

    async def checks(self) -> dict[str, str]:
        """Each check by name ("kafka", "partitions", "tables", "smtp", "telegram") with its
        state: "ok", or what is wrong in a few plain words (never a secret or an address)."""


class BotUpdates(Protocol):
    """The Telegram bot's updates that arrive by webhook (hub/web/telegram_webhook.py)."""

    async def handle(self, update: dict[str, Any]) -> None:
        """Answer one Update as the polling bot answers it (replies, subscriber changes).

        Never raises for an update it cannot handle (logged): Telegram would only send it again.
        """


class BounceWriter(Protocol):
    async def write(self, records: Sequence[tuple[bytes, dict[str, Any]]]) -> None:
        """Append bounces (hub.subscribers.bounces.Bounce.record) to the bounces topic."""


class TestSender(Protocol):
    async def send(self, channel: str, rendered: Any, to: str, name: str, language: str) -> str:
        """Send one rendered message now, outside any fan-out; the provider's receipt. Raises
        hub.errors.DeliveryError (or ConfigurationError) when it cannot."""


class Keyed(StrEnum):
    """What a partitioned table is keyed by: the worker holding a key holds it for all of them."""

    EVENT = "event"  # status and publisher of an event, by event id
    NEWSLETTER = "newsletter"  # a newsletter's state and editions, by newsletter name


class OwnerUnknown(Exception):
    """No worker is known to hold the key now (the group has not assigned it yet)."""


class KeyOwners(Protocol):
    """Which worker of the consumer group holds which keys (the group's last assignment)."""

    @property
    def me(self) -> str:
        """This worker's base URL, as the others reach it."""

    def owner(self, kind: Keyed, key: str) -> str | None:
        """The base URL of the worker holding `key`; None when that is this worker.

        Raises OwnerUnknown when no worker holds it yet.
        """

    def members(self) -> dict[str, list[int]]:
        """Every worker of the group by base URL, with the partitions it holds.

        Raises OwnerUnknown before the group's first assignment.
        """


class ThisWorkerOnly:
    """KeyOwners of a hub with one worker that holds everything (tests, tools)."""

    me = "http://127.0.0.1"

    def owner(self, kind: Keyed, key: str) -> str | None:
        return None

    def members(self) -> dict[str, list[int]]:
        return {self.me: []}
