"""The names of every topic the hub writes: <prefix>.<role>.<name>.v1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.model.deliveries import ChannelKey


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Every topic the hub writes, by role: hub.<role>.<name>.v1."""

    prefix: str

    def deliveries(self, channel: ChannelKey) -> str:
        return f"{self.prefix}.deliveries.{channel}.v1"

    def retries(self, channel: ChannelKey) -> str:
        return f"{self.prefix}.retries.{channel}.v1"

    def retry_tier(self, channel: ChannelKey, label: str) -> str:
        """A delay tier of a channel's retries (label: its delay, e.g. 30s)."""
        return f"{self.prefix}.retries.{channel}.{label}.v1"

    def retry_tiers(self, channel: ChannelKey, labels: Sequence[str]) -> list[str]:
        return [self.retry_tier(channel, label) for label in labels]

    def dead_letters(self, channel: ChannelKey | str) -> str:
        return f"{self.prefix}.deadletters.{channel}.v1"

    @property
    def event_documents(self) -> str:
        """Compacted, by event id: each planned event's document, which deliveries point to."""
        return f"{self.prefix}.event-documents.v1"

    @property
    def subscribers(self) -> str:
        return f"{self.prefix}.subscribers.v1"

    @property
    def partners(self) -> str:
        return f"{self.prefix}.partners.v1"

    @property
    def newsletters(self) -> str:
        return f"{self.prefix}.newsletter.v1"

    @property
    def outcomes(self) -> str:
        return f"{self.prefix}.outcomes.v1"

    @property
    def credentials(self) -> str:
        return f"{self.prefix}.credentials.v1"

    @property
    def accounts(self) -> str:
        return f"{self.prefix}.accounts.v1"

    @property
    def console(self) -> str:
        return f"{self.prefix}.console.v1"

    @property
    def bounces(self) -> str:
        """Asynchronous bounces, keyed by a SHA-256 of the address (hub.subscribers.bounces)."""
        return f"{self.prefix}.bounces.v1"

    @property
    def audit(self) -> str:
        return f"{self.prefix}.audit.v1"
