"""The sandbox's own account of every message a bot sent, and each of Telegram's limits it broke.

Kept apart from the hub's pacing code (channels.telegram.limits) on purpose: a test judging the
hub's pacing must not judge it with the hub's own arithmetic. The limits are Telegram's documented
ones (Bots FAQ, "My bot is hitting limits"): one message a second in a private chat, 20 a minute
in a group or channel, about 30 a second overall.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field

from devstack.telegram_sandbox.wire import JSON

PER_PRIVATE_CHAT = (1, 1.0)  # at most 1 message in any 1 s
PER_GROUP_CHAT = (20, 60.0)  # at most 20 in any 60 s
OVERALL = (30, 1.0)  # at most 30 in any 1 s, across all chats
# Sends this much closer together than a limit allows are still on time (timer jitter).
JITTER = 0.05


@dataclass(frozen=True)
class Send:
    at: float  # the sandbox's monotonic clock, when the request was handled
    bot: str
    chat_id: int
    group: bool


@dataclass(frozen=True)
class Violation:
    limit: str
    send: Send
    # The earliest send of the window this one overfilled: `count` sends within `period`.
    since: float
    count: int

    def as_json(self) -> JSON:
        return {
            "limit": self.limit,
            "at": self.send.at,
            "chat_id": self.send.chat_id,
            "since": self.since,
            "count": self.count,
        }


@dataclass
class SendAccount:
    """Every sendMessage that went through, with its time and chat, and the limits each broke."""

    sends: list[Send] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    _per_bot: dict[str, list[float]] = field(default_factory=dict)
    _per_chat: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    def record(self, send: Send) -> None:
        """Count one message; note every limit its window now breaks."""
        self.sends.append(send)
        overall = self._per_bot.setdefault(send.bot, [])
        chat = self._per_chat.setdefault((send.bot, send.chat_id), [])
        limits = [("overall", overall, OVERALL)]
        if send.group:
            limits.append(("group_chat", chat, PER_GROUP_CHAT))
        else:
            limits.append(("private_chat", chat, PER_PRIVATE_CHAT))
        for name, times, (limit, period) in limits:
            # Times arrive nearly in order; insort keeps them sorted whatever the clock did.
            times.insert(bisect_right(times, send.at), send.at)
            start = bisect_right(times, send.at - period + JITTER)
            count = bisect_right(times, send.at) - start
            if count > limit:
                self.violations.append(Violation(name, send, times[start], count))

    def summary(self) -> JSON:
        """Counts, the span of the sends, their rate and the rate the limits allowed them."""
        first = min((s.at for s in self.sends), default=0.0)
        last = max((s.at for s in self.sends), default=0.0)
        span = last - first
        shortest = self.shortest_span()
        return {
            "sends": len(self.sends),
            "chats": len({(s.bot, s.chat_id) for s in self.sends}),
            "span_seconds": span,
            "rate": (len(self.sends) - 1) / span if span > 0 else None,
            "shortest_span_seconds": shortest,
            # 1.0: as fast as Telegram's limits allow these very sends to go.
            "rate_of_allowed": shortest / span if span > 0 else None,
            "violations": len(self.violations),
            "violations_per_limit": dict(Counter(v.limit for v in self.violations)),
        }

    def shortest_span(self) -> float:
        """The least time the same sends could have taken within the limits: the i-th message
        under "at most L in P" can go no sooner than floor(i / L) * P after the first."""

        def least(count: int, limit: int, period: float) -> float:
            return ((count - 1) // limit) * period if count else 0.0

        spans = [least(len(times), *OVERALL) for times in self._per_bot.values()]
        groups = {(s.bot, s.chat_id) for s in self.sends if s.group}
        for chat, times in self._per_chat.items():
            limit = PER_GROUP_CHAT if chat in groups else PER_PRIVATE_CHAT
            spans.append(least(len(times), *limit))
        return max(spans, default=0.0)

    def as_json(self) -> JSON:
        return {
            "summary": self.summary(),
            "sends": [
                {"at": s.at, "bot": s.bot, "chat_id": s.chat_id, "group": s.group}
                for s in self.sends
            ],
            "violations": [v.as_json() for v in self.violations],
        }
