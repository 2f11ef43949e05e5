"""Statistics of the requests the bots made and the messages they sent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from devstack.telegram_sandbox.wire import JSON


@dataclass
class Stats:
    requests: int = 0
    per_method: Counter[str] = field(default_factory=Counter)
    messages_sent: int = 0
    per_chat: Counter[int] = field(default_factory=Counter)
    answered_429: int = 0
    rate_limit_violations: int = 0
    violations_per_limit: Counter[str] = field(default_factory=Counter)
    faults_triggered: int = 0
    updates_injected: int = 0

    def as_json(self) -> JSON:
        # Built by hand: dataclasses.asdict would rebuild each Counter from its items.
        return {
            "requests": self.requests,
            "per_method": dict(self.per_method),
            "messages_sent": self.messages_sent,
            "per_chat": {str(chat): count for chat, count in self.per_chat.items()},
            "answered_429": self.answered_429,
            "rate_limit_violations": self.rate_limit_violations,
            "violations_per_limit": dict(self.violations_per_limit),
            "faults_triggered": self.faults_triggered,
            "updates_injected": self.updates_injected,
        }
